package cuckoo_test

// Requests shaped as the two Cuckoo clients ScaleMalNet must serve unchanged
// send them. Recalled from their public source (not copied; no network
// here to re-read it):
//
//   - TheHive-Project Cortex-Analyzers, analyzers/CuckooSandbox/
//     cuckoosandbox_analyzer.py: requests.post(url + 'tasks/create/file',
//     files={'file': (filename, fh)}, headers={'Authorization': 'Bearer ' +
//     token}, verify=...); task id from 'task_ids'[0] or 'task_id'; polls
//     tasks/view/<id> until task.status == 'reported'; then reads
//     tasks/report/<id>/json: signatures[].description, network.hosts[]
//     (ip, hostname, country_name; plain strings tolerated), network.http[]
//     .uri, malscore (else info.score), malfamily, target.file.type,
//     target.file.yara[] (name, meta.description).
//   - MISP misp-modules, expansion/cuckoo_submit.py: requests.post(
//     urljoin(api_url, 'tasks/create/file'), files={'file': (name,
//     io.BytesIO(data))}, headers={'Authorization': 'Bearer ' + key}) and
//     tasks/create/url with data={'url': url}; reads 'task_id' from the
//     JSON of a 200 answer.
//
// Python requests (urllib3's encode_multipart_formdata) lays a body out as
// below: boundary of 32 hex digits (uuid4().hex), form fields first, then
// files; a file part has Content-Disposition with name and filename and no
// Content-Type when the files tuple has two elements.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

type pyField struct{ name, value string }

type pyFile struct {
	field, filename string
	content         []byte
}

// pyRequestsMultipart builds the body and Content-Type python-requests
// sends for requests.post(url, data=fields, files=files).
func pyRequestsMultipart(fields []pyField, files []pyFile) ([]byte, string) {
	var b [16]byte
	rand.Read(b[:])
	boundary := hex.EncodeToString(b[:])
	var body bytes.Buffer
	for _, f := range fields {
		fmt.Fprintf(&body, "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n", boundary, f.name, f.value)
	}
	for _, f := range files {
		fmt.Fprintf(&body, "--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n\r\n", boundary, f.field, html5Escape(f.filename))
		body.Write(f.content)
		body.WriteString("\r\n")
	}
	fmt.Fprintf(&body, "--%s--\r\n", boundary)
	return body.Bytes(), "multipart/form-data; boundary=" + boundary
}

// html5Escape is urllib3's format_header_param_html5: quotes and control
// characters percent-encoded, backslashes doubled.
func html5Escape(s string) string {
	var out strings.Builder
	for _, r := range s {
		switch {
		case r == '"':
			out.WriteString("%22")
		case r == '\\':
			out.WriteString(`\\`)
		case r < 0x20 && r != 0x1b:
			fmt.Fprintf(&out, "%%%02X", r)
		default:
			out.WriteRune(r)
		}
	}
	return out.String()
}

// pyPost sends what requests.post sends: its default headers, the
// Authorization header the clients add, and the body.
func pyPost(t *testing.T, url, token string, body []byte, ctype string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	pyHeaders(req, token)
	req.Header.Set("Content-Type", ctype)
	return send(t, req)
}

func pyGet(t *testing.T, url, token string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	pyHeaders(req, token)
	return send(t, req)
}

func pyHeaders(req *http.Request, token string) {
	req.Header.Set("User-Agent", "python-requests/2.31.0")
	req.Header.Set("Accept-Encoding", "gzip, deflate")
	req.Header.Set("Accept", "*/*")
	req.Header.Set("Connection", "keep-alive")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
}

func send(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}
