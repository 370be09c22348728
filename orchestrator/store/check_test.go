package store

import (
	"context"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

func TestCheck(t *testing.T) {
	s := openTest(t, t.TempDir())
	smp := putTestSample(t, s, "content", "a.bin")
	ctx := context.Background()
	done, _ := s.CreateJob(ctx, smp, jobs.Options{})
	failed, _ := s.CreateJob(ctx, smp, jobs.Options{})
	if _, err := s.CreateJob(ctx, smp, jobs.Options{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for range 2 { // done, then failed: the queue is FIFO
		if _, _, err := s.ClaimNext("slot0", nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutReport(done.ID, &report.Report{JobID: done.ID}); err != nil {
		t.Fatal(err)
	}
	mustUpdate := func(id string, fn func(*jobs.Job) error) {
		t.Helper()
		if _, err := s.UpdateJob(id, fn); err != nil {
			t.Fatal(err)
		}
	}
	mustUpdate(done.ID, func(j *jobs.Job) error { return j.Move(jobs.Running, now, "") })
	mustUpdate(done.ID, func(j *jobs.Job) error { return j.Move(jobs.Collecting, now, "") })
	mustUpdate(done.ID, func(j *jobs.Job) error { j.HasReport = true; return j.Move(jobs.Done, now, "") })
	mustUpdate(failed.ID, func(j *jobs.Job) error { return j.Move(jobs.Failed, now, "it broke") })
	if p, err := s.Check(); err != nil || len(p) != 0 {
		t.Fatalf("consistent store: %v %v", p, err)
	}

	// Break it: the done job also indexed as queued, a report without a
	// job, the failed job's error gone.
	err := s.update(func(tx *bolt.Tx) error {
		tx.Bucket(bktStates).Bucket([]byte(jobs.Queued)).Put([]byte(done.ID), nil)
		tx.Bucket(bktReports).Put([]byte("20990101T000000Z-nosuchjb"), []byte("{}"))
		j, _ := getJob(tx, failed.ID)
		j.Error = ""
		return putJob(tx, &j, j.State)
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Check()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(p, "\n")
	for _, want := range []string{"job " + done.ID + " (state done) is indexed under", "report 20990101T000000Z-nosuchjb belongs to no job", "failed job " + failed.ID + ": error \"\""} {
		if !strings.Contains(got, want) {
			t.Errorf("problems do not say %q:\n%s", want, got)
		}
	}
	if len(p) != 3 {
		t.Errorf("want 3 problems, got:\n%s", got)
	}
}
