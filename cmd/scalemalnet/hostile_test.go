package main

// The hostile-guest suite (issue 13, point 4) on real VMs: samples that
// attack the host through the agent's own virtio port (garbage, an
// oversized frame, a window-part flood, an Error frame of escape
// sequences), a trace flood (10,000 forks), huge argv and paths, and
// connections towards the host. One orchestrator (the real binary, 2
// slots, lazy Wine) runs them beside a benign job. Each hostile job must end
// with a clear outcome, the benign job beside them must complete, a job
// stored before must be intact after, and the orchestrator's peak RSS
// (VmHWM) must stay under HostileRSSBound.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/internal/vmtest"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// HostileRSSBound is the documented bound (docs/operations.md) of the
// orchestrator process's peak resident memory while the suite runs.
const HostileRSSBound = 512 << 20

// vmHWM reads a process's peak resident set size in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("status of the orchestrator: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

func TestHostileGuest(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	for _, s := range []string{"hostile-port", "hostile-fork", "hostile-args", "hostile-net", "benign-reader"} {
		if _, err := os.Stat(filepath.Join(samplesDir, s)); err != nil {
			t.Fatalf("sample %s missing (%v): run `make samples` (samples/build.sh)", s, err)
		}
	}
	o := newOrchestrator(t, buildBinary(t), imageDir, 2)
	o.start() // stopped below; killed by the cleanup if the test stops early
	opts := jobs.Options{Timeout: 20 * time.Second, Window: time.Second}
	const wait = 15 * time.Minute

	// A job stored before the attacks, kept to compare afterwards.
	before := o.analyse(t, filepath.Join(samplesDir, "benign-reader"), "before", opts, wait)
	beforeReport, _ := json.Marshal(before.report)

	type hostile struct {
		name, sample string
		args         []string
		check        func(t *testing.T, j jobs.Job)
	}
	portAttack := func(t *testing.T, j jobs.Job) {
		t.Helper()
		if j.State != jobs.Failed {
			g := o.collect(t, j)
			t.Fatalf("job %s, want failed: the attack did not end the session; sample said:\n%s", j.State, g.trace.Summary.Stdout)
		}
		if j.Error == "" || len(j.Error) > 4*proto.MaxErrorText {
			t.Fatalf("failure reason %d bytes: %.200q", len(j.Error), j.Error)
		}
		if strings.ContainsAny(j.Error, "\x1b\x07\r") {
			t.Fatalf("control characters in the stored reason: %.200q", j.Error)
		}
		t.Logf("failed: %s", j.Error)
	}
	done := func(t *testing.T, j jobs.Job) guestRun {
		t.Helper()
		if j.State != jobs.Done {
			t.Fatalf("job %s (%s), want done; history: %s", j.State, j.Error, vmtest.HistoryNotes(j))
		}
		return o.collect(t, j)
	}
	cases := []hostile{
		{"port garbage", "hostile-port", []string{"garbage"}, portAttack},
		{"port oversized frame", "hostile-port", []string{"oversize"}, portAttack},
		{"port window-part flood", "hostile-port", []string{"parts"}, portAttack},
		{"port error frame", "hostile-port", []string{"error"}, portAttack},
		{"fork 10000", "hostile-fork", nil, func(t *testing.T, j jobs.Job) {
			g := done(t, j)
			s := g.trace.Summary
			if s.Outcome != trace.OutcomeTimeout && s.Outcome != trace.OutcomeExited {
				t.Fatalf("outcome %s (%s)", s.Outcome, s.Error)
			}
			if len(s.Processes) > 4096 || len(g.report.Behavior.Processes) > 4096+1 {
				t.Fatalf("%d processes in the summary, %d in the report: want at most 4,096", len(s.Processes), len(g.report.Behavior.Processes))
			}
			t.Logf("outcome %s: %d calls, %d kept, truncated %v, %d processes (+%d dropped)", s.Outcome, s.Events, s.Kept, s.Truncated, len(s.Processes), s.ProcessesDropped)
		}},
		{"huge argv and paths", "hostile-args", nil, func(t *testing.T, j jobs.Job) {
			g := done(t, j)
			long := 0
			for _, e := range g.trace.Events() {
				if len(e.Path) > trace.MaxPath || len(e.Argv) > trace.MaxArgs+1 {
					t.Fatalf("%s: path %d bytes, %d args past the bounds", e.Name, len(e.Path), len(e.Argv))
				}
				for _, a := range e.Argv {
					if len(a) > trace.MaxArgLen+8 {
						t.Fatalf("%s: an argument of %d bytes", e.Name, len(a))
					}
				}
				if len(e.Path) >= 4000 || len(e.Argv) >= trace.MaxArgs {
					long++
				}
			}
			if long == 0 {
				t.Fatalf("no call with a long path or argv in the trace: the sample did not run as meant; output:\n%s", g.trace.Summary.Stdout)
			}
			t.Logf("%d calls carried cut paths or argv; output %q", long, g.trace.Summary.Stdout)
		}},
		{"connect to the host", "hostile-net", nil, func(t *testing.T, j jobs.Job) {
			g := done(t, j)
			out := g.trace.Summary.Stdout
			if !strings.Contains(out, "hostile-net: 0 reached") {
				t.Fatalf("a probe reached something:\n%s", out)
			}
			t.Logf("probes: %s", strings.ReplaceAll(strings.TrimSpace(out), "\n", "; "))
		}},
	}

	// All hostile jobs and a benign one beside them, at once on 2 slots.
	ids := make([]string, len(cases))
	for i, c := range cases {
		jo := jobs.Options{Timeout: opts.Timeout, Window: opts.Window, Args: c.args}
		j, err := o.submit(filepath.Join(samplesDir, c.sample), c.sample, jo)
		if err != nil {
			t.Fatalf("submit %s: %v", c.name, err)
		}
		ids[i] = j.ID
	}
	beside, err := o.submit(filepath.Join(samplesDir, "benign-reader"), "beside", opts)
	if err != nil {
		t.Fatal(err)
	}
	final := map[string]jobs.Job{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, id := range append(ids, beside.ID) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			j, err := o.c.Watch(ctx, id, time.Second, nil)
			if err != nil {
				t.Errorf("job %s did not end: %v", id, err)
				return
			}
			mu.Lock()
			final[id] = j
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	peak := vmHWM(t, o.cmd.Process.Pid)
	t.Logf("orchestrator peak RSS (VmHWM) %d MiB, bound %d MiB", peak>>20, HostileRSSBound>>20)
	if peak > HostileRSSBound {
		t.Errorf("orchestrator peak RSS %d MiB over the bound of %d MiB", peak>>20, HostileRSSBound>>20)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.check(t, final[ids[i]]) })
	}
	t.Run("benign job beside them", func(t *testing.T) {
		g := o.collect(t, final[beside.ID])
		g.requireExited0(t)
	})
	t.Run("job stored before is intact", func(t *testing.T) {
		j := o.job(before.job.ID)
		if j.State != jobs.Done || !j.HasReport {
			t.Fatalf("job stored before: %s, has report %v", j.State, j.HasReport)
		}
		g := o.collect(t, j)
		after, _ := json.Marshal(g.report)
		if string(after) != string(beforeReport) {
			t.Fatalf("report of the job stored before changed:\nbefore %.300s\nafter  %.300s", beforeReport, after)
		}
	})
	o.stop()
	all := o.checkStore() // consistency of the reopened store
	for _, id := range append(ids, beside.ID, before.job.ID) {
		if _, ok := all[id]; !ok {
			t.Errorf("job %s missing from the store", id)
		}
	}
}
