package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/api/apitest"
	"github.com/scalemalnet/scalemalnet/orchestrator/cuckoo"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/metrics"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

func init() {
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/vnd.tcpdump.pcap", openapi3filter.FileBodyDecoder)
}

type metricsSource struct{ st *store.Store }

func (m metricsSource) JobCounts() (map[string]int, error) {
	out := map[string]int{}
	for _, s := range []jobs.State{jobs.Queued, jobs.Done} {
		n, err := m.st.Count(s)
		if err != nil {
			return nil, err
		}
		out[string(s)] = n
	}
	return out, nil
}
func (metricsSource) Slots() []metrics.Slot     { return []metrics.Slot{{Name: "slot0", State: "idle"}} }
func (metricsSource) Plugins() []metrics.Plugin { return nil }
func (m metricsSource) Usage() (metrics.Usage, error) {
	u, err := m.st.Usage()
	return metrics.Usage{DBBytes: u.DBBytes, ArtifactBytes: u.ArtifactBytes, SampleBytes: u.SampleBytes}, err
}

// contract sends real requests to the real handlers (API over a real
// bbolt store, the pool routes over apitest's fake pool, the Cuckoo routes,
// /metrics) and validates every response against openapi.yaml.
type contract struct {
	t      *testing.T
	srv    *httptest.Server
	router routers.Router
	seen   map[string]bool // "METHOD /path/template" exercised
}

func newContract(t *testing.T) (*contract, *store.Store) {
	t.Helper()
	ctx := context.Background()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI 3 document: %v", err)
	}
	st, err := store.Open(t.TempDir(), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := apitest.StoreService{Store: st}
	log := slog.New(slog.DiscardHandler)
	ch := cuckoo.NewHandler(svc, st, cuckoo.Options{Token: token, MaxSample: 1 << 20, Logger: log, Hostname: "sandbox"})
	m := metrics.New(metricsSource{st})
	mounts := append(cuckoo.Mounts(ch), api.Mount{Pattern: "GET /metrics", Handler: m.Handler()})
	h := api.NewHandler(svc, token, api.HandlerOptions{MaxSample: 1 << 20, Logger: log, Pool: apitest.NewFakePool("slot0", "slot1"), Mounts: mounts})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	doc.Servers = openapi3.Servers{{URL: srv.URL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	c := &contract{t: t, srv: srv, router: router, seen: map[string]bool{}}
	t.Cleanup(func() {
		var missing []string
		for path, item := range doc.Paths.Map() {
			for method := range item.Operations() {
				if k := method + " " + path; !c.seen[k] {
					missing = append(missing, k)
				}
			}
		}
		slices.Sort(missing)
		if len(missing) > 0 && !t.Failed() {
			t.Errorf("routes in openapi.yaml no response was validated for: %v", missing)
		}
	})
	return c, st
}

// call sends a request and validates the response against the document;
// it returns the status and body.
func (c *contract) call(method, path string, body []byte, ctype string, wantStatus int) []byte {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, wantStatus)
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Fatalf("%s %s: not in openapi.yaml: %v", method, path, err)
	}
	c.seen[route.Method+" "+route.Path] = true
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(b)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		c.t.Fatalf("%s %s -> %d: response does not match openapi.yaml: %v\nbody: %.2000s", method, path, resp.StatusCode, err, b)
	}
	return b
}

func multipartFile(t *testing.T, fields map[string]string, name string, content []byte) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	fw, err := w.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

func jsonField(t *testing.T, b []byte, key string) string {
	t.Helper()
	i := bytes.Index(b, []byte(`"`+key+`": `))
	if i < 0 {
		t.Fatalf("no %q in %s", key, b)
	}
	rest := b[i+len(key)+4:]
	end := bytes.IndexAny(rest, ",\n}")
	return strings.Trim(string(rest[:end]), `"`)
}

// TestOpenAPIContract validates real responses of every route, success
// and error answers, against orchestrator/api/openapi.yaml.
func TestOpenAPIContract(t *testing.T) {
	c, st := newContract(t)
	// Jobs.
	b := c.call("POST", "/api/v1/jobs?name=a.bin&timeout=30s&window=500ms&arg=-v&network=none", []byte("sample a"), "application/octet-stream", 201)
	done := jsonField(t, b, "id")
	body, ctype := multipartFile(t, map[string]string{"timeout": "5s"}, "b.bin", []byte("sample b"))
	b = c.call("POST", "/api/v1/jobs", body, ctype, 201)
	queued := jsonField(t, b, "id")
	b = c.call("POST", "/api/v1/jobs", []byte("sample c"), "", 201)
	running := jsonField(t, b, "id")
	c.call("POST", "/api/v1/jobs?timeout=forever", []byte("x"), "", 400)
	c.call("POST", "/api/v1/jobs?bogus=1", []byte("x"), "", 400)
	c.call("POST", "/api/v1/jobs", make([]byte, 3<<20), "", 413)
	b = c.call("GET", "/api/v1/jobs?limit=2", nil, "", 200)
	c.call("GET", "/api/v1/jobs?cursor="+jsonField(t, b, "next_cursor"), nil, "", 200)
	c.call("GET", "/api/v1/jobs?state=queued", nil, "", 200)
	c.call("GET", "/api/v1/jobs?state=nope", nil, "", 400)
	c.call("GET", "/api/v1/jobs/"+queued, nil, "", 200)
	c.call("GET", "/api/v1/jobs/20261124T014000Z-0k3f9q2w", nil, "", 404)
	c.call("GET", "/api/v1/jobs/"+queued+"/report", nil, "", 409)
	c.call("GET", "/api/v1/jobs/"+queued+"/trace", nil, "", 409)
	if err := apitest.Finish(st, done, apitest.RichReport(), []byte("\x1f\x8b pretend gzip")); err != nil {
		t.Fatal(err)
	}
	c.call("GET", "/api/v1/jobs/"+done, nil, "", 200)
	c.call("GET", "/api/v1/jobs/"+done+"/report", nil, "", 200)
	c.call("GET", "/api/v1/jobs/"+done+"/trace", nil, "", 200)
	c.call("GET", "/api/v1/jobs/"+queued+"/pcap", nil, "", 409)
	c.call("GET", "/api/v1/jobs/"+done+"/pcap", nil, "", 404) // ran without network isolated
	if w, err := st.CreateArtifact(done, "traffic.pcap"); err != nil {
		t.Fatal(err)
	} else if w.Write([]byte("\xd4\xc3\xb2\xa1")); true {
		if _, err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	c.call("GET", "/api/v1/jobs/"+done+"/pcap", nil, "", 200)
	c.call("POST", "/api/v1/jobs/"+queued+"/cancel", nil, "", 200)
	c.call("POST", "/api/v1/jobs/"+queued+"/cancel", nil, "", 409)
	c.call("POST", "/api/v1/jobs/20261124T014000Z-0k3f9q2w/cancel", nil, "", 404)
	if err := apitest.Advance(st, running, jobs.Restoring); err != nil {
		t.Fatal(err)
	}
	c.call("DELETE", "/api/v1/jobs/"+running, nil, "", 409)
	c.call("DELETE", "/api/v1/jobs/"+queued, nil, "", 200)
	c.call("DELETE", "/api/v1/jobs/"+queued, nil, "", 404)
	// Orchestrator.
	c.call("GET", "/api/v1/health", nil, "", 200)
	c.call("GET", "/api/v1/plugins", nil, "", 200)
	c.call("POST", "/api/v1/plugins/reload", nil, "", 200)
	c.call("POST", "/api/v1/plugins/reload", []byte(`{}`), "application/json", 400)
	c.call("GET", "/api/v1/openapi.yaml", nil, "", 200)
	c.call("POST", "/api/v1/gc", []byte(`{"max_age":"720h"}`), "application/json", 200)
	c.call("POST", "/api/v1/gc", []byte(`{"max_age":720}`), "application/json", 400)
	c.call("POST", "/api/v1/gc", []byte(`{"max_age":"1s","dry_run":true}`), "application/json", 200)
	c.call("GET", "/metrics", nil, "", 200)
	// Pool.
	c.call("GET", "/api/v1/pool", nil, "", 200)
	c.call("GET", "/api/v1/pool/health", nil, "", 200)
	c.call("POST", "/api/v1/pool/slots", []byte(`{"name":"net0","memory_mib":512,"network":"user"}`), "application/json", 201)
	c.call("POST", "/api/v1/pool/slots", []byte(`{"name":"x","bogus":1}`), "application/json", 400)
	c.call("POST", "/api/v1/pool/slots/slot0/drain", nil, "", 202)
	c.call("POST", "/api/v1/pool/slots/slot0/undrain", nil, "", 202)
	c.call("POST", "/api/v1/pool/slots/slot0/reset", nil, "", 202)
	c.call("POST", "/api/v1/pool/slots/nope/reset", nil, "", 404)
	c.call("POST", "/api/v1/pool/slots/nope/drain", nil, "", 404)
	c.call("DELETE", "/api/v1/pool/slots/slot1", nil, "", 202)
	c.call("DELETE", "/api/v1/pool/slots/nope", nil, "", 404)
	// Cuckoo-compatible routes.
	body, ctype = multipartFile(t, map[string]string{"timeout": "60", "options": "route=none,free=yes", "owner": "cortex"}, "c.exe", []byte("cuckoo sample"))
	b = c.call("POST", "/tasks/create/file", body, ctype, 200)
	task := jsonField(t, b, "task_id")
	body, ctype = multipartFile(t, map[string]string{"timeout": "soon"}, "c.exe", []byte("x"))
	c.call("POST", "/tasks/create/file", body, ctype, 400)
	c.call("POST", "/tasks/create/url", []byte("url=http://example.com/"), "application/x-www-form-urlencoded", 400)
	c.call("GET", "/tasks/view/"+task, nil, "", 200)
	c.call("GET", "/tasks/view/999", nil, "", 404)
	c.call("GET", "/tasks/view/abc", nil, "", 400)
	c.call("GET", "/tasks/report/"+task, nil, "", 404)
	b = c.call("GET", "/tasks/list", nil, "", 200) // gives the native jobs task ids too
	var list struct {
		Tasks []struct {
			ID  int    `json:"id"`
			Job string `json:"scalemalnet_job_id"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	doneTask := ""
	for _, tk := range list.Tasks {
		if tk.Job == done {
			doneTask = fmt.Sprint(tk.ID)
		}
	}
	if doneTask == "" {
		t.Fatalf("finished job %s not listed with a task id: %s", done, b)
	}
	c.call("GET", "/tasks/report/"+doneTask, nil, "", 200)
	c.call("GET", "/tasks/report/"+doneTask+"/json", nil, "", 200)
	c.call("GET", "/tasks/report/"+doneTask+"/html", nil, "", 404)
	c.call("GET", "/tasks/report/"+doneTask+"/zip", nil, "", 400)
	c.call("GET", "/tasks/list/1", nil, "", 200)
	c.call("GET", "/tasks/list/1/1", nil, "", 200)
	c.call("GET", "/tasks/list/x", nil, "", 400)
	c.call("GET", "/tasks/list/1/x", nil, "", 400)
	j, err := st.Job(done)
	if err != nil {
		t.Fatal(err)
	}
	c.call("GET", "/files/view/md5/"+j.Sample.MD5, nil, "", 200)
	c.call("GET", "/files/view/md5/"+strings.Repeat("0", 32), nil, "", 404)
	c.call("GET", "/files/view/md5/xyz", nil, "", 400)
	c.call("GET", "/files/view/sha256/"+j.Sample.SHA256, nil, "", 200)
	c.call("GET", "/files/view/sha256/"+strings.Repeat("0", 64), nil, "", 404)
	c.call("GET", "/files/view/sha256/xyz", nil, "", 400)
	c.call("GET", "/cuckoo/status", nil, "", 200)
}
