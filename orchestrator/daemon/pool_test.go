package daemon

// Unit tests of the pool: libvirt's test driver stands in for QEMU, and an
// in-process guest agent (the real one, with a fake tracer) answers on each
// slot's channel socket, so slots go through the real lifecycle (cold boot,
// save, restore, handshake, verification) in milliseconds.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/scalemalnet/scalemalnet/orchestrator/analysis"
	"github.com/scalemalnet/scalemalnet/orchestrator/pool"
	"github.com/scalemalnet/scalemalnet/orchestrator/pool/pooltest"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

type poolEnv struct {
	*Daemon
	hv     *pooltest.FakeHV
	cancel context.CancelFunc
	wg     *sync.WaitGroup
	h      http.Handler
}

// newPoolDaemon is a Daemon over the fake hypervisor, its store in dataDir
// ("" for a new one), with its workers started.
func newPoolDaemon(t *testing.T, cfg Config, dataDir string) *poolEnv {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if cfg.Logger != nil {
		log = cfg.Logger // the test reads the log
	}
	st, err := store.Open(dataDir, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir, cfg.Logger, cfg.MinFreeBytes = dataDir, log, -1
	if err := cfg.setDefaults(); err != nil {
		t.Fatal(err)
	}
	hv := pooltest.New(t)
	d := &Daemon{cfg: cfg, log: log, store: st, hv: hv, img: pooltest.Image(t), accel: vm.AccelTCG, instance: "unit",
		timeouts: analysis.MergeTimeouts(analysis.DefaultStepTimeouts, StepTimeouts{Restore: 5 * time.Second, WaitAgent: 5 * time.Second})}
	runDir, err := os.MkdirTemp("", "smnpool")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(runDir) }) // after the workers stopped (cleanups run last first)
	d.runDir = runDir
	if err := d.wire(); err != nil {
		t.Fatalf("init pool: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	d.runner.Start(ctx, &wg)
	d.pool.Start(ctx, &wg)
	env := &poolEnv{Daemon: d, hv: hv, cancel: cancel, wg: &wg,
		h: api.NewHandler(d, "tok", api.HandlerOptions{Logger: slog.New(slog.DiscardHandler), Pool: d.pool})}
	t.Cleanup(env.stop)
	return env
}

func (e *poolEnv) stop() {
	e.cancel()
	e.wg.Wait()
	e.store.Close()
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func (e *poolEnv) slotStateOf(name string) string {
	if s := e.pool.Slot(name); s != nil {
		return s.State()
	}
	return SlotRemoved
}

func (e *poolEnv) submit(t *testing.T) jobs.Job {
	t.Helper()
	j, err := e.Submit(context.Background(), "s.sh", strings.NewReader("#!/bin/sh\necho hi\n"), jobs.Options{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (e *poolEnv) waitJob(t *testing.T, id string) jobs.Job {
	t.Helper()
	var j jobs.Job
	waitFor(t, "job "+id+" to end", func() bool {
		var err error
		j, err = e.store.Job(id)
		return err == nil && j.State.Final()
	})
	return j
}

func transitionLog(tr []api.SlotTransition) string {
	var b strings.Builder
	for _, t := range tr {
		fmt.Fprintf(&b, "%s %s -> %s: %s\n", t.At.Format("15:04:05.000"), t.From, t.To, t.Reason)
	}
	return b.String()
}

func hasTransition(tr []api.SlotTransition, from, to string) bool {
	return slices.ContainsFunc(tr, func(t api.SlotTransition) bool { return (from == "" || t.From == from) && t.To == to })
}

func TestPoolSlotsComeUpAndRunJobs(t *testing.T) {
	e := newPoolDaemon(t, Config{Slots: 2}, "")
	for _, n := range []string{"slot0", "slot1"} {
		waitFor(t, n+" idle", func() bool { return e.slotStateOf(n) == SlotIdle })
	}
	j := e.waitJob(t, e.submit(t).ID)
	if j.State != jobs.Done || j.Attempts != 1 || len(j.FailedSlots) != 0 {
		t.Fatalf("job %+v", j)
	}
	var p api.PoolList
	waitFor(t, "analysis counted", func() bool {
		p = e.pool.Pool(context.Background())
		return p.Slots[0].Analyses+p.Slots[1].Analyses == 1
	})
	if len(p.Slots) != 2 || p.QuarantineAfter != DefaultQuarantineAfter {
		t.Fatalf("pool %+v", p)
	}
	total := 0
	for _, s := range p.Slots {
		total += s.Analyses
		if s.Origin != OriginFlags || s.MemoryMiB != 256 || s.CleanStateBuilt == nil || s.Network != "none" {
			t.Fatalf("slot %+v", s)
		}
		if !hasTransition(s.Transitions, SlotPreparing, SlotIdle) {
			t.Fatalf("transitions of %s:\n%s", s.Name, transitionLog(s.Transitions))
		}
	}
	if total != 1 {
		t.Fatalf("analyses %d", total)
	}
}

func do(t *testing.T, h http.Handler, method, path, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Authorization", "Bearer tok")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return rec.Code, m
}

func TestPoolAPIEditsArePersisted(t *testing.T) {
	dataDir := t.TempDir()
	e := newPoolDaemon(t, Config{Slots: 1}, dataDir)
	h := e.h
	waitFor(t, "slot0 idle", func() bool { return e.slotStateOf("slot0") == SlotIdle })

	code, m := do(t, h, "POST", "/api/v1/pool/slots", `{"name":"extra","memory_mib":320,"tags":["t1"]}`)
	if code != 201 || m["action"] != "add" {
		t.Fatalf("add: %d %v", code, m)
	}
	waitFor(t, "extra idle", func() bool { return e.slotStateOf("extra") == SlotIdle })
	for _, c := range []struct {
		method, path, body string
		code               int
		kind               string
	}{
		{"POST", "/api/v1/pool/slots", `{"name":"extra"}`, 409, "conflict"},
		{"POST", "/api/v1/pool/slots", `{"name":"Bad Name"}`, 400, "invalid"},
		{"POST", "/api/v1/pool/slots", `{"name":"m","memory_mib":1}`, 400, "invalid"},
		{"POST", "/api/v1/pool/slots", `{"name":"n","network":"bridge"}`, 400, "invalid"},
		{"POST", "/api/v1/pool/slots", `{"name":"u","colour":"red"}`, 400, "invalid"},
		{"POST", "/api/v1/pool/slots", `{"name":`, 400, "invalid"},
		{"POST", "/api/v1/pool/slots", ``, 400, "invalid"},
		{"POST", "/api/v1/pool/slots", `{"name":"a"}{"name":"b"}`, 400, "invalid"},
		{"DELETE", "/api/v1/pool/slots/nope", "", 404, "not_found"},
		{"POST", "/api/v1/pool/slots/nope/drain", "", 404, "not_found"},
		{"POST", "/api/v1/pool/slots/nope/reset", "", 404, "not_found"},
		{"POST", "/api/v1/pool/slots/slot0/drain", `{"x":1}`, 400, "invalid"},
		{"PUT", "/api/v1/pool/slots/slot0", "", 405, "not_allowed"}, // wrong method: 405 (docs/api.md)
	} {
		code, m := do(t, h, c.method, c.path, c.body)
		if code != c.code || (c.kind != "" && m["kind"] != c.kind) || (c.kind != "" && m["error"] == "") {
			t.Errorf("%s %s %s: %d %v, want %d %s", c.method, c.path, c.body, code, m, c.code, c.kind)
		}
	}

	// Drain, then reset back into service.
	if code, m := do(t, h, "POST", "/api/v1/pool/slots/slot0/drain", ""); code != 202 || m["action"] != "drain" {
		t.Fatalf("drain: %d %v", code, m)
	}
	waitFor(t, "slot0 draining", func() bool { return e.slotStateOf("slot0") == SlotDraining })
	if code, _ := do(t, h, "POST", "/api/v1/pool/slots/slot0/reset", ""); code != 202 {
		t.Fatalf("reset: %d", code)
	}
	waitFor(t, "slot0 back", func() bool { return e.slotStateOf("slot0") == SlotIdle })
	s0 := e.pool.Slot("slot0").Snapshot(true)
	if !hasTransition(s0.Transitions, SlotDraining, SlotPreparing) {
		t.Fatalf("reset did not rebuild:\n%s", transitionLog(s0.Transitions))
	}

	// Remove the configured slot: persisted as a removal.
	code, m = do(t, h, "DELETE", "/api/v1/pool/slots/slot0", "")
	if code != 202 || m["action"] != "remove" {
		t.Fatalf("remove: %d %v", code, m)
	}
	waitFor(t, "slot0 gone", func() bool { return e.pool.Slot("slot0") == nil })
	if _, err := os.Stat(filepath.Join(dataDir, "vms", "slot0")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("slot0 files left: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dataDir, pool.PoolFile))
	if err != nil {
		t.Fatal(err)
	}
	var ov struct {
		Added []struct {
			Name      string `json:"name"`
			MemoryMiB int    `json:"memory_mib"`
		} `json:"added"`
		Removed []string `json:"removed"`
	}
	if err := json.Unmarshal(b, &ov); err != nil || len(ov.Added) != 1 || ov.Added[0].Name != "extra" || ov.Added[0].MemoryMiB != 320 ||
		!slices.Equal(ov.Removed, []string{"slot0"}) {
		t.Fatalf("pool.json %s %v", b, err)
	}
	// Removing the last slot is allowed, with a warning when jobs wait.
	e.pool.DrainSlot(context.Background(), "extra")
	e.submit(t)
	code, m = do(t, h, "DELETE", "/api/v1/pool/slots/extra", "")
	if code != 202 || !strings.Contains(fmt.Sprint(m["warnings"]), "1 queued jobs wait") {
		t.Fatalf("remove last: %d %v", code, m)
	}
	waitFor(t, "extra gone", func() bool { return e.pool.Slot("extra") == nil })
	if code, m := do(t, h, "GET", "/api/v1/pool/health", ""); code != 200 || m["status"] != "degraded" {
		t.Fatalf("empty pool health: %d %v", code, m)
	}
	// Re-add extra, stop, start again on the same data directory: the
	// edits survive the restart.
	if code, m := do(t, h, "POST", "/api/v1/pool/slots", `{"name":"extra","memory_mib":384}`); code != 201 {
		t.Fatalf("re-add: %d %v", code, m)
	}
	e.stop()
	e2 := newPoolDaemon(t, Config{Slots: 1}, dataDir)
	p := e2.pool.Pool(context.Background())
	if len(p.Slots) != 1 || p.Slots[0].Name != "extra" || p.Slots[0].Origin != OriginAPI || p.Slots[0].MemoryMiB != 384 {
		t.Fatalf("after restart: %+v", p.Slots)
	}
	code, m = do(t, e2.h, "GET", "/api/v1/pool", "")
	if code != 200 || len(m["slots"].([]any)) != 1 {
		t.Fatalf("GET pool: %d %v", code, m)
	}
}

func TestPoolReload(t *testing.T) {
	var mu sync.Mutex
	next := Config{Pool: []SlotConfig{{Name: "a"}, {Name: "b"}}}
	var nextErr error
	cfg := Config{Pool: next.Pool, ConfigFile: "smn.toml", Reload: func() (Config, error) {
		mu.Lock()
		defer mu.Unlock()
		return next, nextErr
	}}
	e := newPoolDaemon(t, cfg, "")
	waitFor(t, "a, b idle", func() bool { return e.slotStateOf("a") == SlotIdle && e.slotStateOf("b") == SlotIdle })
	set := func(c Config, err error) {
		mu.Lock()
		next, nextErr = c, err
		mu.Unlock()
	}
	// b goes, c comes, a gets more memory, quarantine_after changes.
	set(Config{Pool: []SlotConfig{{Name: "a", MemoryMiB: 512}, {Name: "c", Network: "isolated", Tags: []string{"net"}}}, QuarantineAfter: 7}, nil)
	if err := e.Reload("test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b removed", func() bool { return e.pool.Slot("b") == nil })
	waitFor(t, "c idle", func() bool { return e.slotStateOf("c") == SlotIdle })
	waitFor(t, "a rebuilt", func() bool {
		s := e.pool.Slot("a").Snapshot(true)
		return s.State == SlotIdle && s.MemoryMiB == 512
	})
	a := e.pool.Slot("a").Snapshot(true)
	if !hasTransition(a.Transitions, "", SlotDraining) || !strings.Contains(transitionLog(a.Transitions), "memory 256 -> 512 MiB") {
		t.Fatalf("a:\n%s", transitionLog(a.Transitions))
	}
	if c := e.pool.Slot("c").Snapshot(false); c.Network != "isolated" || c.Origin != OriginConfig {
		t.Fatalf("c %+v", c)
	}
	if e.pool.Pool(context.Background()).QuarantineAfter != 7 {
		t.Fatal("quarantine_after not applied")
	}
	// An invalid configuration is refused as a whole and shown in health.
	set(Config{}, errors.New("smn.toml: line 3: pool.slot[0].memory_mib: 1 outside [64, 65536]"))
	if err := e.Reload("test"); !errors.Is(err, pool.ErrConfigWatch) {
		t.Fatalf("bad reload: %v", err)
	}
	h := e.pool.PoolHealth(context.Background())
	if h.Status != "degraded" || !strings.Contains(h.ReloadError, "memory_mib") || len(h.Slots) != 2 {
		t.Fatalf("health after bad reload %+v", h)
	}
	if hh := e.Health(context.Background()); hh.Status != "degraded" || hh.ReloadError == "" {
		t.Fatalf("health %+v", hh)
	}
	set(Config{Pool: []SlotConfig{{Name: "a", MemoryMiB: 512}, {Name: "c", Network: "isolated", Tags: []string{"net"}}}}, nil)
	if err := e.Reload("test"); err != nil {
		t.Fatal(err)
	}
	if h := e.pool.PoolHealth(context.Background()); h.ReloadError != "" || h.Status != "ok" {
		t.Fatalf("health after good reload %+v", h)
	}
	// Duplicate names in a reloaded pool are refused.
	set(Config{Pool: []SlotConfig{{Name: "a"}, {Name: "a"}}}, nil)
	if err := e.Reload("test"); err == nil || !strings.Contains(err.Error(), "used twice") {
		t.Fatalf("duplicate: %v", err)
	}
}

// The file watcher notices a changed file by itself.
func TestPoolReloadOnFileChange(t *testing.T) {
	file := filepath.Join(t.TempDir(), "smn.toml")
	if err := os.WriteFile(file, []byte("slots=1"), 0o600); err != nil {
		t.Fatal(err)
	}
	read := func() (Config, error) {
		b, err := os.ReadFile(file)
		if err != nil {
			return Config{}, err
		}
		var n int
		if _, err := fmt.Sscanf(string(b), "slots=%d", &n); err != nil {
			return Config{}, fmt.Errorf("bad file: %w", err)
		}
		return Config{Slots: n}, nil
	}
	e := newPoolDaemon(t, Config{Slots: 1, ConfigFile: file, Reload: read, ReloadPoll: 50 * time.Millisecond}, "")
	waitFor(t, "slot0 idle", func() bool { return e.slotStateOf("slot0") == SlotIdle })
	if err := os.WriteFile(file, []byte("slots=2 "), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "slot1 from the file", func() bool { return e.slotStateOf("slot1") == SlotIdle })
	if err := os.WriteFile(file, []byte("garbage!"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reload error", func() bool { return e.pool.PoolHealth(context.Background()).ReloadError != "" })
	if len(e.pool.Slots()) != 2 {
		t.Fatal("bad file changed the pool")
	}
}
