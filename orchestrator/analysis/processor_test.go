package analysis

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

// The table is the lifecycle: its order, which failures are retried, and
// that every VM step comes before the slot is released.
func TestLifecycleTable(t *testing.T) {
	want := []string{StepRestore, StepWaitAgent, StepSetTime, StepPushSample, StepRun, StepCollect, StepDestroy,
		StepFeaturize, StepClassify, StepFuse, StepReport}
	if got := StepNames(); !slices.Equal(got, want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
	infra := []string{StepRestore, StepWaitAgent, StepSetTime, StepPushSample, StepDestroy}
	released := false
	for _, st := range lifecycle {
		if st.Run == nil || st.Timeout == nil {
			t.Errorf("step %s: no Run or Timeout", st.Name)
		}
		if !st.WithVM {
			released = true
		} else if released {
			t.Errorf("step %s needs the VM but comes after the slot is released", st.Name)
		}
		got := IsInfraFailure(&StepError{Step: st.Name, Err: errors.New("x")})
		if got != slices.Contains(infra, st.Name) {
			t.Errorf("step %s: infrastructure failure = %v", st.Name, got)
		}
		if d := st.Timeout(DefaultStepTimeouts, jobs.Job{Options: jobs.Options{Timeout: time.Minute}}, time.Second); d <= 0 {
			t.Errorf("step %s: timeout %s", st.Name, d)
		}
	}
	run, _ := stepNamed(StepRun)
	if d := run.Timeout(DefaultStepTimeouts, jobs.Job{Options: jobs.Options{Timeout: 7 * time.Second}}, 3*time.Second); d != 10*time.Second {
		t.Errorf("run step timeout %s, want the job's 7s + 3s grace", d)
	}
	fuse, _ := stepNamed(StepFuse)
	if d := fuse.Timeout(MergeTimeouts(DefaultStepTimeouts, StepTimeouts{Fuse: 3 * time.Second}), jobs.Job{}, 0); d != 3*time.Second {
		t.Errorf("fuse step timeout %s, want its own 3s", d)
	}
	if !IsCleanStateFailure(&StepError{Step: StepWaitAgent, Err: errors.New("x")}) || IsCleanStateFailure(&StepError{Step: StepRun, Err: errors.New("x")}) {
		t.Error("clean-state failures: want restore and wait-agent only")
	}
}

// A job left processing by a stop is resumed from its hand-off record and
// its trace at the next start: it ends done, with the report built from
// the stored trace and the machine of the slot that ran it, and without
// running again on a VM.
func TestProcessingResumedAfterRestart(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	st, err := store.Open(dir, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := New(Config{Store: st, Log: log, Timeouts: DefaultStepTimeouts})
	ctx := context.Background()
	sample, err := st.PutSample(ctx, bytes.NewReader([]byte("\x7fELF sample")), "s", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	job, err := st.CreateJob(ctx, sample, jobs.Options{Timeout: 5 * time.Second, Window: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.ClaimNext("slot0", func(jobs.Job) bool { return true }); err != nil {
		t.Fatal(err)
	}
	for _, to := range []jobs.State{jobs.Running, jobs.Collecting} {
		if _, err := st.UpdateJob(job.ID, func(j *jobs.Job) error { return j.Move(to, time.Now().UTC(), "") }); err != nil {
			t.Fatal(err)
		}
	}
	// What the VM steps left: the trace artifact, then the hand-off.
	aw, err := st.CreateArtifact(job.ID, "trace.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(aw)
	jw := trace.NewJSONLWriter(zw)
	for i := range 3 {
		w := trace.Window{Index: i, Start: int64(i) * 1e9, End: int64(i+1) * 1e9, Counts: map[string]int{"openat": i + 1}}
		if err := jw.Window(&w); err != nil {
			t.Fatal(err)
		}
	}
	if err := jw.Summary(&trace.Summary{Outcome: trace.OutcomeExited}); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	ref, err := aw.Commit()
	if err != nil {
		t.Fatal(err)
	}
	r := &jobRun{a: d, job: job, steps: &stepRunner{parent: ctx, steps: []report.Step{{Name: StepRestore}, {Name: StepDestroy}}},
		machine:  report.Machine{Slot: "slot0", Domain: "smn-unit-slot0", Hypervisor: "qemu"},
		traceRef: report.TraceRef{Path: ref.Path, Format: "jsonl+gzip", Size: ref.Size, SHA256: ref.SHA256}}
	stopped, stop := context.WithCancel(ctx)
	stop()
	d.post = &processor{queue: make(chan *jobRun), ctx: stopped} // stopping: nothing takes the job
	if err := d.handOff(ctx, r); err != nil {
		t.Fatal(err)
	}
	if j, _ := st.Job(job.ID); j.State != jobs.Processing {
		t.Fatalf("after hand-off the job is %s, want processing", j.State)
	}

	// The next start: the daemon's recover resumes the jobs it finds
	// processing.
	d = New(Config{Store: st, Log: log, Timeouts: DefaultStepTimeouts})
	active, err := st.ActiveJobs()
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range active {
		if j.State == jobs.Processing {
			if err := d.Resume(j); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(d.resume) != 1 {
		t.Fatalf("resumed %d jobs, want 1", len(d.resume))
	}
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	d.Start(wctx, &wg)
	defer func() { cancel(); wg.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	var j jobs.Job
	for time.Now().Before(deadline) {
		if j, _ = st.Job(job.ID); j.State.Final() {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if j.State != jobs.Done || !j.HasReport || j.Attempts != 1 {
		t.Fatalf("job %s (attempts %d, has report %v, error %q), want done after one attempt", j.State, j.Attempts, j.HasReport, j.Error)
	}
	rep, err := st.Report(job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Windows) != 3 || rep.Machine.Slot != "slot0" || rep.Outcome.Status != trace.OutcomeExited {
		t.Fatalf("report: %d windows, slot %q, outcome %v", len(rep.Windows), rep.Machine.Slot, rep.Outcome)
	}
	// The steps of the VM part come from the hand-off record (a report holds
	// the steps before its own).
	var names []string
	for _, s := range rep.Steps {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{StepRestore, StepDestroy}) {
		t.Fatalf("report steps %v", names)
	}
}

// A cancel of a job in state processing stops its post-VM step (here a fuse
// that would run until its timeout) and ends the job cancelled, without a
// report.
func TestCancelDuringProcessing(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	sample, err := st.PutSample(ctx, bytes.NewReader([]byte("\x7fELF sample")), "s", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	job, err := st.CreateJob(ctx, sample, jobs.Options{Timeout: 5 * time.Second, Window: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.ClaimNext("slot0", nil); err != nil {
		t.Fatal(err)
	}
	for _, to := range []jobs.State{jobs.Running, jobs.Collecting} {
		if _, err := st.UpdateJob(job.ID, func(j *jobs.Job) error { return j.Move(to, time.Now().UTC(), "") }); err != nil {
			t.Fatal(err)
		}
	}
	// The fuse step blocks until its context ends (a slow plugin or model).
	entered := make(chan struct{})
	old := lifecycle
	defer func() { lifecycle = old }()
	lifecycle = slices.Clone(old)
	for i, st := range lifecycle {
		if st.Name == StepFuse {
			lifecycle[i].Plugins = false
			lifecycle[i].Run = func(r *jobRun, ctx context.Context) error {
				close(entered)
				<-ctx.Done()
				return ctx.Err()
			}
		}
	}
	a := New(Config{Store: st, Log: slog.New(slog.DiscardHandler), Timeouts: DefaultStepTimeouts})
	var wg sync.WaitGroup
	wctx, stop := context.WithCancel(ctx)
	defer func() { stop(); wg.Wait() }()
	a.Start(wctx, &wg)
	r := &jobRun{a: a, job: job, builder: report.NewBuilder(), steps: &stepRunner{parent: ctx},
		machine: report.Machine{Slot: "slot0"}}
	r.untrack = a.runs.track(job.ID) // as Run registers it at the claim
	if err := a.handOff(ctx, r); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the fuse step never started")
	}
	if j, _ := st.Job(job.ID); j.State != jobs.Processing || j.Step != StepFuse {
		t.Fatalf("job %s at step %q, want processing at fuse", j.State, j.Step)
	}
	done, ok := a.RequestCancel(job.ID)
	if !ok {
		t.Fatal("no run of the processing job known")
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the cancel did not stop processing")
	}
	j, err := st.Job(job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != jobs.Cancelled || j.HasReport ||
		!strings.Contains(j.Error, CancelNote) || !strings.Contains(j.Error, "during step fuse") {
		t.Fatalf("job %s (has report %v) error %q; want cancelled during step fuse, no report", j.State, j.HasReport, j.Error)
	}
	if _, ok := a.RequestCancel(job.ID); ok {
		t.Fatal("the run is still registered after it ended")
	}
}
