package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/api/apitest"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

const token = "0123456789abcdef0123456789abcdef"

func newServer(t *testing.T) (*apitest.Fake, *httptest.Server) {
	t.Helper()
	f := apitest.NewFake()
	h := api.NewHandler(f, token, api.HandlerOptions{MaxSample: f.MaxSample, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return f, srv
}

func do(t *testing.T, srv *httptest.Server, method, path, tok string, body io.Reader, ctype string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func wantError(t *testing.T, resp *http.Response, body []byte, status int, kind api.Kind) api.ErrorBody {
	t.Helper()
	var e api.ErrorBody
	if resp.StatusCode != status || json.Unmarshal(body, &e) != nil || e.Kind != kind || e.Error == "" {
		t.Fatalf("%s %s: got %d %s, want %d kind %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, body, status, kind)
	}
	return e
}

func TestAuth(t *testing.T) {
	_, srv := newServer(t)
	for _, tok := range []string{"", "wrong", token + "x", token[:len(token)-1]} {
		resp, body := do(t, srv, "GET", "/api/v1/health", tok, nil, "")
		wantError(t, resp, body, 401, api.KindUnauthorized)
		if resp.Header.Get("WWW-Authenticate") == "" {
			t.Error("no WWW-Authenticate")
		}
	}
	// Unknown routes are not revealed before authentication.
	resp, body := do(t, srv, "GET", "/nope", "", nil, "")
	wantError(t, resp, body, 401, api.KindUnauthorized)
	resp, body = do(t, srv, "GET", "/api/v1/health", token, nil, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"slots_total": 2`) {
		t.Fatalf("health: %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/health", nil)
	req.Header.Set("Authorization", "bearer "+token) // scheme is case-insensitive
	r2, _ := srv.Client().Do(req)
	r2.Body.Close()
	if r2.StatusCode != 200 {
		t.Fatalf("lowercase bearer: %d", r2.StatusCode)
	}
	// Empty server token refuses everything.
	srv2 := httptest.NewServer(api.NewHandler(apitest.NewFake(), "", api.HandlerOptions{Logger: slog.New(slog.DiscardHandler)}))
	defer srv2.Close()
	resp, body = do(t, srv2, "GET", "/api/v1/health", "", nil, "")
	wantError(t, resp, body, 401, api.KindUnauthorized)
	req, _ = http.NewRequest("GET", srv2.URL+"/api/v1/health", nil)
	req.Header.Set("Authorization", "Bearer ")
	r3, _ := srv2.Client().Do(req)
	r3.Body.Close()
	if r3.StatusCode != 401 {
		t.Fatalf("empty token accepted: %d", r3.StatusCode)
	}
}

func TestSubmitAndRoutes(t *testing.T) {
	f, srv := newServer(t)
	resp, body := do(t, srv, "POST", "/api/v1/jobs?name=../x.elf&timeout=30s&window=500ms&arg=-v&arg=a%20b", token, strings.NewReader("sample bytes"), "application/octet-stream")
	if resp.StatusCode != 201 {
		t.Fatalf("submit: %d %s", resp.StatusCode, body)
	}
	var j jobs.Job
	json.Unmarshal(body, &j)
	if j.State != jobs.Queued || j.Sample.Name != "x.elf" || j.Options.Timeout != 30*time.Second || j.Options.Window != 500*time.Millisecond ||
		fmt.Sprint(j.Options.Args) != "[-v a b]" || resp.Header.Get("Location") != "/api/v1/jobs/"+j.ID {
		t.Fatalf("job %+v loc %q", j, resp.Header.Get("Location"))
	}
	if string(f.SampleOf(j.ID)) != "sample bytes" {
		t.Fatalf("sample %q", f.SampleOf(j.ID))
	}

	resp, body = do(t, srv, "GET", "/api/v1/jobs/"+j.ID, token, nil, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), j.ID) {
		t.Fatalf("get: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, srv, "GET", "/api/v1/jobs/nope", token, nil, "")
	wantError(t, resp, body, 404, api.KindNotFound)

	// Not ready: 409 with the state.
	f.Update(j.ID, func(j *jobs.Job) { j.State = jobs.Running; j.Step = "run" })
	resp, body = do(t, srv, "GET", "/api/v1/jobs/"+j.ID+"/report", token, nil, "")
	if e := wantError(t, resp, body, 409, api.KindNotReady); e.State != jobs.Running {
		t.Fatalf("state %q", e.State)
	}
	resp, body = do(t, srv, "GET", "/api/v1/jobs/"+j.ID+"/trace", token, nil, "")
	if e := wantError(t, resp, body, 409, api.KindNotReady); e.State != jobs.Running {
		t.Fatalf("trace state %q", e.State)
	}
	resp, body = do(t, srv, "GET", "/api/v1/jobs/nope/report", token, nil, "")
	wantError(t, resp, body, 404, api.KindNotFound)

	f.Finish(j.ID, &report.Report{Schema: 1, JobID: j.ID}, []byte("\x1f\x8bgz"))
	resp, body = do(t, srv, "GET", "/api/v1/jobs/"+j.ID+"/report", token, nil, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"job_id": "`+j.ID) {
		t.Fatalf("report: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, srv, "GET", "/api/v1/jobs/"+j.ID+"/trace", token, nil, "")
	if resp.StatusCode != 200 || string(body) != "\x1f\x8bgz" || resp.Header.Get("Content-Type") != "application/x-ndjson" ||
		resp.Header.Get("Content-Encoding") != "" || !strings.Contains(resp.Header.Get("Content-Disposition"), ".jsonl.gz") {
		t.Fatalf("trace: %d %q %v", resp.StatusCode, body, resp.Header)
	}

	// List.
	do(t, srv, "POST", "/api/v1/jobs", token, strings.NewReader("second"), "")
	resp, body = do(t, srv, "GET", "/api/v1/jobs?state=queued&limit=5", token, nil, "")
	var l api.JobList
	if json.Unmarshal(body, &l); resp.StatusCode != 200 || len(l.Jobs) != 1 || l.Jobs[0].State != jobs.Queued {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, srv, "GET", "/api/v1/jobs", token, nil, "")
	if json.Unmarshal(body, &l); len(l.Jobs) != 2 || l.Jobs[0].ID < l.Jobs[1].ID {
		t.Fatalf("list all: %s", body)
	}
	resp, body = do(t, srv, "GET", "/api/v1/jobs?state=failed", token, nil, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"jobs": []`) {
		t.Fatalf("empty list: %s", body)
	}
	for _, q := range []string{"state=bogus", "limit=0", "limit=x", "limit=100000", "foo=1", "state=done&state=failed"} {
		resp, body = do(t, srv, "GET", "/api/v1/jobs?"+q, token, nil, "")
		wantError(t, resp, body, 400, api.KindInvalid)
	}
	resp, body = do(t, srv, "GET", "/api/v1/nothing", token, nil, "")
	wantError(t, resp, body, 404, api.KindNotFound)
}

func TestSubmitBadParams(t *testing.T) {
	_, srv := newServer(t)
	for _, q := range []string{
		"timeout=abc", "timeout=-1s", "timeout=0s", "timeout=1h", "window=1ns", "window=1m",
		"bogus=1", "name=a&name=b", "arg=a%00b", "timeout=10s&timeout=20s",
	} {
		resp, body := do(t, srv, "POST", "/api/v1/jobs?"+q, token, strings.NewReader("x"), "")
		wantError(t, resp, body, 400, api.KindInvalid)
	}
	resp, body := do(t, srv, "POST", "/api/v1/jobs?"+strings.Repeat("arg=x&", jobs.MaxArgs+1), token, strings.NewReader("x"), "")
	wantError(t, resp, body, 400, api.KindInvalid)
	resp, body = do(t, srv, "POST", "/api/v1/jobs", token, strings.NewReader("x"), "multipart/form-data; boundary=zz")
	wantError(t, resp, body, 400, api.KindInvalid)
	resp, body = do(t, srv, "GET", "/api/v1/jobs/x/y/z", token, nil, "")
	wantError(t, resp, body, 404, api.KindNotFound)
}

func TestSubmitTooLarge(t *testing.T) {
	f, srv := newServer(t)
	// Over MaxSample but within the slack: the service refuses it.
	resp, body := do(t, srv, "POST", "/api/v1/jobs", token, bytes.NewReader(make([]byte, f.MaxSample+1)), "")
	wantError(t, resp, body, 413, api.KindTooLarge)
	// Declared length past the limit: refused before reading.
	resp, body = do(t, srv, "POST", "/api/v1/jobs", token, bytes.NewReader(make([]byte, f.MaxSample+2<<20)), "")
	wantError(t, resp, body, 413, api.KindTooLarge)
	// Unknown length (chunked) past the limit: the body reader stops it.
	resp, body = do(t, srv, "POST", "/api/v1/jobs", token, io.MultiReader(bytes.NewReader(make([]byte, f.MaxSample+2<<20))), "")
	wantError(t, resp, body, 413, api.KindTooLarge)
	// Exactly the limit is fine.
	resp, body = do(t, srv, "POST", "/api/v1/jobs", token, bytes.NewReader(make([]byte, f.MaxSample)), "")
	if resp.StatusCode != 201 {
		t.Fatalf("at limit: %d %s", resp.StatusCode, body)
	}
}

func TestSubmitMultipart(t *testing.T) {
	f, srv := newServer(t)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("timeout", "15s")
	mw.WriteField("arg", "one")
	fw, _ := mw.CreateFormFile("file", "dir/evil name.bin")
	fw.Write([]byte("multipart sample"))
	mw.Close()
	resp, body := do(t, srv, "POST", "/api/v1/jobs?arg=zero", token, &buf, mw.FormDataContentType())
	if resp.StatusCode != 201 {
		t.Fatalf("multipart: %d %s", resp.StatusCode, body)
	}
	var j jobs.Job
	json.Unmarshal(body, &j)
	if j.Sample.Name != "evil name.bin" || j.Options.Timeout != 15*time.Second || fmt.Sprint(j.Options.Args) != "[zero one]" {
		t.Fatalf("job %+v", j)
	}
	if string(f.SampleOf(j.ID)) != "multipart sample" {
		t.Fatalf("sample %q", f.SampleOf(j.ID))
	}
	// No file part.
	buf.Reset()
	mw = multipart.NewWriter(&buf)
	mw.WriteField("timeout", "15s")
	mw.Close()
	resp, body = do(t, srv, "POST", "/api/v1/jobs", token, &buf, mw.FormDataContentType())
	wantError(t, resp, body, 400, api.KindInvalid)
}

func TestErrorMapping(t *testing.T) {
	f, srv := newServer(t)
	cases := []struct {
		err    error
		status int
		kind   api.Kind
	}{
		{fmt.Errorf("disk: %w", api.ErrUnavailable), 503, api.KindUnavailable},
		{fmt.Errorf("x: %w", jobs.ErrInvalid), 400, api.KindInvalid},
		{errors.New("boom"), 500, api.KindInternal},
	}
	for _, c := range cases {
		f.SubmitErr = c.err
		resp, body := do(t, srv, "POST", "/api/v1/jobs", token, strings.NewReader("x"), "")
		wantError(t, resp, body, c.status, c.kind)
	}
}

func TestBodyLimitBeforeService(t *testing.T) {
	f := apitest.NewFake()
	f.MaxSample = 64 << 20 // the service would take it; the handler must not
	srv := httptest.NewServer(api.NewHandler(f, token, api.HandlerOptions{MaxSample: 1 << 10, Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	resp, body := do(t, srv, "POST", "/api/v1/jobs", token, io.MultiReader(bytes.NewReader(make([]byte, 3<<20))), "")
	wantError(t, resp, body, 413, api.KindTooLarge)
}
