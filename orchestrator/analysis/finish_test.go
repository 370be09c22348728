package analysis

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

// processingJob stores a job moved through the VM states to processing.
func processingJob(t *testing.T, st *store.Store) jobs.Job {
	t.Helper()
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
	for _, to := range []jobs.State{jobs.Running, jobs.Collecting, jobs.Processing} {
		if job, err = st.UpdateJob(job.ID, func(j *jobs.Job) error { return j.Move(to, time.Now().UTC(), "") }); err != nil {
			t.Fatal(err)
		}
	}
	return job
}

// Issue 13 finding 9: the report step stores the report and the job's done
// state in one transaction. The process "dies" right after the step (the
// store is closed without anything else running, as a kill would leave
// it); reopened, the job is done with its report, not processing with a
// report (which re-ran it) or done without one.
func TestReportAndDoneOneTransaction(t *testing.T) {
	dir := t.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	st, err := store.Open(dir, store.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	job := processingJob(t, st)
	d := New(Config{Log: quiet, Store: st, NoVerdict: "test"})
	r := &jobRun{a: d, job: job, builder: report.NewBuilder(), steps: &stepRunner{parent: context.Background()},
		machine: report.Machine{Slot: "slot0"}}
	if err := r.storeReport(context.Background()); err != nil {
		t.Fatal(err)
	}
	// killed here: finish never runs
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(dir, store.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	j, err := st.Job(job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != jobs.Done || !j.HasReport {
		t.Fatalf("after a kill right after the report step: job %s, has report %v; want done with its report", j.State, j.HasReport)
	}
	if _, err := st.Report(job.ID); err != nil {
		t.Fatalf("report: %v", err)
	}

	// Fault injection: the job's update fails inside the transaction (the
	// job was cancelled meanwhile, so done is not a legal move). Nothing is
	// written: no report beside a job that is not done.
	job2 := processingJob(t, st)
	if _, err := st.UpdateJob(job2.ID, func(j *jobs.Job) error { return j.Move(jobs.Cancelled, time.Now().UTC(), "cancelled") }); err != nil {
		t.Fatal(err)
	}
	d.Store = st
	r2 := &jobRun{a: d, job: job2, builder: report.NewBuilder(), steps: &stepRunner{parent: context.Background()}}
	if err := r2.storeReport(context.Background()); !errors.Is(err, jobs.ErrTransition) {
		t.Fatalf("report of a cancelled job: got %v, want jobs.ErrTransition", err)
	}
	if _, err := st.Report(job2.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a report was stored although the job update failed: %v", err)
	}
	if j, _ := st.Job(job2.ID); j.State != jobs.Cancelled || j.HasReport {
		t.Fatalf("job after the failed transaction: %s, has report %v", j.State, j.HasReport)
	}
}
