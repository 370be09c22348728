package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

// Issue 13 finding 9: PutReportAndUpdate writes the report and the job's
// update together or not at all.
func TestPutReportAndUpdateAtomic(t *testing.T) {
	s := openTest(t, t.TempDir())
	j, err := s.CreateJob(context.Background(), putTestSample(t, s, "#!/bin/sh\n", "a.sh"), jobs.Options{Timeout: time.Second, Window: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("injected")
	err = s.PutReportAndUpdate(j.ID, &report.Report{JobID: j.ID}, func(*jobs.Job) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the injected error", err)
	}
	if _, err := s.Report(j.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("report stored although the job update failed: %v", err)
	}
	if got, _ := s.Job(j.ID); got.HasReport || got.State != jobs.Queued {
		t.Fatalf("job changed: %+v", got)
	}
	if err := s.PutReportAndUpdate(j.ID, &report.Report{JobID: j.ID}, func(j *jobs.Job) error {
		return j.Move(jobs.Cancelled, time.Now().UTC(), "x")
	}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Job(j.ID)
	if got.State != jobs.Cancelled || !got.HasReport {
		t.Fatalf("job after the update: %s, has report %v", got.State, got.HasReport)
	}
	if n, _ := s.Count(jobs.Cancelled); n != 1 {
		t.Fatalf("state index: %d cancelled, want 1", n)
	}
	if n, _ := s.Count(jobs.Queued); n != 0 {
		t.Fatalf("state index: %d queued, want 0", n)
	}
	// An illegal move is refused and nothing is written.
	err = s.PutReportAndUpdate(j.ID, &report.Report{JobID: j.ID, NoVerdict: "second"}, func(j *jobs.Job) error { j.State = jobs.Running; return nil })
	if !errors.Is(err, jobs.ErrTransition) {
		t.Fatalf("illegal move: got %v", err)
	}
	if r, _ := s.Report(j.ID); r == nil || r.NoVerdict == "second" {
		t.Fatalf("report replaced by a failed update: %+v", r)
	}
}
