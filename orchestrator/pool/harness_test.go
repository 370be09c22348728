package pool

// The pool's test harness: a pool over pooltest's fake hypervisor (libvirt's
// test driver and an in-process guest agent), a real bbolt store and the
// real analysis runner, with its workers started.

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/analysis"
	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/pool/pooltest"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

type poolEnv struct {
	*Pool
	hv     *pooltest.FakeHV
	cancel context.CancelFunc
	wg     *sync.WaitGroup
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newPoolEnv is a started pool of defs (quarantineAfter 0: the default).
func newPoolEnv(t *testing.T, defs []SlotConfig, quarantineAfter int) *poolEnv {
	t.Helper()
	dataDir := t.TempDir()
	log := slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	st, err := store.Open(dataDir, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	runDir, err := os.MkdirTemp("", "smnpool")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(runDir) }) // after the workers stopped (cleanups run last first)
	base, origin, err := BasePool(defs, 0, 256, "")
	if err != nil {
		t.Fatal(err)
	}
	hv := pooltest.New(t)
	timeouts := analysis.MergeTimeouts(analysis.DefaultStepTimeouts, analysis.StepTimeouts{Restore: 5 * time.Second, WaitAgent: 5 * time.Second})
	var p *Pool
	runner := analysis.New(analysis.Config{Store: st, Hypervisor: hv, Log: log, Accel: vm.AccelTCG, Timeouts: timeouts,
		StepGrace: 30 * time.Second, MaxArtifactBytes: 256 << 20, NoVerdict: "test",
		Requeued: func() { p.Notify() }, SlotError: func(slot string, err error) { p.RecordError(slot, err) }})
	p, err = New(Config{Store: st, Hypervisor: hv, Image: pooltest.Image(t), Accel: vm.AccelTCG,
		Layout: defaults.Layout{Root: dataDir}, DomainPrefix: "smn-unit-", RunDir: runDir, Log: log, MemoryMiB: 256,
		QuarantineAfter: quarantineAfter, Base: base, BaseOrigin: origin,
		Timeouts: Timeouts{Restore: timeouts.Restore, WaitAgent: timeouts.WaitAgent, Destroy: timeouts.Destroy},
		Run:      func(ctx context.Context, l *Lease, j jobs.Job) { runner.Run(ctx, l, j) }})
	if err != nil {
		t.Fatalf("pool: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	runner.Start(ctx, &wg)
	p.Start(ctx, &wg)
	e := &poolEnv{Pool: p, hv: hv, cancel: cancel, wg: &wg}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		p.Close()
		st.Close()
	})
	return e
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
	if s := e.Slot(name); s != nil {
		return s.current()
	}
	return SlotRemoved
}

func (e *poolEnv) submit(t *testing.T) jobs.Job {
	t.Helper()
	j, err := e.submitJob("s.sh", strings.NewReader("#!/bin/sh\necho hi\n"), jobs.Options{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// submitJob queues a job as the daemon's Submit does: options checked
// against the pool, sample stored, job created, idle slots woken.
func (p *Pool) submitJob(name string, body *strings.Reader, opts jobs.Options) (jobs.Job, error) {
	if err := opts.Normalize(); err != nil {
		return jobs.Job{}, err
	}
	if err := p.CheckNetwork(opts); err != nil {
		return jobs.Job{}, err
	}
	sample, err := p.cfg.Store.PutSample(context.Background(), body, name, 1<<20)
	if err != nil {
		return jobs.Job{}, err
	}
	j, err := p.cfg.Store.CreateJob(context.Background(), sample, opts)
	if err == nil {
		p.Notify()
	}
	return j, err
}

// job is the daemon's Job: a queued job says why it waits.
func (p *Pool) job(id string) (jobs.Job, error) {
	j, err := p.cfg.Store.Job(id)
	if err == nil && j.State == jobs.Queued {
		j.Waiting = p.WaitReason(j)
	}
	return j, err
}

func (e *poolEnv) waitJob(t *testing.T, id string) jobs.Job {
	t.Helper()
	var j jobs.Job
	waitFor(t, "job "+id+" to end", func() bool {
		var err error
		j, err = e.cfg.Store.Job(id)
		return err == nil && j.State.Final()
	})
	return j
}

// testPool is a pool of unstarted slots (set p.slots) over a store.
func testPool(t *testing.T, allowUser bool) *Pool {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.DiscardHandler)
	return &Pool{cfg: Config{Store: st, Log: log, AllowUserNetwork: allowUser}, log: log, wake: make(chan struct{}, 1)}
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
