package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

func TestSubmitNetwork(t *testing.T) {
	h := newHarness(t)
	p := writeSample(t, "\x7fELF...")
	code, out, errOut := h.run("submit", p, "--network", "user")
	if code != 0 {
		t.Fatalf("submit --network user: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	j, err := h.fake.Job(context.Background(), id)
	if err != nil || j.Options.Network != jobs.NetworkUser {
		t.Fatalf("job %+v %v", j, err)
	}
	if code, out, _ := h.run("status", id); code != 0 || !strings.Contains(out, ", network user") {
		t.Fatalf("status: %d %s", code, out)
	}
	code, out, _ = h.run("submit", p, "--network", "none")
	if j, err := h.fake.Job(context.Background(), strings.TrimSpace(out)); code != 0 || err != nil || j.Options.Network != jobs.NetworkNone {
		t.Fatalf("submit --network none: %d %+v %v", code, j, err)
	}
	if code, _, e := h.run("submit", p, "--network", "bridge"); code != 1 || !strings.Contains(e, "network") {
		t.Fatalf("submit --network bridge: %d %s", code, e)
	}
	if code, _, e := h.run("submit", "-h"); code != 0 || !strings.Contains(e, "-network") {
		t.Fatalf("submit -h lacks --network: %s", e)
	}
}

// TestPcapCommand: `pcap ID -o FILE` saves the capture; a job without one
// fails with the server's reason.
func TestPcapCommand(t *testing.T) {
	h := newHarness(t)
	_, out, _ := h.run("submit", writeSample(t, "x"), "--network", "isolated")
	id := strings.TrimSpace(out)
	h.fake.Finish(id, &report.Report{JobID: id}, []byte("gz"))
	dst := filepath.Join(t.TempDir(), "t.pcap")
	if code, _, errOut := h.run("pcap", id, "-o", dst); code == 0 {
		t.Fatalf("pcap of a job without one: exit 0 (%s)", errOut)
	}
	h.fake.SetPcap(id, []byte("\xd4\xc3\xb2\xa1pcap"))
	code, _, errOut := h.run("pcap", id, "-o", dst)
	if b, _ := os.ReadFile(dst); code != 0 || string(b) != "\xd4\xc3\xb2\xa1pcap" || !strings.Contains(errOut, "libpcap") {
		t.Fatalf("pcap: %d %s %q", code, errOut, b)
	}
}
