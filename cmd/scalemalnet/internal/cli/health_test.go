package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// TestHealthDegradedExitAndReasons: a degraded health exits 1 (text and
// JSON) and the text form prints each reason; ok exits 0.
func TestHealthDegradedExitAndReasons(t *testing.T) {
	h := newHarness(t)
	if code, out, _ := h.run("health"); code != 0 || strings.Contains(out, "degraded") {
		t.Fatalf("ok health: %d %s", code, out)
	}
	h.fake.HealthVal = api.Health{Status: "degraded", Version: "test", SlotsTotal: 1, Queued: 2,
		ReloadError: "line 3: unknown key", Reasons: []string{
			"configuration reload failed (running configuration kept): line 3: unknown key",
			"2 queued jobs cannot start: no slot has tag gpu"}}
	code, out, _ := h.run("health")
	if code != ExitFailure {
		t.Fatalf("degraded health exit %d, want %d", code, ExitFailure)
	}
	for _, want := range []string{"Status      degraded", "  degraded: configuration reload failed (running configuration kept): line 3: unknown key",
		"  degraded: 2 queued jobs cannot start: no slot has tag gpu"} {
		if !strings.Contains(out, want) {
			t.Errorf("health text lacks %q:\n%s", want, out)
		}
	}
	if code, out, _ := h.run("health", "--json"); code != ExitFailure || !strings.Contains(out, `"reasons"`) {
		t.Fatalf("degraded health --json: %d %s", code, out)
	}
	// The one list with kinds, when the orchestrator sends it.
	h.fake.HealthVal = api.Health{Status: "degraded", Problems: []api.Problem{{Kind: api.ProblemPlugin, Message: "yara: failed: EOF"},
		{Kind: api.ProblemQueue, Message: "1 queued job cannot start: no slot has tag arm"}}}
	if code, out, _ := h.run("health"); code != ExitFailure || !strings.Contains(out, "  degraded: plugin: yara: failed: EOF") ||
		!strings.Contains(out, "  degraded: queue: 1 queued job cannot start: no slot has tag arm") {
		t.Fatalf("problems with kinds: %d %s", code, out)
	}
	// An orchestrator that sends no reasons still gets its reload error printed.
	h.fake.HealthVal = api.Health{Status: "degraded", ReloadError: "bad file"}
	if code, out, _ := h.run("health"); code != ExitFailure || !strings.Contains(out, "degraded: configuration reload failed: bad file") {
		t.Fatalf("old-style degraded: %d %s", code, out)
	}
}

// TestSubmitTagAndWaiting: --tag reaches the job options (sorted, no
// repeats) and status prints why a queued job waits.
func TestSubmitTagAndWaiting(t *testing.T) {
	h := newHarness(t)
	p := writeSample(t, "x")
	code, out, errOut := h.run("submit", p, "--tag", "win10", "--tag", "gpu", "--tag", "gpu")
	if code != 0 {
		t.Fatalf("submit --tag: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	j, err := h.fake.Job(context.Background(), id)
	if err != nil || strings.Join(j.Options.Tags, ",") != "gpu,win10" {
		t.Fatalf("job tags %q %v, want gpu,win10", j.Options.Tags, err)
	}
	if code, _, errOut := h.run("submit", p, "--tag", "a,b"); code != 1 || !strings.Contains(errOut, "tag") {
		t.Fatalf("tag with a comma: %d %s", code, errOut)
	}
	h.fake.SetWaiting(id, "no slot has tag gpu")
	code, out, _ = h.run("status", id)
	if code != 0 || !strings.Contains(out, "Waiting   queued: no slot has tag gpu") || !strings.Contains(out, "tags gpu,win10") {
		t.Fatalf("status of a waiting job: %d %s", code, out)
	}
	_ = jobs.Queued
}

// TestUnauthorizedNamesAddress: with only the data directory set, a
// rejected token names the address the CLI tried, in the error and the
// hint.
func TestUnauthorizedNamesAddress(t *testing.T) {
	h := newHarness(t)
	delete(h.env, defaults.EnvToken)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("another-instance-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.env[defaults.EnvDataDir] = dir
	code, _, errOut := h.run("health")
	if code != ExitFailure || !strings.Contains(errOut, "bearer token at "+h.srv.URL+"\n") ||
		!strings.Contains(errOut, "orchestrator at "+h.srv.URL+";") || !strings.Contains(errOut, "$"+defaults.EnvAddr) {
		t.Fatalf("wrong token: %d %q", code, errOut)
	}
}
