package store

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

// setClock sets the store's clock for the rest of the test.
func setClock(t *testing.T, at time.Time) {
	t.Helper()
	old := now
	now = func() time.Time { return at }
	t.Cleanup(func() { now = old })
}

// jobAt creates a job for sample at time at and drives it to state (done
// jobs get a report), with an artifact of artBytes random bytes if > 0.
func jobAt(t *testing.T, s *Store, smp jobs.Sample, at time.Time, state jobs.State, artBytes int) jobs.Job {
	t.Helper()
	setClock(t, at)
	j, err := s.CreateJob(context.Background(), smp, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := map[jobs.State][]jobs.State{
		jobs.Queued:    nil,
		jobs.Running:   {jobs.Restoring, jobs.Running},
		jobs.Failed:    {jobs.Restoring, jobs.Failed},
		jobs.Done:      {jobs.Restoring, jobs.Running, jobs.Collecting, jobs.Done},
		jobs.Restoring: {jobs.Restoring},
	}[state]
	for i, st := range path {
		if artBytes > 0 && (st == jobs.Collecting || i == len(path)-1 && st != jobs.Done) {
			w, err := s.CreateArtifact(j.ID, "trace.jsonl.gz")
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, artBytes)
			rand.Read(buf)
			w.Write(buf)
			if _, err := w.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		if st == jobs.Done {
			if err := s.PutReport(j.ID, &report.Report{JobID: j.ID}); err != nil {
				t.Fatal(err)
			}
		}
		if j, err = s.UpdateJob(j.ID, func(j *jobs.Job) error { return j.Move(st, now(), "test") }); err != nil {
			t.Fatal(err)
		}
	}
	return j
}

// checkConsistent verifies the invariants GC must keep: the state index
// matches the jobs, reports and artifacts belong to existing jobs, every
// record's file exists, every job's sample has a record.
func checkConsistent(t *testing.T, s *Store) {
	t.Helper()
	err := s.view(func(tx *bolt.Tx) error {
		jb := tx.Bucket(bktJobs)
		n := 0
		err := jb.ForEach(func(k, _ []byte) error {
			n++
			j, err := getJob(tx, string(k))
			if err != nil {
				return err
			}
			if b := tx.Bucket(bktStates).Bucket([]byte(j.State)); b == nil || b.Get(k) == nil {
				t.Errorf("job %s missing from states/%s", k, j.State)
			}
			if tx.Bucket(bktSamples).Get([]byte(j.Sample.SHA256)) == nil {
				t.Errorf("job %s: sample %s has no record", k, j.Sample.SHA256)
			}
			return nil
		})
		if err != nil {
			return err
		}
		idx := 0
		tx.Bucket(bktStates).ForEach(func(st, _ []byte) error {
			return tx.Bucket(bktStates).Bucket(st).ForEach(func(k, _ []byte) error {
				idx++
				if jb.Get(k) == nil {
					t.Errorf("states/%s/%s: no job", st, k)
				}
				return nil
			})
		})
		if idx != n {
			t.Errorf("state index has %d entries for %d jobs", idx, n)
		}
		tx.Bucket(bktReports).ForEach(func(k, _ []byte) error {
			if jb.Get(k) == nil {
				t.Errorf("report %s: no job", k)
			}
			return nil
		})
		arts := tx.Bucket(bktArtifacts)
		arts.ForEach(func(k, _ []byte) error {
			if jb.Get(k) == nil {
				t.Errorf("artifacts %s: no job", k)
			}
			return arts.Bucket(k).ForEach(func(name, _ []byte) error {
				if _, err := os.Stat(filepath.Join(s.dir, "artifacts", string(k), string(name))); err != nil {
					t.Errorf("artifact record %s/%s: %v", k, name, err)
				}
				return nil
			})
		})
		return tx.Bucket(bktSamples).ForEach(func(k, _ []byte) error {
			if _, err := os.Stat(s.samplePath(string(k))); err != nil {
				t.Errorf("sample record %s: %v", k, err)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

func TestGCRetention(t *testing.T) {
	s := openTest(t, t.TempDir())
	base := time.Now().UTC()
	old := base.Add(-72 * time.Hour)
	setClock(t, old)
	shared := putTestSample(t, s, "shared", "shared")
	onlyOld := putTestSample(t, s, "only-old", "a")
	fresh := putTestSample(t, s, "fresh", "b")
	queuedSmp := putTestSample(t, s, "queued", "c")
	orphan := putTestSample(t, s, "orphan", "never submitted")

	oldDone := jobAt(t, s, shared, old, jobs.Done, 100)
	active := jobAt(t, s, shared, old.Add(time.Minute), jobs.Running, 0)
	oldFailed := jobAt(t, s, onlyOld, old.Add(2*time.Minute), jobs.Failed, 50)
	oldQueued := jobAt(t, s, queuedSmp, old.Add(3*time.Minute), jobs.Queued, 0)
	newDone := jobAt(t, s, fresh, base.Add(-time.Hour), jobs.Done, 100)
	// The active job is streaming its trace (uncommitted) and has an
	// earlier artifact committed.
	w, err := s.CreateArtifact(active.ID, "partial")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}

	setClock(t, base)
	// A dry run says what would go and deletes nothing.
	dry, err := s.GC(context.Background(), Policy{MaxAge: 24 * time.Hour, DryRun: true, Compact: true})
	if err != nil || !dry.DryRun || dry.JobsExpired != 2 || !slices.Equal(dry.JobsDeleted, []string{oldDone.ID, oldFailed.ID}) ||
		dry.SamplesDeleted != 2 || dry.BytesFreed != 150+int64(len("only-old")+len("orphan")) || dry.Compacted {
		t.Fatalf("dry run %+v %v", dry, err)
	}
	for _, id := range []string{oldDone.ID, oldFailed.ID} {
		if _, err := s.Job(id); err != nil {
			t.Errorf("dry run deleted job %s: %v", id, err)
		}
		if !exists(filepath.Join(s.dir, "artifacts", id)) {
			t.Errorf("dry run deleted the artifacts of %s", id)
		}
	}
	if _, err := s.SamplePath(orphan.SHA256); err != nil {
		t.Errorf("dry run deleted a sample: %v", err)
	}
	checkConsistent(t, s)
	rep, err := s.GC(context.Background(), Policy{MaxAge: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if rep.JobsExpired != 2 || rep.JobsEvicted != 0 || !slices.Equal(rep.JobsDeleted, []string{oldDone.ID, oldFailed.ID}) ||
		rep.ReportsDeleted != 1 || rep.ArtifactsDeleted != 2 || rep.SamplesDeleted != 2 || rep.BytesFreed != 150+int64(len("only-old")+len("orphan")) {
		t.Fatalf("report %+v", rep)
	}
	for _, id := range []string{oldDone.ID, oldFailed.ID} {
		if _, err := s.Job(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("job %s: %v", id, err)
		}
		if _, err := s.Report(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("report %s: %v", id, err)
		}
		if exists(filepath.Join(s.dir, "artifacts", id)) {
			t.Errorf("artifacts of %s remain", id)
		}
	}
	for _, id := range []string{active.ID, oldQueued.ID, newDone.ID} {
		if _, err := s.Job(id); err != nil {
			t.Errorf("job %s: %v", id, err)
		}
	}
	if _, err := s.Artifact(active.ID, "partial"); err != nil {
		t.Errorf("active job's artifact: %v", err)
	}
	for _, smp := range []jobs.Sample{shared, fresh, queuedSmp} {
		if _, err := s.SamplePath(smp.SHA256); err != nil {
			t.Errorf("sample %s: %v", smp.Name, err)
		}
	}
	for _, smp := range []jobs.Sample{onlyOld, orphan} {
		if _, err := s.Sample(smp.SHA256); !errors.Is(err, ErrNotFound) || exists(s.samplePath(smp.SHA256)) {
			t.Errorf("sample %s not deleted: %v", smp.Name, err)
		}
	}
	if n, _ := s.Count(jobs.Done); n != 1 {
		t.Errorf("done count %d", n)
	}
	checkConsistent(t, s)

	// Reopened, the database is consistent and a second GC has nothing to do.
	dir := s.Dir()
	s.Close()
	s = openTest(t, dir)
	checkConsistent(t, s)
	rep, err = s.GC(context.Background(), Policy{MaxAge: 24 * time.Hour})
	if err != nil || len(rep.JobsDeleted) != 0 || rep.SamplesDeleted != 0 || rep.OrphansRemoved != 0 {
		t.Fatalf("second gc: %+v %v", rep, err)
	}
}

func TestGCSamplePinned(t *testing.T) {
	s := openTest(t, t.TempDir())
	smp := putTestSample(t, s, "just stored", "x")
	// Submit stores the sample, then creates the job: a GC in between must
	// not take the sample.
	if rep, err := s.GC(context.Background(), Policy{}); err != nil || rep.SamplesDeleted != 0 {
		t.Fatalf("gc: %+v %v", rep, err)
	}
	if _, err := s.CreateJob(context.Background(), smp, jobs.Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestGCSizeEviction(t *testing.T) {
	s := openTest(t, t.TempDir())
	base := time.Now().UTC()
	t0 := base.Add(-10 * time.Hour)
	const mb = 1 << 20
	setClock(t, t0)
	// Created a, b, c; they end in the order b, a, c.
	a := jobAt(t, s, putTestSample(t, s, "a", "a"), t0.Add(2*time.Hour), jobs.Done, mb)
	b := jobAt(t, s, putTestSample(t, s, "b", "b"), t0.Add(time.Hour), jobs.Done, mb)
	c := jobAt(t, s, putTestSample(t, s, "c", "c"), t0.Add(3*time.Hour), jobs.Done, mb)
	act := jobAt(t, s, putTestSample(t, s, "d", "d"), t0, jobs.Running, mb)
	// a was created first but b finished first.
	if a.ID > b.ID || !b.Updated.Before(a.Updated) {
		t.Fatalf("setup: a %s %s, b %s %s", a.ID, a.Updated, b.ID, b.Updated)
	}
	setClock(t, base)
	u, err := s.Usage()
	if err != nil || u.Artifacts != 4 || u.ArtifactBytes != 4*mb || u.Samples != 4 {
		t.Fatalf("usage %+v %v", u, err)
	}
	// Removing one job's artifact is not enough, two are.
	limit := u.SampleBytes + u.ArtifactBytes - 3*mb/2
	rep, err := s.GC(context.Background(), Policy{MaxBytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	if rep.JobsEvicted != 2 || rep.JobsExpired != 0 || !slices.Equal(rep.JobsDeleted, []string{b.ID, a.ID}) {
		t.Fatalf("report %+v", rep)
	}
	// (The database file may grow by a page run while the GC transaction
	// rewrites the search indexes; that is not freed space.)
	if rep.BytesAfter > rep.BytesBefore-2*mb+max(0, rep.DBBytesAfter-rep.DBBytesBefore) || rep.BytesFreed < 2*mb {
		t.Fatalf("bytes: %+v", rep)
	}
	// The active job is never evicted, even when the limit cannot be met.
	rep, err = s.GC(context.Background(), Policy{MaxBytes: 1})
	if err != nil || !slices.Equal(rep.JobsDeleted, []string{c.ID}) {
		t.Fatalf("gc to 1 byte: %+v %v", rep, err)
	}
	if _, err := s.Job(act.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SamplePath(act.Sample.SHA256); err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, s)
}

func TestGCCompact(t *testing.T) {
	s := openTest(t, t.TempDir())
	base := time.Now().UTC()
	smp := putTestSample(t, s, "bulk", "bulk")
	big := &report.Report{Steps: make([]report.Step, 400)}
	for i := range big.Steps {
		big.Steps[i] = report.Step{Name: "padding-padding-padding-padding", Error: "some long error text to make the report larger"}
	}
	setClock(t, base.Add(-48*time.Hour))
	for i := 0; i < 60; i++ {
		j, err := s.CreateJob(context.Background(), smp, jobs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateJob(j.ID, func(j *jobs.Job) error { return j.Move(jobs.Failed, now(), "x") }); err != nil {
			t.Fatal(err)
		}
		big.JobID = j.ID
		if err := s.PutReport(j.ID, big); err != nil {
			t.Fatal(err)
		}
	}
	keep := jobAt(t, s, smp, base.Add(-time.Minute), jobs.Done, 10)
	setClock(t, base)
	rep, err := s.GC(context.Background(), Policy{MaxAge: time.Hour, Compact: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Compacted || rep.JobsExpired != 60 || rep.DBBytesAfter*4 > rep.DBBytesBefore {
		t.Fatalf("report %+v", rep)
	}
	st, _ := os.Stat(filepath.Join(s.dir, DBFile))
	if st.Size() != rep.DBBytesAfter {
		t.Fatalf("db file %d bytes, report says %d", st.Size(), rep.DBBytesAfter)
	}
	// The store works on the compacted database, before and after reopening.
	if j, err := s.Job(keep.ID); err != nil || j.State != jobs.Done {
		t.Fatalf("kept job %+v %v", j, err)
	}
	if _, err := s.CreateJob(context.Background(), smp, jobs.Options{}); err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, s)
	dir := s.Dir()
	s.Close()
	s = openTest(t, dir)
	if _, err := s.Report(keep.ID); err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, s)
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Fatalf("tmp not empty: %v", ents)
	}
}

func TestGCCrashBetweenRecordsAndFiles(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	base := time.Now().UTC()
	setClock(t, base.Add(-48*time.Hour))
	old := jobAt(t, s, putTestSample(t, s, "old", "old"), base.Add(-48*time.Hour), jobs.Done, 1000)
	setClock(t, base)
	gcAfterCommit = func() error { return errors.New("simulated crash") }
	t.Cleanup(func() { gcAfterCommit = nil })
	if _, err := s.GC(context.Background(), Policy{MaxAge: time.Hour}); err == nil {
		t.Fatal("gc did not stop at the simulated crash")
	}
	gcAfterCommit = nil
	// Records are gone, files remain: no record points at a missing file.
	artDir := filepath.Join(dir, "artifacts", old.ID)
	if _, err := s.Job(old.ID); !errors.Is(err, ErrNotFound) || !exists(artDir) || !exists(s.samplePath(old.Sample.SHA256)) {
		t.Fatalf("after crash: job err %v, artifacts %v, sample %v", err, exists(artDir), exists(s.samplePath(old.Sample.SHA256)))
	}
	s.Close()
	s = openTest(t, dir)
	checkConsistent(t, s)
	rep, err := s.GC(context.Background(), Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OrphansRemoved != 2 || rep.BytesFreed != 1000+3 || exists(artDir) || exists(s.samplePath(old.Sample.SHA256)) {
		t.Fatalf("sweep: %+v", rep)
	}
	checkConsistent(t, s)
}

func TestGCPolicyValidate(t *testing.T) {
	s := openTest(t, t.TempDir())
	for _, p := range []Policy{{MaxAge: -time.Second}, {MaxBytes: -1}} {
		if _, err := s.GC(context.Background(), p); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", p, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.GC(ctx, Policy{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if free, err := s.FreeBytes(); err != nil || free == 0 {
		t.Errorf("free %d %v", free, err)
	}
}
