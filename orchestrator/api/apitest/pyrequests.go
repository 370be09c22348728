package apitest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// PyField is a form field of requests.post(data=...).
type PyField struct{ Name, Value string }

// PyFile is a file of requests.post(files={Field: (Filename, Content)}).
type PyFile struct {
	Field, Filename string
	Content         []byte
}

// PyMultipart builds the body and Content-Type Python requests sends for
// requests.post(url, data=fields, files=files): urllib3's
// encode_multipart_formdata lays it out with a boundary of 32 hex digits
// (uuid4().hex), form fields first, then files; a file part has
// Content-Disposition with name and filename and no Content-Type when the
// files tuple has two elements.
func PyMultipart(fields []PyField, files []PyFile) ([]byte, string) {
	var b [16]byte
	rand.Read(b[:])
	boundary := hex.EncodeToString(b[:])
	var body bytes.Buffer
	for _, f := range fields {
		fmt.Fprintf(&body, "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n", boundary, f.Name, f.Value)
	}
	for _, f := range files {
		fmt.Fprintf(&body, "--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n\r\n", boundary, f.Field, html5Escape(f.Filename))
		body.Write(f.Content)
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
