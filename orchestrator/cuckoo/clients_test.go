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
// apitest.PyMultipart lays bodies out as Python requests does.

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/api/apitest"
)

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

type pyField struct{ name, value string }

type pyFile struct {
	field, filename string
	content         []byte
}

func pyRequestsMultipart(fields []pyField, files []pyFile) ([]byte, string) {
	var fs []apitest.PyField
	for _, f := range fields {
		fs = append(fs, apitest.PyField{Name: f.name, Value: f.value})
	}
	var fl []apitest.PyFile
	for _, f := range files {
		fl = append(fl, apitest.PyFile{Field: f.field, Filename: f.filename, Content: f.content})
	}
	return apitest.PyMultipart(fs, fl)
}
