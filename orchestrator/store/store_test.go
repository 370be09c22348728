package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{LockTimeout: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func putTestSample(t *testing.T, s *Store, content, name string) jobs.Sample {
	t.Helper()
	smp, err := s.PutSample(context.Background(), strings.NewReader(content), name, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return smp
}

func TestSampleRoundTrip(t *testing.T) {
	s := openTest(t, t.TempDir())
	smp := putTestSample(t, s, "#!/bin/sh\necho hi\n", "hello.sh")
	if sum := sha256.Sum256([]byte("#!/bin/sh\necho hi\n")); smp.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("sha256 %q", smp.SHA256)
	}
	if smp.Size != 18 || smp.Name != "hello.sh" || smp.Type != "script, interpreter /bin/sh" || len(smp.SHA1) != 40 || len(smp.MD5) != 32 {
		t.Fatalf("sample %+v", smp)
	}
	f, err := s.OpenSample(smp.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "#!/bin/sh\necho hi\n" {
		t.Fatalf("content %q", b)
	}
	p, err := s.SamplePath(smp.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o444 || !strings.HasSuffix(p, filepath.Join("samples", smp.SHA256[:2], smp.SHA256[2:4], smp.SHA256)) {
		t.Fatalf("path %s mode %v", p, st.Mode())
	}
	// Idempotent: same content, other name.
	again := putTestSample(t, s, "#!/bin/sh\necho hi\n", "other")
	if again.SHA256 != smp.SHA256 || again.Name != "other" {
		t.Fatalf("again %+v", again)
	}
	rec, err := s.Sample(smp.SHA256)
	if err != nil || rec.Name != "hello.sh" {
		t.Fatalf("first-seen record %+v %v", rec, err)
	}
	if _, err := s.OpenSample(strings.Repeat("0", 64)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing sample: %v", err)
	}
	for _, bad := range []string{"", "../../etc/passwd", strings.Repeat("A", 64), smp.SHA256[:63] + "/"} {
		if _, err := s.SamplePath(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("SamplePath(%q): %v", bad, err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp")); len(ents) != 0 {
		t.Fatalf("tmp not empty: %v", ents)
	}
}

func TestSampleTooLarge(t *testing.T) {
	s := openTest(t, t.TempDir())
	_, err := s.PutSample(context.Background(), bytes.NewReader(make([]byte, 1001)), "big", 1000)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err %v", err)
	}
	// Exactly at the limit is fine.
	if _, err := s.PutSample(context.Background(), bytes.NewReader(make([]byte, 1000)), "ok", 1000); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Dir(), "tmp")); len(ents) != 0 {
		t.Fatalf("tmp not empty after too-large sample: %v", ents)
	}
	var files int
	filepath.Walk(filepath.Join(s.Dir(), "samples"), func(_ string, fi os.FileInfo, _ error) error {
		if fi != nil && !fi.IsDir() {
			files++
		}
		return nil
	})
	if files != 1 {
		t.Fatalf("%d sample files, want 1", files)
	}
}

func TestSampleCancelled(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.PutSample(ctx, strings.NewReader("x"), "x", 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

func TestSanitizeName(t *testing.T) {
	cases := map[string]string{
		"../../etc/passwd":        "passwd",
		`C:\Users\x\evil.exe`:     "evil.exe",
		"a\x00b":                  "a?b",
		"..":                      "sample",
		"dir/":                    "sample",
		"":                        "sample",
		"  spaced  ":              "spaced",
		"bad\xffutf8":             "bad?utf8",
		"tab\there\nnewline\x1b[": "tab?here?newline?[",
		"héllo.bin":               "héllo.bin",
	}
	for in, want := range cases {
		if got := SanitizeName(in); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
	long := SanitizeName(strings.Repeat("é", 10000))
	if len(long) > MaxNameLen || !strings.HasPrefix(long, "éé") {
		t.Errorf("long name: %d bytes", len(long))
	}
	s := openTest(t, t.TempDir())
	smp := putTestSample(t, s, "x", "../../etc/passwd\x00"+strings.Repeat("z", 10<<10))
	if len(smp.Name) > MaxNameLen || strings.ContainsAny(smp.Name, "/\x00") {
		t.Fatalf("stored name %q", smp.Name)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "etc")); err == nil {
		t.Fatal("name used as a path")
	}
}

func newJob(t *testing.T, s *Store, smp jobs.Sample) jobs.Job {
	t.Helper()
	j, err := s.CreateJob(context.Background(), smp, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestJobLifecycle(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	smp := putTestSample(t, s, "payload", "p")
	j1 := newJob(t, s, smp)
	j2 := newJob(t, s, smp)
	if !ValidID(j1.ID) || !(j1.ID < j2.ID) || j1.State != jobs.Queued || j1.Options.Timeout != jobs.DefaultTimeout {
		t.Fatalf("jobs %+v %+v", j1, j2)
	}
	if _, err := s.CreateJob(context.Background(), jobs.Sample{SHA256: strings.Repeat("a", 64)}, jobs.Options{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("job for unknown sample: %v", err)
	}
	if _, err := s.CreateJob(context.Background(), smp, jobs.Options{Timeout: time.Hour}); !errors.Is(err, jobs.ErrInvalid) {
		t.Fatalf("bad options: %v", err)
	}
	got, err := s.Job(j1.ID)
	if err != nil || got.ID != j1.ID || got.Sample != smp {
		t.Fatalf("Job: %+v %v", got, err)
	}
	if _, err := s.Job("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Job(nope): %v", err)
	}
	if n, _ := s.Count(jobs.Queued); n != 2 {
		t.Fatalf("queued %d", n)
	}

	c, ok, err := s.ClaimNext("slot0", nil)
	if err != nil || !ok || c.ID != j1.ID || c.State != jobs.Restoring || c.Slot != "slot0" || c.Attempts != 1 {
		t.Fatalf("claim: %+v %v %v", c, ok, err)
	}
	u, err := s.UpdateJob(c.ID, func(j *jobs.Job) error {
		j.Step = "run"
		return j.Move(jobs.Running, time.Now(), "")
	})
	if err != nil || u.State != jobs.Running || u.Step != "run" {
		t.Fatalf("update: %+v %v", u, err)
	}
	if _, err := s.UpdateJob(c.ID, func(j *jobs.Job) error { j.State = jobs.Done; return nil }); !errors.Is(err, jobs.ErrTransition) {
		t.Fatalf("illegal transition: %v", err)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateJob(c.ID, func(j *jobs.Job) error { j.Step = "x"; return boom }); !errors.Is(err, boom) {
		t.Fatalf("fn error: %v", err)
	}
	if g, _ := s.Job(c.ID); g.Step != "run" {
		t.Fatalf("update with error was written: %+v", g)
	}
	if _, err := s.UpdateJob(c.ID, func(j *jobs.Job) error { return j.Move(jobs.Collecting, time.Now(), "") }); err != nil {
		t.Fatal(err)
	}

	// Artifact.
	w, err := s.CreateArtifact(c.ID, "trace.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "trace data")
	a, err := w.Commit()
	if err != nil || a.Size != 10 || a.Path != filepath.Join("artifacts", c.ID, "trace.jsonl.gz") || len(a.SHA256) != 64 {
		t.Fatalf("commit %+v %v", a, err)
	}
	w.Abort() // no-op after commit
	w2, _ := s.CreateArtifact(c.ID, "aborted")
	io.WriteString(w2, "x")
	w2.Abort()
	if _, err := s.OpenArtifact(c.ID, "aborted"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("aborted artifact: %v", err)
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/b", ".hidden", "a\x00b", strings.Repeat("x", 200)} {
		if _, err := s.CreateArtifact(c.ID, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("CreateArtifact(%q): %v", bad, err)
		}
	}
	if _, err := s.CreateArtifact("../../etc", "x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad job id: %v", err)
	}
	if _, err := s.CreateArtifact(j2.ID[:len(j2.ID)-1]+"z", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown job: %v", err)
	}

	// Report.
	if _, err := s.Report(c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("report before put: %v", err)
	}
	rep := &report.Report{Schema: report.SchemaVersion, JobID: c.ID, Sample: smp, Trace: report.TraceRef{Path: a.Path}}
	if err := s.PutReport(c.ID, rep); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateJob(c.ID, func(j *jobs.Job) error { return j.Move(jobs.Done, time.Now(), "") }); err != nil {
		t.Fatal(err)
	}

	// Reopen and find everything.
	s.Close()
	s = openTest(t, dir)
	g, err := s.Job(c.ID)
	if err != nil || g.State != jobs.Done || !g.HasReport || g.Step != "" || len(g.History) != 5 {
		t.Fatalf("after reopen: %+v %v", g, err)
	}
	r2, err := s.Report(c.ID)
	if err != nil || r2.JobID != c.ID || r2.Trace.Path != a.Path {
		t.Fatalf("report after reopen: %+v %v", r2, err)
	}
	f, err := s.OpenArtifact(c.ID, "trace.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "trace data" {
		t.Fatalf("artifact %q", b)
	}
	if ar, err := s.Artifact(c.ID, "trace.jsonl.gz"); err != nil || ar != a {
		t.Fatalf("artifact record %+v %v", ar, err)
	}
	act, err := s.ActiveJobs()
	if err != nil || len(act) != 1 || act[0].ID != j2.ID {
		t.Fatalf("active %+v %v", act, err)
	}
	if _, err := s.OpenSample(smp.SHA256); err != nil {
		t.Fatal(err)
	}
}

func TestListJobs(t *testing.T) {
	s := openTest(t, t.TempDir())
	smp := putTestSample(t, s, "x", "x")
	var ids []string
	for i := 0; i < 7; i++ {
		ids = append(ids, newJob(t, s, smp).ID)
	}
	s.ClaimNext("a", nil) // ids[0] -> restoring
	all, err := s.ListJobs(ListQuery{})
	if err != nil || len(all) != 7 || all[0].ID != ids[6] || all[6].ID != ids[0] {
		t.Fatalf("all: %d %v", len(all), err)
	}
	q, _ := s.ListJobs(ListQuery{State: jobs.Queued, Limit: 2})
	if len(q) != 2 || q[0].ID != ids[6] || q[1].ID != ids[5] {
		t.Fatalf("queued limit 2: %+v", q)
	}
	page, _ := s.ListJobs(ListQuery{Before: ids[3], Limit: 10})
	if len(page) != 3 || page[0].ID != ids[2] {
		t.Fatalf("before: %+v", page)
	}
	page, _ = s.ListJobs(ListQuery{Before: "99999999", Limit: 1})
	if len(page) != 1 || page[0].ID != ids[6] {
		t.Fatalf("before past end: %+v", page)
	}
	r, _ := s.ListJobs(ListQuery{State: jobs.Restoring})
	if len(r) != 1 || r[0].ID != ids[0] {
		t.Fatalf("restoring: %+v", r)
	}
	if d, err := s.ListJobs(ListQuery{State: jobs.Done}); err != nil || len(d) != 0 || d == nil {
		t.Fatalf("done: %#v %v", d, err)
	}
	if _, err := s.ListJobs(ListQuery{State: "bogus"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bogus state: %v", err)
	}
}

func TestClaimNextConcurrent(t *testing.T) {
	s := openTest(t, t.TempDir())
	smp := putTestSample(t, s, "x", "x")
	const n = 40
	for i := 0; i < n; i++ {
		newJob(t, s, smp)
	}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(slot string) {
			defer wg.Done()
			for {
				j, ok, err := s.ClaimNext(slot, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				if prev, dup := seen[j.ID]; dup {
					t.Errorf("job %s claimed by %s and %s", j.ID, prev, slot)
				}
				seen[j.ID] = slot
				mu.Unlock()
			}
		}(string(rune('a' + g)))
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d of %d", len(seen), n)
	}
	if n, _ := s.Count(jobs.Queued); n != 0 {
		t.Fatalf("%d still queued", n)
	}
}

func TestIDsMonotonic(t *testing.T) {
	at := time.Date(2026, 11, 24, 1, 40, 0, 0, time.UTC)
	last := ""
	for i := 0; i < 1000; i++ {
		id, err := newID(at, last)
		if err != nil {
			t.Fatal(err)
		}
		if !ValidID(id) || id <= last || !strings.HasPrefix(id, "20261124T014000Z-") {
			t.Fatalf("id %q after %q", id, last)
		}
		last = id
	}
	// Clock stepping back keeps order.
	id, _ := newID(at.Add(-time.Hour), last)
	if id <= last {
		t.Fatalf("clock step back: %q after %q", id, last)
	}
	for _, bad := range []string{"", "x", "20261124T014000Z-0000000u", "20261399T014000Z-00000000", "../../etc/passwd/aaaaaaaa"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q)", bad)
		}
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir)
	start := time.Now()
	_, err := Open(dir, Options{LockTimeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "database locked by another process") {
		t.Fatalf("second open: %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("second open took %s", time.Since(start))
	}
}

func TestSchemaNewer(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.db.Update(func(tx *bolt.Tx) error {
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], SchemaVersion+1)
		return tx.Bucket(bktMeta).Put(keyVersion, v[:])
	})
	s.Close()
	_, err = Open(dir, Options{})
	if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), fmt.Sprintf("version %d", SchemaVersion+1)) {
		t.Fatalf("newer schema: %v", err)
	}
}

func TestTmpCleanedOnOpen(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	s.Close()
	os.WriteFile(filepath.Join(dir, "tmp", "sample-123"), []byte("half"), 0o600)
	s = openTest(t, dir)
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Fatalf("tmp not cleaned: %v", ents)
	}
}

func TestClaimNextAccept(t *testing.T) {
	s := openTest(t, t.TempDir())
	var ids []string
	for i := 0; i < 3; i++ {
		smp := putTestSample(t, s, fmt.Sprintf("sample %d", i), fmt.Sprintf("s%d", i))
		j, err := s.CreateJob(context.Background(), smp, jobs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	// The filter skips the oldest job; the next one is claimed.
	j, ok, err := s.ClaimNext("slot0", func(j jobs.Job) bool { return j.ID != ids[0] })
	if err != nil || !ok || j.ID != ids[1] {
		t.Fatalf("claimed %v %v %v, want %s", j.ID, ok, err, ids[1])
	}
	// Nothing accepted: nothing claimed, the queue is untouched.
	if _, ok, err := s.ClaimNext("slot0", func(jobs.Job) bool { return false }); ok || err != nil {
		t.Fatalf("claimed with a reject-all filter: %v %v", ok, err)
	}
	if n, _ := s.Count(jobs.Queued); n != 2 {
		t.Fatalf("queued %d, want 2", n)
	}
}
