package daemon

import (
	"bytes"
	"context"
	"github.com/scalemalnet/scalemalnet/orchestrator/pool"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

func (e *poolEnv) submitOpts(t *testing.T, opts jobs.Options) jobs.Job {
	t.Helper()
	opts.Timeout = 2 * time.Second
	j, err := e.Submit(context.Background(), "s.sh", strings.NewReader("#!/bin/sh\necho hi\n"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func hasReason(l []string, sub string) bool {
	return slices.ContainsFunc(l, func(r string) bool { return strings.Contains(r, sub) })
}

// TestHealthSaysWhyQueuedJobsWait: with its only slot drained, a queued job
// makes health degraded with the reason, and its status says why it
// waits; undrain puts the slot back to work without a cold boot.
func TestHealthSaysWhyQueuedJobsWait(t *testing.T) {
	e := newPoolDaemon(t, Config{Slots: 1}, "")
	ctx := context.Background()
	waitFor(t, "slot0 idle", func() bool { return e.slotStateOf("slot0") == SlotIdle })
	if h := e.Health(ctx); h.Status != "ok" || len(h.Reasons) != 0 {
		t.Fatalf("health of an idle pool: %+v", h)
	}
	if _, err := e.pool.DrainSlot(ctx, "slot0"); err != nil {
		t.Fatal(err)
	}
	j := e.submit(t)
	h := e.Health(ctx)
	const why = "1 queued job cannot start: every slot that can take it is out of service (slot0 drained)"
	if h.Status != "degraded" || !slices.Contains(h.Reasons, why) || !slices.Contains(h.Problems, api.Problem{Kind: api.ProblemQueue, Message: why}) {
		t.Fatalf("health with every slot drained: %+v, want reason %q (kind queue)", h, why)
	}
	if ph := e.pool.PoolHealth(ctx); ph.Status != "degraded" || !slices.Contains(ph.Problems, why) {
		t.Fatalf("pool health: %+v", ph)
	}
	got, err := e.Job(ctx, j.ID)
	if err != nil || !strings.Contains(got.Waiting, "out of service (slot0 drained)") {
		t.Fatalf("status of the waiting job: %q %v", got.Waiting, err)
	}
	if stored, _ := e.store.Job(j.ID); stored.Waiting != "" {
		t.Fatal("the wait reason must not be stored")
	}
	ch, err := e.pool.UndrainSlot(ctx, "slot0")
	if err != nil || ch.Action != "undrain" {
		t.Fatalf("undrain: %+v %v", ch, err)
	}
	if done := e.waitJob(t, j.ID); done.State != jobs.Done || done.Slot != "slot0" {
		t.Fatalf("job after undrain: %+v", done)
	}
	tr := e.pool.Slot("slot0").Snapshot(true).Transitions
	i := slices.IndexFunc(tr, func(x api.SlotTransition) bool { return strings.Contains(x.Reason, "drain lifted") })
	if i < 0 || slices.ContainsFunc(tr[i:], func(x api.SlotTransition) bool { return x.To == SlotPreparing }) {
		t.Fatalf("undrain must not cold-boot:\n%s", transitionLog(tr))
	}
	if h := e.Health(ctx); h.Status != "ok" {
		t.Fatalf("health after undrain: %+v", h)
	}
	if ch, err := e.pool.UndrainSlot(ctx, "slot0"); err != nil || len(ch.Warnings) == 0 {
		t.Fatalf("undrain of a slot not drained: %+v %v", ch, err)
	}
	if _, err := e.pool.UndrainSlot(ctx, "nope"); err == nil {
		t.Fatal("undrain of an unknown slot")
	}
}

// TestTagsRouteJobs: a job with a tag runs only on a slot with it; a job
// whose tag no slot has waits, and health and status say so.
func TestTagsRouteJobs(t *testing.T) {
	e := newPoolDaemon(t, Config{Pool: []SlotConfig{{Name: "a"}, {Name: "b", Tags: []string{"gpu", "win10"}}}}, "")
	ctx := context.Background()
	waitFor(t, "a, b idle", func() bool { return e.slotStateOf("a") == SlotIdle && e.slotStateOf("b") == SlotIdle })
	var ids []string
	for range 3 {
		ids = append(ids, e.submitOpts(t, jobs.Options{Tags: []string{"gpu"}}).ID)
	}
	for _, id := range ids {
		if j := e.waitJob(t, id); j.State != jobs.Done || j.Slot != "b" {
			t.Fatalf("tagged job ran on %q (%s), want b", j.Slot, j.State)
		}
	}
	stuck := e.submitOpts(t, jobs.Options{Tags: []string{"arm64"}})
	h := e.Health(ctx)
	if h.Status != "degraded" || !hasReason(h.Reasons, "1 queued job cannot start: no slot has tag arm64") {
		t.Fatalf("health with an unroutable job: %+v", h)
	}
	if j, _ := e.Job(ctx, stuck.ID); j.State != jobs.Queued || j.Waiting != "no slot has tag arm64" {
		t.Fatalf("unroutable job: %s %q", j.State, j.Waiting)
	}
	if j := e.waitJob(t, e.submit(t).ID); j.State != jobs.Done {
		t.Fatalf("untagged job: %+v", j)
	}
	if j, _ := e.Job(ctx, stuck.ID); j.State != jobs.Queued {
		t.Fatalf("unroutable job ran: %+v", j)
	}
	if r := e.pool.WaitReason(jobs.Job{Options: jobs.Options{Network: jobs.NetworkUser}}); r != "no slot accepts network=user" {
		t.Fatalf("network reason %q", r)
	}
}

// TestReAddUndoesRemoval: pool remove then pool add of a configured slot
// gives it back to the configuration (a later file change applies); a
// re-add with another definition keeps it in pool.json, and a file change
// to it is refused with a warning in pool health.
func TestReAddUndoesRemoval(t *testing.T) {
	var mu sync.Mutex
	next := Config{Pool: []SlotConfig{{Name: "slot0"}}}
	dataDir := t.TempDir()
	e := newPoolDaemon(t, Config{Pool: next.Pool, ConfigFile: "smn.toml", Reload: func() (Config, error) {
		mu.Lock()
		defer mu.Unlock()
		c := next
		c.DataDir, c.MinFreeBytes = dataDir, -1 // as newPoolDaemon runs it
		return c, nil
	}}, dataDir)
	set := func(c Config) {
		mu.Lock()
		next = c
		mu.Unlock()
		if err := e.Reload("test"); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	waitFor(t, "slot0 idle", func() bool { return e.slotStateOf("slot0") == SlotIdle })
	remove := func() {
		t.Helper()
		if _, err := e.pool.RemoveSlot(ctx, "slot0"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "slot0 gone", func() bool { return e.pool.Slot("slot0") == nil })
	}
	remove()
	if ph := e.pool.PoolHealth(ctx); !hasReason(ph.Warnings, "removed through the API") {
		t.Fatalf("a removed configured slot is not shown: %+v", ph.Warnings)
	}
	ch, err := e.pool.AddSlot(ctx, api.SlotRequest{Name: "slot0"})
	if err != nil || ch.Slot.Origin != OriginConfig || len(ch.Warnings) != 0 {
		t.Fatalf("re-add: %+v %v", ch, err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, pool.PoolFile)); !os.IsNotExist(err) {
		t.Fatalf("pool.json after the removal was undone: %v", err)
	}
	waitFor(t, "slot0 idle", func() bool { return e.slotStateOf("slot0") == SlotIdle })
	set(Config{Pool: []SlotConfig{{Name: "slot0", MemoryMiB: 512}}})
	waitFor(t, "slot0 rebuilt with 512 MiB", func() bool {
		s := e.pool.Slot("slot0")
		return s != nil && s.Snapshot(false).MemoryMiB == 512 && s.State() == SlotIdle
	})
	if ph := e.pool.PoolHealth(ctx); len(ph.Warnings) != 0 {
		t.Fatalf("warnings with no conflict: %v", ph.Warnings)
	}

	// Re-added with its own definition: the API's wins, with a warning.
	remove()
	ch, err = e.pool.AddSlot(ctx, api.SlotRequest{Name: "slot0", MemoryMiB: 320})
	if err != nil || ch.Slot.Origin != OriginAPI || !hasReason(ch.Warnings, "not by the configuration") {
		t.Fatalf("re-add with a definition: %+v %v", ch, err)
	}
	set(Config{Pool: []SlotConfig{{Name: "slot0", MemoryMiB: 640}}})
	ph := e.pool.PoolHealth(ctx)
	if !hasReason(ph.Warnings, "slot slot0: the configuration's definition is not applied (memory 320 -> 640 MiB)") {
		t.Fatalf("pool health warnings %q", ph.Warnings)
	}
	if m := e.pool.Slot("slot0").Snapshot(false).MemoryMiB; m != 320 {
		t.Fatalf("memory %d, want the API's 320", m)
	}
	b, err := os.ReadFile(filepath.Join(dataDir, pool.PoolFile))
	if err != nil || !strings.Contains(string(b), `"memory_mib": 320`) || strings.Contains(string(b), "MemoryMiB") {
		t.Fatalf("pool.json uses the API's field names: %s %v", b, err)
	}
}

// syncBuffer is a bytes.Buffer safe for the daemon's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRestartWarningShownOnce: a change that needs a restart is logged
// once, not at every reload, and stays in pool health until undone.
func TestRestartWarningShownOnce(t *testing.T) {
	var buf syncBuffer
	var mu sync.Mutex
	next := Config{Slots: 1}
	dataDir := t.TempDir()
	e := newPoolDaemon(t, Config{Slots: 1, ConfigFile: "smn.toml", Logger: slog.New(slog.NewTextHandler(&buf, nil)),
		Reload: func() (Config, error) {
			mu.Lock()
			defer mu.Unlock()
			c := next
			c.DataDir, c.MinFreeBytes = dataDir, -1
			return c, nil
		}}, dataDir)
	mu.Lock()
	next = Config{Slots: 1, Listen: "127.0.0.1:1"}
	mu.Unlock()
	for range 3 {
		if err := e.Reload("test"); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(buf.String(), "needs a restart"); n != 1 {
		t.Fatalf("restart warning logged %d times, want 1:\n%s", n, buf.String())
	}
	ph := e.pool.PoolHealth(context.Background())
	if !slices.Contains(ph.Warnings, "configuration change to listen needs a restart; the running value is kept") || ph.Status != "ok" {
		t.Fatalf("pool health %+v", ph)
	}
	mu.Lock()
	next = Config{Slots: 1}
	mu.Unlock()
	if err := e.Reload("test"); err != nil {
		t.Fatal(err)
	}
	if ph := e.pool.PoolHealth(context.Background()); len(ph.Warnings) != 0 {
		t.Fatalf("warning kept after the change was undone: %v", ph.Warnings)
	}
}

// TestCloseRemovesRuntimeDir: a clean stop removes the instance's runtime
// folder (and the shared parent once empty), not a sibling instance's.
func TestCloseRemovesRuntimeDir(t *testing.T) {
	root := filepath.Join(t.TempDir(), "scalemalnet")
	mine, other := filepath.Join(root, "aaaa"), filepath.Join(root, "bbbb")
	for _, d := range []string{mine, other} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "slot0.sock"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d := &Daemon{}
	d.runDir = mine
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mine); !os.IsNotExist(err) {
		t.Fatalf("runtime folder left after a clean stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "slot0.sock")); err != nil {
		t.Fatalf("another instance's folder touched: %v", err)
	}
	d2 := &Daemon{}
	d2.runDir = other
	if err := d2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Fatalf("empty parent left: %v", err)
	}
}
