package cli

import (
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

func TestCancelAndDeleteCommands(t *testing.T) {
	h := newHarness(t)
	j, err := h.fake.Submit(t.Context(), "evil.bin", strings.NewReader("x"), jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := h.run("delete", j.ID); code != ExitFailure || !strings.Contains(stderr, "queued") {
		t.Fatalf("delete of a queued job: %d %q", code, stderr)
	}
	code, out, stderr := h.run("cancel", j.ID)
	if code != ExitOK || !strings.Contains(out, "cancelled") {
		t.Fatalf("cancel: %d %q %q", code, out, stderr)
	}
	code, out, stderr = h.run("delete", j.ID)
	if code != ExitOK || !strings.Contains(out, "deleted job "+j.ID) {
		t.Fatalf("delete: %d %q %q", code, out, stderr)
	}
	if code, _, stderr := h.run("status", j.ID); code != ExitFailure || !strings.Contains(stderr, "not found") {
		t.Fatalf("status after delete: %d %q", code, stderr)
	}
	if code, _, _ := h.run("cancel"); code != ExitUsage {
		t.Fatalf("cancel without an id: %d", code)
	}
}
