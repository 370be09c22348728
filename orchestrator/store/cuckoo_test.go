package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

func TestCuckooTaskMapping(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	smp := putTestSample(t, s, "MZ hello", "a.exe")
	j1, j2 := newJob(t, s, smp), newJob(t, s, smp)
	t1, err := s.CuckooTaskFor(j1.ID, CuckooTask{Owner: "cortex", Ignored: []string{"machine=win7"}})
	if err != nil {
		t.Fatal(err)
	}
	t2, err := s.CuckooTaskFor(j2.ID, CuckooTask{})
	if err != nil {
		t.Fatal(err)
	}
	if t1.ID != 1 || t2.ID != 2 {
		t.Fatalf("task ids %d, %d: want 1, 2", t1.ID, t2.ID)
	}
	again, err := s.CuckooTaskFor(j1.ID, CuckooTask{Owner: "other"})
	if err != nil || again.ID != 1 || again.Owner != "cortex" {
		t.Fatalf("second call changed the task: %+v, %v", again, err)
	}
	if _, err := s.CuckooTaskFor("20261124T014000Z-0k3f9q2w", CuckooTask{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("task for a missing job: %v", err)
	}
	// The mapping survives a reopen.
	s.Close()
	s = openTest(t, dir)
	got, err := s.CuckooTask(1)
	if err != nil || got.Job != j1.ID || len(got.Ignored) != 1 {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	// Deleting the job drops its task; ids are not reused.
	if _, err := s.UpdateJob(j1.ID, func(j *jobs.Job) error { return j.Move(jobs.Failed, time.Now(), "x") }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteJob(j1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CuckooTask(1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("task of a deleted job: %v", err)
	}
	j3 := newJob(t, s, smp)
	t3, err := s.CuckooTaskFor(j3.ID, CuckooTask{})
	if err != nil || t3.ID != 3 {
		t.Fatalf("new task after a delete: %+v, %v (want id 3)", t3, err)
	}
	if p, err := s.Check(); err != nil || len(p) != 0 {
		t.Fatalf("check: %v %v", p, err)
	}
}

func TestSampleByMD5(t *testing.T) {
	s := openTest(t, t.TempDir())
	smp := putTestSample(t, s, "hello", "h")
	if smp.MD5 != "5d41402abc4b2a76b9719d911017c592" {
		t.Fatalf("md5 %s", smp.MD5)
	}
	got, err := s.SampleByMD5(smp.MD5)
	if err != nil || got.SHA256 != smp.SHA256 {
		t.Fatalf("got %+v, %v", got, err)
	}
	if _, err := s.SampleByMD5("00000000000000000000000000000000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown md5: %v", err)
	}
	if _, err := s.SampleByMD5("zz"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad md5: %v", err)
	}
}

func TestDeleteJob(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	smp := putTestSample(t, s, "sample", "s")
	done := jobAt(t, s, smp, time.Now().UTC(), jobs.Done, 100)
	queued := newJob(t, s, smp)
	if _, err := s.DeleteJob(queued.ID); !errors.Is(err, ErrActive) {
		t.Fatalf("delete of a queued job: %v, want ErrActive", err)
	}
	if _, err := s.DeleteJob("../../etc"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad id: %v", err)
	}
	if _, err := s.DeleteJob(done.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Job(done.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("job still there: %v", err)
	}
	if _, err := s.Report(done.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("report still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "artifacts", done.ID)); !os.IsNotExist(err) {
		t.Fatalf("artifacts still there: %v", err)
	}
	if _, err := s.DeleteJob(done.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if n, _ := s.Count(jobs.Done); n != 0 {
		t.Fatalf("state index still counts %d done", n)
	}
	if p, err := s.Check(); err != nil || len(p) != 0 {
		t.Fatalf("check: %v %v", p, err)
	}
	// The sample stays for the queued job.
	if _, err := s.Sample(smp.SHA256); err != nil {
		t.Fatal(err)
	}
}

func TestCancelQueued(t *testing.T) {
	s := openTest(t, t.TempDir())
	smp := putTestSample(t, s, "sample", "s")
	j := newJob(t, s, smp)
	got, ok, err := s.CancelQueued(j.ID, "cancelled by test")
	if err != nil || !ok || got.State != jobs.Cancelled || got.Error != "cancelled by test" {
		t.Fatalf("cancel: %+v %v %v", got, ok, err)
	}
	if _, claimed, _ := s.ClaimNext("slot0", nil); claimed {
		t.Fatal("a cancelled job was claimed")
	}
	if _, ok, err := s.CancelQueued(j.ID, "again"); ok || err != nil {
		t.Fatalf("second cancel: ok %v err %v", ok, err)
	}
	if _, _, err := s.CancelQueued("nope", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing job: %v", err)
	}
	if _, err := s.DeleteJob(j.ID); err != nil {
		t.Fatalf("delete of a cancelled job: %v", err)
	}
}

func TestCuckooTasksForBatch(t *testing.T) {
	s := openTest(t, t.TempDir())
	smp := putTestSample(t, s, "batch", "b")
	a, b, c := newJob(t, s, smp), newJob(t, s, smp), newJob(t, s, smp)
	if _, err := s.CuckooTaskFor(b.ID, CuckooTask{Owner: "x"}); err != nil {
		t.Fatal(err)
	}
	ts, err := s.CuckooTasksFor([]string{c.ID, b.ID, a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if ts[0].ID != 2 || ts[0].Job != c.ID || ts[1].ID != 1 || ts[1].Owner != "x" || ts[2].ID != 3 || ts[2].Job != a.ID {
		t.Fatalf("batch: %+v", ts)
	}
	again, err := s.CuckooTasksFor([]string{a.ID})
	if err != nil || again[0].ID != 3 {
		t.Fatalf("again: %+v %v", again, err)
	}
	if _, err := s.CuckooTasksFor([]string{"20261124T014000Z-0k3f9q2w"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing job: %v", err)
	}
	if got, err := s.CuckooTask(2); err != nil || got.Job != c.ID {
		t.Fatalf("task 2: %+v %v", got, err)
	}
}
