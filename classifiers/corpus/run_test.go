package corpus

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// fakeClient runs jobs instantly: a script containing "fail" fails without
// a trace, "stuck" never finishes until released.
type fakeClient struct {
	mu       sync.Mutex
	n        int
	jobs     map[string]*jobs.Job
	bodies   map[string]string
	submits  int
	stuck    bool
	refuseAt int
}

func newFake() *fakeClient {
	return &fakeClient{jobs: map[string]*jobs.Job{}, bodies: map[string]string{}}
}

func (f *fakeClient) Submit(_ context.Context, name string, body io.Reader, o jobs.Options) (jobs.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submits++
	if f.refuseAt > 0 && f.submits >= f.refuseAt {
		return jobs.Job{}, errors.New("queue full")
	}
	b, _ := io.ReadAll(body)
	f.n++
	id := fmt.Sprintf("job%d", f.n)
	j := &jobs.Job{ID: id, State: jobs.Done}
	switch {
	case strings.Contains(string(b), "fail"):
		j.State, j.Error = jobs.Failed, "guest: exec format error"
	case f.stuck:
		j.State = jobs.Queued
	}
	f.jobs[id], f.bodies[id] = j, string(b)
	return *j, nil
}

func (f *fakeClient) Job(_ context.Context, id string) (jobs.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok {
		return jobs.Job{}, errors.New("not found")
	}
	return *j, nil
}

func (f *fakeClient) Trace(_ context.Context, id string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.jobs[id].State != jobs.Done {
		return nil, errors.New("not found")
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	fmt.Fprintf(zw, "{\"body\":%q}\n", f.bodies[id])
	zw.Close()
	return io.NopCloser(&b), nil
}

func (f *fakeClient) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stuck = false
	for _, j := range f.jobs {
		if j.State == jobs.Queued {
			j.State = jobs.Done
		}
	}
}

func testManifest() *Manifest {
	return &Manifest{Items: []Item{
		{ID: "art/T1003.008/1", Label: LabelMalware, Group: "T1003.008", Source: SourceAtomic, Name: "cat shadow", Script: "#!/bin/sh\ncat /etc/shadow\n"},
		{ID: "debian/coreutils/ls", Label: LabelBenign, Group: "coreutils", Source: SourceDebian, Name: "ls", Script: "#!/bin/sh\nls /\n"},
		{ID: "debian/bad/fail", Label: LabelBenign, Group: "bad", Source: SourceDebian, Name: "fails", Script: "#!/bin/sh\nfail\n"},
	}, Skipped: []Skip{{ID: "art/T1105/1", Group: "T1105", Name: "curl", Reason: "needs the network"}}}
}

func TestBuildKeepsTracesAndResumes(t *testing.T) {
	dir := t.TempDir()
	c := newFake()
	var lines []string
	ents, err := Build(context.Background(), c, testManifest(), dir, BuildOptions{Parallel: 2, Poll: time.Millisecond,
		Progress: func(p Progress) { lines = append(lines, p.String()) }})
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{ents[0].Status, ents[1].Status, ents[2].Status}; fmt.Sprint(got) != "[done done failed]" {
		t.Fatalf("statuses %v", got)
	}
	if !strings.Contains(ents[2].Error, "exec format error") {
		t.Errorf("failed item's error %q does not say why", ents[2].Error)
	}
	zr, err := os.Open(filepath.Join(dir, ents[0].Trace))
	if err != nil {
		t.Fatal(err)
	}
	gz, _ := gzip.NewReader(zr)
	b, _ := io.ReadAll(gz)
	zr.Close()
	if !strings.Contains(string(b), "shadow") {
		t.Errorf("trace file holds %q", b)
	}
	if len(lines) != 3 || !strings.Contains(lines[2], "3/3 finished (1 failed") {
		t.Errorf("progress lines %q", lines)
	}
	idx, err := ReadIndex(dir)
	if err != nil || len(idx) != 3 {
		t.Fatalf("index: %v, %d entries", err, len(idx))
	}
	if sk, err := os.ReadFile(filepath.Join(dir, SkippedFile)); err != nil || !strings.Contains(string(sk), "needs the network") {
		t.Errorf("skipped file: %v %s", err, sk)
	}

	// A rerun reuses everything (the failed item too, unless asked).
	before := c.submits
	if _, err := Build(context.Background(), c, testManifest(), dir, BuildOptions{Poll: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if c.submits != before {
		t.Errorf("rerun submitted %d jobs", c.submits-before)
	}
	if _, err := Build(context.Background(), c, testManifest(), dir, BuildOptions{Poll: time.Millisecond, RetryFailed: true}); err != nil {
		t.Fatal(err)
	}
	if c.submits != before+1 {
		t.Errorf("retry submitted %d jobs, want 1", c.submits-before)
	}
	// A changed script runs again.
	m := testManifest()
	m.Items[1].Script += "ls /etc\n"
	before = c.submits
	if _, err := Build(context.Background(), c, m, dir, BuildOptions{Poll: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if c.submits != before+1 {
		t.Errorf("changed item: %d submissions, want 1", c.submits-before)
	}
}

func TestBuildInterruptedResumesSubmittedJobs(t *testing.T) {
	dir := t.TempDir()
	c := newFake()
	c.stuck = true
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := Build(ctx, c, testManifest(), dir, BuildOptions{Parallel: 3, Poll: time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "resume") {
		t.Fatalf("interrupted build: %v", err)
	}
	idx, _ := ReadIndex(dir)
	submitted := 0
	for _, e := range idx {
		if e.Status == StatusSubmitted && e.JobID != "" {
			submitted++
		}
	}
	if submitted != 2 { // the third failed at once
		t.Fatalf("%d entries submitted in the index, want 2: %+v", submitted, idx)
	}
	before := c.submits
	c.release()
	ents, err := Build(context.Background(), c, testManifest(), dir, BuildOptions{Poll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if c.submits != before {
		t.Errorf("resume submitted %d new jobs instead of watching the old ones", c.submits-before)
	}
	if ents[0].Status != StatusDone || ents[1].Status != StatusDone {
		t.Errorf("after resume: %+v", ents)
	}
}

func TestBuildStopsWhenSubmissionsAreRefused(t *testing.T) {
	c := newFake()
	c.refuseAt = 1
	_, err := Build(context.Background(), c, testManifest(), t.TempDir(), BuildOptions{Poll: time.Millisecond})
	if !errors.Is(err, ErrBuild) || !strings.Contains(err.Error(), "queue full") {
		t.Fatalf("got %v", err)
	}
}

func TestManifestErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	for name, c := range map[string]struct{ yaml, want string }{
		"empty":     {"items: []\n", "no items"},
		"dup":       {"items:\n- {id: a, label: benign, group: g, source: s, name: n, script: \"#!/bin/sh\"}\n- {id: a, label: benign, group: g, source: s, name: n, script: \"#!/bin/sh\"}\n", "duplicate id"},
		"dotdot":    {"items:\n- {id: a/../b, label: benign, group: g, source: s, name: n, script: \"#!/bin/sh\"}\n", "parts between slashes"},
		"technique": {"items:\n- {id: a, label: malware, group: shadow, source: s, name: n, script: \"#!/bin/sh\"}\n", "ATT&CK technique"},
		"shebang":   {"items:\n- {id: a, label: benign, group: g, source: s, name: n, script: \"ls\"}\n", "shebang"},
		"yaml":      {"items: [\n", "yaml"},
	} {
		_, err := Load(write(name+".yaml", c.yaml))
		if !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
	}
	m, err := Load(write("missing.yaml", "items:\n- {id: a, label: benign, group: g, source: s, name: n, file: nothere}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(context.Background(), newFake(), m, t.TempDir(), BuildOptions{}); !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), "nothere") {
		t.Errorf("missing file: %v", err)
	}
}
