package daemon

import (
	"context"
	"errors"
	"github.com/scalemalnet/scalemalnet/orchestrator/analysis"
	"github.com/scalemalnet/scalemalnet/orchestrator/pool/pooltest"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

// storageDaemon is a Daemon with only its store: enough for Submit and GC,
// no libvirt.
func storageDaemon(t *testing.T, cfg Config) (*Daemon, http.Handler) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	st, err := store.Open(t.TempDir(), store.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.DataDir, cfg.Logger = st.Dir(), log
	if cfg.MaxSample == 0 {
		cfg.MaxSample = 1 << 20
	}
	d := &Daemon{cfg: cfg, log: log, store: st, hv: pooltest.New(t), img: pooltest.Image(t), accel: vm.AccelTCG, instance: "unit",
		timeouts: analysis.DefaultStepTimeouts, runDir: t.TempDir()}
	setPool(t, d)
	return d, api.NewHandler(d, "tok", api.HandlerOptions{MaxSample: cfg.MaxSample, Logger: log})
}

// setPool gives d a pool of defs (slots defined, never started; user-mode
// slots allowed whatever d's configuration says, which still governs jobs).
func setPool(t *testing.T, d *Daemon, defs ...SlotConfig) {
	t.Helper()
	if d.pool != nil {
		d.pool.Close()
	}
	cfg := d.cfg
	d.cfg.Pool, d.cfg.Slots, d.cfg.AllowUserNetwork, d.cfg.MemoryMiB = defs, 0, true, 256
	err := d.wire()
	d.cfg = cfg
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.pool.Close)
}

func post(t *testing.T, h http.Handler, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestSubmitRefusedWhenDiskLow(t *testing.T) {
	d, h := storageDaemon(t, Config{MinFreeBytes: math.MaxInt64})
	rec := post(t, h, "/api/v1/jobs?name=x", "#!/bin/sh\necho hi\n")
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"kind": "unavailable"`) || !strings.Contains(rec.Body.String(), "free") {
		t.Fatalf("submit: %d %s", rec.Code, rec.Body)
	}
	_, err := d.Submit(context.Background(), "x", strings.NewReader("data"), jobs.Options{})
	if !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("Submit: %v", err)
	}
	u, err := d.store.Usage()
	if err != nil || u.Samples != 0 || u.Artifacts != 0 {
		t.Fatalf("usage %+v %v", u, err)
	}
	if js, _ := d.store.ListJobs(store.ListQuery{}); len(js) != 0 {
		t.Fatalf("jobs stored: %+v", js)
	}
	if ents, _ := os.ReadDir(filepath.Join(d.store.Dir(), "tmp")); len(ents) != 0 {
		t.Fatalf("tmp: %v", ents)
	}
	// With the check disabled the same submission is accepted.
	d.cfg.MinFreeBytes = -1
	if rec := post(t, h, "/api/v1/jobs?name=x", "#!/bin/sh\necho hi\n"); rec.Code != 201 {
		t.Fatalf("submit without check: %d %s", rec.Code, rec.Body)
	}
}

func TestDaemonGC(t *testing.T) {
	d, h := storageDaemon(t, Config{MinFreeBytes: -1, Retention: Retention{MaxAge: time.Hour}})
	j, err := d.Submit(context.Background(), "x", strings.NewReader("data"), jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.store.UpdateJob(j.ID, func(j *jobs.Job) error { return j.Move(jobs.Failed, time.Now(), "x") }); err != nil {
		t.Fatal(err)
	}
	// The configured max age keeps the fresh job; an explicit one wins.
	rec := post(t, h, "/api/v1/gc", `{}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"jobs_expired": 0`) {
		t.Fatalf("gc: %d %s", rec.Code, rec.Body)
	}
	rec = post(t, h, "/api/v1/gc", `{"max_age":"1ns","compact":true}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"jobs_expired": 1`) || !strings.Contains(rec.Body.String(), `"compacted": true`) {
		t.Fatalf("gc: %d %s", rec.Code, rec.Body)
	}
	for _, bad := range []string{`{"max_age":"-24h"}`, `{"max_bytes":-1}`} {
		if rec := post(t, h, "/api/v1/gc", bad); rec.Code != 400 {
			t.Fatalf("%s: %d %s", bad, rec.Code, rec.Body)
		}
	}
	if _, err := d.GC(context.Background(), api.Policy{MaxAge: -1}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("negative policy: %v", err)
	}
}
