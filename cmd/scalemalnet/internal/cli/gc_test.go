package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
)

func TestGCCommand(t *testing.T) {
	h := newHarness(t)
	h.fake.GCReport = api.GCReport{JobsExpired: 2, JobsEvicted: 1, SamplesDeleted: 2, BytesFreed: 3 << 20,
		BytesBefore: 10 << 20, BytesAfter: 7 << 20, Compacted: true, DBBytesBefore: 4 << 20, DBBytesAfter: 1 << 20}
	code, out, errOut := h.run("gc", "--max-age", "720h", "--max-size", "50GiB", "--compact")
	if code != 0 || !strings.Contains(out, "deleted 3 jobs (2 past max age, 1 for size), 2 samples") ||
		!strings.Contains(out, "freed 3.0 MiB; store 10.0 MiB -> 7.0 MiB") || !strings.Contains(out, "database compacted: 4.0 MiB -> 1.0 MiB") {
		t.Fatalf("gc: %d %q %q", code, out, errOut)
	}
	code, out, _ = h.run("gc", "--json")
	var rep api.GCReport
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.JobsEvicted != 1 {
		t.Fatalf("gc --json: %d %s", code, out)
	}
	calls := h.fake.GCCalls()
	if len(calls) != 2 || calls[0] != (api.Policy{MaxAge: 720 * time.Hour, MaxBytes: 50 << 30, Compact: true}) || calls[1] != (api.Policy{}) {
		t.Fatalf("calls %+v", calls)
	}
	for _, args := range [][]string{{"gc", "--max-age", "-1h"}, {"gc", "--max-size", "-5G"}, {"gc", "--max-size", "lots"}, {"gc", "extra"}} {
		if code, _, _ := h.run(args...); code != ExitUsage {
			t.Errorf("%v: exit %d", args, code)
		}
	}
	if len(h.fake.GCCalls()) != 2 {
		t.Fatal("invalid command lines reached the server")
	}
}

// TestGCDryRun: --dry-run reaches the server and the output lists what
// would be deleted, saying nothing was.
func TestGCDryRun(t *testing.T) {
	h := newHarness(t)
	h.fake.GCReport = api.GCReport{DryRun: true, JobsExpired: 2, SamplesDeleted: 1, BytesFreed: 2 << 20, JobsDeleted: []string{"job-a", "job-b"}}
	code, out, errOut := h.run("gc", "--max-age", "1s", "--dry-run")
	if code != 0 || !strings.Contains(out, "dry run: nothing deleted") || !strings.Contains(out, "would delete 2 jobs (2 past max age, 0 for size), 1 samples; would free 2.0 MiB") ||
		!strings.Contains(out, "  job-a\n  job-b\n") {
		t.Fatalf("gc --dry-run: %d %q %q", code, out, errOut)
	}
	if calls := h.fake.GCCalls(); len(calls) != 1 || calls[0] != (api.Policy{MaxAge: time.Second, DryRun: true}) {
		t.Fatalf("calls %+v", calls)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1048576": 1 << 20, "50GiB": 50 << 30, "50gib": 50 << 30, "1.5T": 3 << 39, "500MB": 500e6,
		"2K": 2048, "10 GiB": 10 << 30, "7B": 7,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "GiB", "1XB", "1e30G", "NaN"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestServeStorageFlags(t *testing.T) {
	var got ServeOptions
	run := func(args ...string) int {
		var out, errb bytes.Buffer
		return Run(context.Background(), append([]string{"serve"}, args...), Env{Stdout: &out, Stderr: &errb,
			Getenv: func(string) string { return "" },
			Serve:  func(ctx context.Context, o ServeOptions) error { got = o; return nil }})
	}
	if code := run("--retain-max-age", "720h", "--retain-max-size", "50GiB", "--min-free", "2G", "--max-artifact-size", "64MiB"); code != 0 ||
		got.RetainMaxAge != 720*time.Hour || got.RetainMaxBytes != 50<<30 || got.MinFreeBytes != 2<<30 || got.MaxArtifactBytes != 64<<20 {
		t.Fatalf("%d %+v", code, got)
	}
	if code := run("--min-free", "off"); code != 0 || got.MinFreeBytes != -1 || got.MaxArtifactBytes != 0 {
		t.Fatalf("off: %d %+v", code, got)
	}
	for _, bad := range [][]string{{"--retain-max-age", "-1h"}, {"--retain-max-size", "x"}, {"--max-artifact-size", "0"}, {"--min-free", "-1G"}} {
		if code := run(bad...); code != ExitUsage {
			t.Errorf("%v: %d", bad, code)
		}
	}
}
