package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/api/apitest"
)

// FuzzHandler sends arbitrary authenticated requests (method, path with
// query, content type, body) through the whole API handler, pool routes
// included. Whatever the request, the handler must not panic, must answer
// with a known status, and every error must be a JSON error body with a
// kind.
func FuzzHandler(f *testing.F) {
	for _, s := range []struct{ method, path, ctype, body string }{
		{"POST", "/api/v1/jobs?name=a.elf&timeout=30s&window=500ms&arg=-v", "application/octet-stream", "\x7fELF"},
		{"POST", "/api/v1/jobs?network=user", "", "x"},
		{"GET", "/api/v1/jobs?state=queued&limit=5&before=x", "", ""},
		{"GET", "/api/v1/jobs/j1/report", "", ""},
		{"POST", "/api/v1/gc", "application/json", `{"max_age":"720h","max_bytes":1000,"compact":true}`},
		{"POST", "/api/v1/pool/slots", "application/json", `{"name":"s9","memory_mib":256,"network":"user"}`},
		{"POST", "/api/v1/pool/slots/s0/drain", "", ""},
		{"DELETE", "/api/v1/pool/slots/s0", "", ""},
		{"GET", "/api/v1/pool/health", "", ""},
		{"POST", "/api/v1/jobs", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc\r\n--x--\r\n"},
	} {
		f.Add(s.method, s.path, s.ctype, []byte(s.body))
	}
	fake := apitest.NewFake()
	h := api.NewHandler(fake, "tok", api.HandlerOptions{MaxSample: 1 << 16, Logger: slog.New(slog.DiscardHandler),
		Pool: apitest.NewFakePool("s0", "s1")})
	known := map[int]bool{200: true, 201: true, 202: true, 204: true, 400: true, 404: true, 405: true, 409: true,
		413: true, 415: true, 422: true, 503: true}
	f.Fuzz(func(t *testing.T, method, path, ctype string, body []byte) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest(method, "http://x"+path, bytes.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		req.Header.Set("Authorization", "Bearer tok")
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == 301 || rec.Code == 307 || rec.Code == 308 {
			// http.ServeMux redirects unclean paths ("/a/../b", "//x") to
			// their clean form.
			if rec.Header().Get("Location") == "" {
				t.Fatalf("%s %q: redirect without Location", method, path)
			}
			return
		}
		if !known[rec.Code] {
			t.Fatalf("%s %q: status %d: %s", method, path, rec.Code, rec.Body.Bytes())
		}
		if rec.Code >= 400 {
			var e api.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Kind == "" || e.Error == "" {
				t.Fatalf("%s %q: status %d without a JSON error: %q", method, path, rec.Code, rec.Body.Bytes())
			}
		}
	})
}
