package daemon

// Unit tests of the pool: libvirt's test driver stands in for QEMU, and an
// in-process guest agent (the real one, with a fake tracer) answers on each
// slot's channel socket, so slots go through the real lifecycle (cold boot,
// save, restore, handshake, verification) in milliseconds.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/scalemalnet/scalemalnet/guest/agent"
	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/guest/tracer"
	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// fakeHV is libvirt's test driver plus a guest agent served on the channel
// socket of every domain it starts, and injectable restore failures.
type fakeHV struct {
	vm.Hypervisor
	t *testing.T

	mu          sync.Mutex
	chans       map[string]string       // domain -> channel socket
	nets        map[string]bool         // domain -> has a network interface
	saved       map[string]string       // save file -> domain
	listeners   map[string]net.Listener // domain -> agent listener
	failRestore map[string]int          // domain -> restores left to fail
	restores    map[string]int          // domain -> restores attempted
}

func newFakeHV(t *testing.T) *fakeHV {
	hv, err := vm.OpenLibvirt(context.Background(), "test:///default")
	if err != nil {
		t.Fatalf("libvirt test driver: %v", err)
	}
	f := &fakeHV{Hypervisor: hv, t: t, chans: map[string]string{}, saved: map[string]string{},
		listeners: map[string]net.Listener{}, nets: map[string]bool{}, failRestore: map[string]int{}, restores: map[string]int{}}
	t.Cleanup(func() {
		f.mu.Lock()
		for _, l := range f.listeners {
			l.Close()
		}
		f.mu.Unlock()
		// The connection stays open: a libvirt call abandoned by its
		// context (vm.call) may still be running on it.
	})
	return f
}

// boot serves a fresh agent (zero runs) on the domain's channel.
func (f *fakeHV) boot(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l := f.listeners[name]; l != nil {
		l.Close()
	}
	ln, err := net.Listen("unix", f.chans[name])
	if err != nil {
		return err
	}
	f.listeners[name] = ln
	var nics []proto.NetInterface
	if f.nets[name] {
		nics = []proto.NetInterface{{Name: "eth0", Up: true, Addrs: []string{vm.UserGuestAddr + "/24"}}}
	}
	a := agent.New(agent.Config{WorkDir: f.t.TempDir(), Logger: slog.New(slog.DiscardHandler),
		Interfaces: func() []proto.NetInterface { return nics },
		Run: func(ctx context.Context, cfg tracer.Config, emit func(trace.Window) error) (trace.Summary, error) {
			return trace.Summary{Outcome: trace.OutcomeExited, Processes: []trace.Process{{PID: 1, Exe: "/tmp/smn/sample"}}}, nil
		}})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = a.Serve(context.Background(), c)
			}()
		}
	}()
	return nil
}

func (f *fakeHV) stop(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l := f.listeners[name]; l != nil {
		l.Close()
		delete(f.listeners, name)
	}
}

func (f *fakeHV) Create(ctx context.Context, xml string) error {
	var d libvirtxml.Domain
	if err := d.Unmarshal(xml); err != nil {
		return err
	}
	if err := f.Hypervisor.Create(ctx, xml); err != nil {
		return err
	}
	f.mu.Lock()
	f.chans[d.Name] = d.Devices.Channels[0].Source.UNIX.Path
	f.nets[d.Name] = len(d.Devices.Interfaces) > 0
	f.mu.Unlock()
	return f.boot(d.Name)
}

func (f *fakeHV) Save(ctx context.Context, name, path string) error {
	if err := f.Hypervisor.Save(ctx, name, path); err != nil {
		return err
	}
	f.stop(name)
	f.mu.Lock()
	f.saved[strings.TrimSuffix(path, ".tmp")] = name
	f.saved[path] = name
	f.mu.Unlock()
	return nil
}

func (f *fakeHV) Restore(ctx context.Context, path, xml string) error {
	f.mu.Lock()
	name := f.saved[path]
	f.restores[name]++
	fail := f.failRestore[name] > 0
	if fail {
		f.failRestore[name]--
	}
	f.mu.Unlock()
	if fail {
		return fmt.Errorf("injected restore failure of %s", name)
	}
	if err := f.Hypervisor.Restore(ctx, path, xml); err != nil {
		return err
	}
	return f.boot(name)
}

func (f *fakeHV) Destroy(ctx context.Context, name string) error {
	f.stop(name)
	return f.Hypervisor.Destroy(ctx, name)
}

func (f *fakeHV) failNext(domain string, n int) {
	f.mu.Lock()
	f.failRestore[domain] = n
	f.mu.Unlock()
}

func fakeImage(t *testing.T) vm.Image {
	dir := t.TempDir()
	for _, f := range []string{"vmlinux", "initramfs.cpio.gz"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := json.Marshal(map[string]any{
		"schema": 1, "cmdline": "console=ttyS0",
		"kernel":    map[string]string{"release": "6.1.0-test", "vmlinux": "vmlinux", "vmlinux_sha256": "aa"},
		"initramfs": "initramfs.cpio.gz", "initramfs_sha256": "bb",
	})
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), m, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := vm.LoadImage(dir)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

type poolEnv struct {
	*Daemon
	hv     *fakeHV
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
	hv := newFakeHV(t)
	d := &Daemon{cfg: cfg, log: log, store: st, hv: hv, img: fakeImage(t), accel: vm.AccelTCG, instance: "unit",
		wake: make(chan struct{}, 1), timeouts: mergeTimeouts(DefaultStepTimeouts, StepTimeouts{Restore: 5 * time.Second, WaitAgent: 5 * time.Second})}
	runDir, err := os.MkdirTemp("", "smnpool")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(runDir) }) // after the workers stopped (cleanups run last first)
	if err := d.initPool(runDir); err != nil {
		t.Fatalf("init pool: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	d.startPool(ctx, &wg)
	env := &poolEnv{Daemon: d, hv: hv, cancel: cancel, wg: &wg,
		h: api.NewHandler(d, "tok", api.HandlerOptions{Logger: slog.New(slog.DiscardHandler), Pool: d})}
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
	if s := e.slotByName(name); s != nil {
		return s.current()
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
		p = e.Pool(context.Background())
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

// A slot whose restores fail QuarantineAfter times in a row is quarantined,
// rebuilt in the background, verified by a probe restore and back to idle;
// the failed jobs are retried on the other slot, which kept working.
func TestPoolQuarantineHealAndRetryElsewhere(t *testing.T) {
	e := newPoolDaemon(t, Config{Pool: []SlotConfig{{Name: "a"}, {Name: "b"}}, QuarantineAfter: 2}, "")
	waitFor(t, "slots idle", func() bool { return e.slotStateOf("a") == SlotIdle && e.slotStateOf("b") == SlotIdle })
	defer func(old time.Duration) { healBackoffMin = old }(healBackoffMin)
	healBackoffMin = 300 * time.Millisecond
	a := e.slotByName("a")
	e.hv.failNext(a.domain, 3) // two jobs' restores, then the first rebuild's probe restore
	// Keep b out of the way until a has failed twice, so a takes the jobs.
	b := e.slotByName("b")
	b.requestDrain("test: keep b busy elsewhere")
	j1 := e.submit(t)
	waitFor(t, "a to fail once", func() bool { a.mu.Lock(); defer a.mu.Unlock(); return a.failures >= 1 })
	j2 := e.submit(t)
	waitFor(t, "a quarantined", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return hasTransition(a.transitions, "", SlotQuarantined)
	})
	// a failed both jobs (it was the only slot then: allowed to retry them
	// itself only if nothing else could). Bring b back.
	b.requestReset()
	// j1 failed twice on a; its last attempt goes to b (a leaves it to b).
	if j := e.waitJob(t, j1.ID); j.State != jobs.Done || !slices.Equal(j.FailedSlots, []string{"a"}) || j.Slot != "b" || j.Attempts != 3 {
		t.Fatalf("job 1: %s %q slot=%s attempts=%d failed_slots=%v", j.State, j.Error, j.Slot, j.Attempts, j.FailedSlots)
	}
	if j := e.waitJob(t, j2.ID); j.State != jobs.Done {
		t.Fatalf("job 2: %s %q", j.State, j.Error)
	}
	waitFor(t, "a healed", func() bool { return e.slotStateOf("a") == SlotIdle })
	a.mu.Lock()
	log := slices.Clone(a.transitions)
	q := a.quarantined
	a.mu.Unlock()
	t.Logf("slot a transitions:\n%s", transitionLog(log))
	healed := slices.IndexFunc(log, func(t api.SlotTransition) bool { return t.From == SlotQuarantined && t.To == SlotIdle })
	if q || healed < 0 || !strings.Contains(log[healed].Reason, "probe restore verified") {
		t.Fatalf("a did not come back through a verified rebuild:\n%s", transitionLog(log))
	}
	// It takes jobs again.
	b.requestDrain("test: leave the next job to a")
	j3 := e.waitJob(t, e.submit(t).ID)
	if j3.State != jobs.Done || j3.Slot != "a" {
		t.Fatalf("job after heal: %+v", j3)
	}
	h := e.PoolHealth(context.Background())
	if h.Status != "ok" {
		t.Fatalf("health %+v", h)
	}
}

// A job failing for infrastructure reasons on every attempt ends failed
// with every attempt in its reason.
func TestJobFailsAfterMaxAttemptsWithReasons(t *testing.T) {
	e := newPoolDaemon(t, Config{Pool: []SlotConfig{{Name: "only"}}, QuarantineAfter: 50}, "")
	waitFor(t, "slot idle", func() bool { return e.slotStateOf("only") == SlotIdle })
	e.hv.failNext(e.slotByName("only").domain, 1000)
	j := e.waitJob(t, e.submit(t).ID)
	if j.State != jobs.Failed || j.Attempts != MaxAttempts || !slices.Equal(j.FailedSlots, []string{"only"}) {
		t.Fatalf("job %+v", j)
	}
	for _, w := range []string{"gave up after 3 attempts", "attempt 1 on only failed: step restore", "attempt 2 on only", "attempt 3 on only", "injected restore failure"} {
		if !strings.Contains(j.Error, w) {
			t.Errorf("reason %q lacks %q", j.Error, w)
		}
	}
}

func TestAcceptAvoidsFailedSlot(t *testing.T) {
	e := newPoolDaemon(t, Config{Pool: []SlotConfig{{Name: "x"}, {Name: "y"}}}, "")
	waitFor(t, "slots idle", func() bool { return e.slotStateOf("x") == SlotIdle && e.slotStateOf("y") == SlotIdle })
	x, y := e.slotByName("x"), e.slotByName("y")
	j := jobs.Job{ID: "j", FailedSlots: []string{"x"}}
	if e.accept(x)(j) || !e.accept(y)(j) {
		t.Fatal("x must leave a job it failed to y")
	}
	y.requestDrain("test")
	if !e.accept(x)(j) {
		t.Fatal("x must take the job when y cannot")
	}
	y.requestReset()
	waitFor(t, "y back", func() bool { return y.serviceable() })
	y.mu.Lock()
	y.quarantined = true
	y.mu.Unlock()
	if !e.accept(x)(j) {
		t.Fatal("x must take the job when y is quarantined")
	}
	y.mu.Lock()
	y.quarantined = false
	y.mu.Unlock()
	if e.accept(x)(jobs.Job{FailedSlots: []string{"x"}, Options: jobs.Options{Network: "user"}}) {
		t.Fatal("x has no network: it must refuse a network job")
	}
	if !e.accept(x)(jobs.Job{FailedSlots: []string{"x", "y"}}) {
		t.Fatal("a job that failed everywhere goes anywhere")
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
	s0 := e.slotByName("slot0").snapshot("", true)
	if !hasTransition(s0.Transitions, SlotDraining, SlotPreparing) {
		t.Fatalf("reset did not rebuild:\n%s", transitionLog(s0.Transitions))
	}

	// Remove the configured slot: persisted as a removal.
	code, m = do(t, h, "DELETE", "/api/v1/pool/slots/slot0", "")
	if code != 202 || m["action"] != "remove" {
		t.Fatalf("remove: %d %v", code, m)
	}
	waitFor(t, "slot0 gone", func() bool { return e.slotByName("slot0") == nil })
	if _, err := os.Stat(filepath.Join(dataDir, "vms", "slot0")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("slot0 files left: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dataDir, PoolFile))
	if err != nil {
		t.Fatal(err)
	}
	var ov poolOverlay
	if err := json.Unmarshal(b, &ov); err != nil || len(ov.Added) != 1 || ov.Added[0].Name != "extra" || ov.Added[0].MemoryMiB != 320 ||
		!slices.Equal(ov.Removed, []string{"slot0"}) {
		t.Fatalf("pool.json %s %v", b, err)
	}
	// Removing the last slot is allowed, with a warning when jobs wait.
	e.slotByName("extra").requestDrain("test")
	e.submit(t)
	code, m = do(t, h, "DELETE", "/api/v1/pool/slots/extra", "")
	if code != 202 || !strings.Contains(fmt.Sprint(m["warnings"]), "1 queued jobs wait") {
		t.Fatalf("remove last: %d %v", code, m)
	}
	waitFor(t, "extra gone", func() bool { return e.slotByName("extra") == nil })
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
	p := e2.Pool(context.Background())
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
	waitFor(t, "b removed", func() bool { return e.slotByName("b") == nil })
	waitFor(t, "c idle", func() bool { return e.slotStateOf("c") == SlotIdle })
	waitFor(t, "a rebuilt", func() bool {
		s := e.slotByName("a").snapshot("", true)
		return s.State == SlotIdle && s.MemoryMiB == 512
	})
	a := e.slotByName("a").snapshot("", true)
	if !hasTransition(a.Transitions, "", SlotDraining) || !strings.Contains(transitionLog(a.Transitions), "memory 256 -> 512 MiB") {
		t.Fatalf("a:\n%s", transitionLog(a.Transitions))
	}
	if c := e.slotByName("c").snapshot("", false); c.Network != "isolated" || c.Origin != OriginConfig {
		t.Fatalf("c %+v", c)
	}
	if e.Pool(context.Background()).QuarantineAfter != 7 {
		t.Fatal("quarantine_after not applied")
	}
	// An invalid configuration is refused as a whole and shown in health.
	set(Config{}, errors.New("smn.toml: line 3: pool.slot[0].memory_mib: 1 outside [64, 65536]"))
	if err := e.Reload("test"); !errors.Is(err, ErrConfigWatch) {
		t.Fatalf("bad reload: %v", err)
	}
	h := e.PoolHealth(context.Background())
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
	if h := e.PoolHealth(context.Background()); h.ReloadError != "" || h.Status != "ok" {
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
	waitFor(t, "reload error", func() bool { return e.PoolHealth(context.Background()).ReloadError != "" })
	if len(e.poolSlots()) != 2 {
		t.Fatal("bad file changed the pool")
	}
}

func TestOverlayApply(t *testing.T) {
	base := []SlotConfig{{Name: "a", MemoryMiB: 256}, {Name: "b", MemoryMiB: 256}}
	o := poolOverlay{Added: []SlotConfig{{Name: "b", MemoryMiB: 512}, {Name: "c", MemoryMiB: 256}}, Removed: []string{"a"}}
	eff, origin := o.apply(base, OriginConfig)
	var names []string
	for _, c := range eff {
		names = append(names, fmt.Sprintf("%s/%d/%s", c.Name, c.MemoryMiB, origin[c.Name]))
	}
	if strings.Join(names, " ") != "b/512/api c/256/api" {
		t.Fatalf("effective pool %v", names)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, PoolFile)
	if err := saveOverlay(p, o); err != nil {
		t.Fatal(err)
	}
	got, err := loadOverlay(p)
	if err != nil || len(got.Added) != 2 || got.Removed[0] != "a" {
		t.Fatalf("round trip %+v %v", got, err)
	}
	if err := os.WriteFile(p, []byte(`{"added":[{"Name":"Bad Name"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOverlay(p); !errors.Is(err, ErrPoolFile) {
		t.Fatalf("bad pool.json: %v", err)
	}
	if err := saveOverlay(p, poolOverlay{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("an empty overlay leaves no file")
	}
}

func TestTransitionLogBounded(t *testing.T) {
	s := &slotState{name: "x", log: slog.New(slog.DiscardHandler)}
	for i := 0; i < 3*SlotTransitionsKept; i++ {
		s.to([]string{SlotIdle, SlotBusy}[i%2], fmt.Sprint(i))
	}
	if len(s.transitions) != SlotTransitionsKept || s.transitions[len(s.transitions)-1].Reason != fmt.Sprint(3*SlotTransitionsKept-1) {
		t.Fatalf("%d transitions, last %+v", len(s.transitions), s.transitions[len(s.transitions)-1])
	}
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(s.transitions[0])
	if !strings.Contains(buf.String(), `"from"`) {
		t.Fatal(buf.String())
	}
}
