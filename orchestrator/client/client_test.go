package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/api/apitest"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

const token = "0123456789abcdef0123456789abcdef"

func handler(f *apitest.Fake) http.Handler {
	return api.NewHandler(f, token, api.HandlerOptions{MaxSample: f.MaxSample, Logger: slog.New(slog.DiscardHandler)})
}

func TestClientTCP(t *testing.T) {
	f := apitest.NewFake()
	srv := httptest.NewServer(handler(f))
	defer srv.Close()
	ctx := context.Background()
	for _, addr := range []string{srv.URL, strings.TrimPrefix(srv.URL, "http://"), srv.URL + "/"} {
		c := New(addr, token)
		if h, err := c.Health(ctx); err != nil || h.Status != "ok" {
			t.Fatalf("%s: health %+v %v", addr, h, err)
		}
	}
	c := New(srv.URL, token)
	j, err := c.Submit(ctx, "a.out", strings.NewReader("abc"), jobs.Options{Timeout: 5 * time.Second, Args: []string{"x y", "-z"}})
	if err != nil || j.Options.Timeout != 5*time.Second || len(j.Options.Args) != 2 || j.Sample.Name != "a.out" {
		t.Fatalf("submit %+v %v", j, err)
	}
	if string(f.SampleOf(j.ID)) != "abc" {
		t.Fatal("sample content")
	}
	if nj, err := c.Submit(ctx, "n.out", strings.NewReader("n"), jobs.Options{Network: jobs.NetworkUser}); err != nil || nj.Options.Network != jobs.NetworkUser {
		t.Fatalf("submit with network: %+v %v", nj, err)
	}
	got, err := c.Job(ctx, j.ID)
	if err != nil || got.ID != j.ID {
		t.Fatalf("job %+v %v", got, err)
	}
	if _, err := c.Job(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	_, err = c.Report(ctx, j.ID)
	var e *Error
	if !errors.Is(err, ErrNotReady) || !errors.As(err, &e) || e.State != jobs.Queued || e.Status != 409 {
		t.Fatalf("report not ready: %#v", err)
	}
	if _, err := c.Trace(ctx, j.ID); !errors.Is(err, ErrNotReady) {
		t.Fatalf("trace not ready: %v", err)
	}
	if _, err := c.Submit(ctx, "big", bytes.NewReader(make([]byte, f.MaxSample+1)), jobs.Options{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	if _, err := c.Submit(ctx, "x", strings.NewReader("x"), jobs.Options{Timeout: time.Hour}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid: %v", err)
	}
	if _, err := New(srv.URL, "bad").Health(ctx); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("unauthorized: %v", err)
	}

	// Watch sees every change and returns the final job.
	var seen []jobs.State
	done := make(chan struct{})
	go func() {
		defer close(done)
		final, err := c.Watch(ctx, j.ID, 10*time.Millisecond, func(j jobs.Job) { seen = append(seen, j.State) })
		if err != nil || final.State != jobs.Done {
			t.Errorf("watch: %+v %v", final, err)
		}
	}()
	time.Sleep(50 * time.Millisecond)
	f.Update(j.ID, func(j *jobs.Job) { j.State = jobs.Running })
	time.Sleep(50 * time.Millisecond)
	f.Finish(j.ID, &report.Report{JobID: j.ID}, []byte("gz"))
	<-done
	if len(seen) != 3 || seen[0] != jobs.Queued || seen[1] != jobs.Running || seen[2] != jobs.Done {
		t.Fatalf("seen %v", seen)
	}
	r, err := c.Report(ctx, j.ID)
	if err != nil || r.JobID != j.ID {
		t.Fatalf("report %+v %v", r, err)
	}
	rc, err := c.Trace(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "gz" {
		t.Fatalf("trace %q", b)
	}
	js, err := c.Jobs(ctx, api.ListQuery{State: jobs.Done, Limit: 10})
	if err != nil || len(js) != 1 {
		t.Fatalf("jobs %+v %v", js, err)
	}
	if _, err := c.Jobs(ctx, api.ListQuery{State: "bogus"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad state: %v", err)
	}
}

func TestClientUnix(t *testing.T) {
	f := apitest.NewFake()
	sock := filepath.Join(t.TempDir(), "api.sock")
	ln, err := api.Listen("unix:" + sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler(f)}
	go srv.Serve(ln)
	defer srv.Close()
	c := New("unix:"+sock, token)
	if h, err := c.Health(context.Background()); err != nil || h.Version != "test" {
		t.Fatalf("health over unix socket: %+v %v", h, err)
	}
}

func TestErrorWithoutJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gateway says no", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	_, err := New(srv.URL, token).Health(context.Background())
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "gateway says no") {
		t.Fatalf("err %v", err)
	}
}

func TestClientGC(t *testing.T) {
	f := apitest.NewFake()
	f.GCReport = api.GCReport{JobsEvicted: 2, Compacted: true}
	srv := httptest.NewServer(handler(f))
	defer srv.Close()
	c := New(srv.URL, token)
	rep, err := c.GC(context.Background(), api.Policy{MaxAge: 36 * time.Hour, MaxBytes: 5 << 30, Compact: true})
	if err != nil || rep.JobsEvicted != 2 || !rep.Compacted {
		t.Fatalf("gc: %+v %v", rep, err)
	}
	if calls := f.GCCalls(); len(calls) != 1 || calls[0] != (api.Policy{MaxAge: 36 * time.Hour, MaxBytes: 5 << 30, Compact: true}) {
		t.Fatalf("calls %+v", calls)
	}
	if _, err := c.GC(context.Background(), api.Policy{MaxBytes: -1}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative: %v", err)
	}
}
