package builtin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/sdk"
)

func fdp(n int) *int { return &n }

// reverseShell is the trace of a shell whose stdio became a connected socket.
func reverseShell() *trace.Trace {
	return &trace.Trace{Windows: []trace.Window{{Index: 0, End: 1e9, Counts: map[string]int{"socket": 1, "connect": 1, "dup2": 2, "execve": 1}, Events: []trace.Event{
		{T: 1, PID: 7, Name: "socket", Ret: 3},
		{T: 2, PID: 7, Name: "connect", FD: fdp(3), Addr: "inet 10.0.2.2:4444", Ret: 0},
		{T: 3, PID: 7, Name: "dup2", FD: fdp(3), Ret: 0},
		{T: 4, PID: 7, Name: "dup2", FD: fdp(3), Ret: 1},
		{T: 5, PID: 7, Name: "execve", Path: "/bin/sh", Argv: []string{"sh", "-i"}},
	}}}, Summary: trace.Summary{Outcome: trace.OutcomeExited, Processes: []trace.Process{{PID: 7, Exe: "/bin/sh"}}}}
}

func benignRun() *trace.Trace {
	return &trace.Trace{Windows: []trace.Window{{Index: 0, End: 1e9, Counts: map[string]int{"openat": 1, "write": 1}, Events: []trace.Event{
		{T: 1, PID: 7, Name: "openat", Path: "/etc/hostname", Flags: "O_RDONLY", Ret: 3},
		{T: 2, PID: 7, Name: "write", FD: fdp(1), Size: 5, Ret: 5},
	}}}, Summary: trace.Summary{Outcome: trace.OutcomeExited, Processes: []trace.Process{{PID: 7, Exe: "/bin/cat"}}}}
}

func TestSignaturesFeaturizerAndClassifier(t *testing.T) {
	fz := sdk.NewFeaturizerHarness(t, newSignatures())
	cl := sdk.NewClassifierHarness(t, newSigClassifier())
	p := func(tr *trace.Trace) (plugins.Vote, []features.Match) {
		t.Helper()
		sets, err := fz.Featurize(plugins.FeaturizeInput{TraceGz: gz(t, tr)})
		if err != nil || len(sets) != 1 || sets[0].Name != SignatureSet {
			t.Fatalf("featurize: %v %+v", err, sets)
		}
		ms, err := features.DecodeMatches(sets[0])
		if err != nil {
			t.Fatal(err)
		}
		v, err := cl.Classify(plugins.Sample{}, sets)
		if err != nil {
			t.Fatal(err)
		}
		return v, ms
	}
	v, ms := p(reverseShell())
	if len(ms) == 0 || ms[0].ID != "socket-shell" || ms[0].Severity != 5 || len(ms[0].Evidence) == 0 ||
		!strings.Contains(ms[0].Evidence[0], "inet 10.0.2.2:4444") {
		t.Fatalf("reverse shell matches: %+v", ms)
	}
	if v.Label != "malware" || v.Scores[1].Score < 0.9 {
		t.Fatalf("reverse shell vote: %+v", v)
	}
	v, ms = p(benignRun())
	if len(ms) != 0 || v.Label != "benign" {
		t.Fatalf("benign run: %+v %+v", ms, v)
	}
	v, _ = p(&trace.Trace{Summary: trace.Summary{Outcome: trace.OutcomeError}})
	if !v.Abstained {
		t.Fatalf("empty trace: %+v, want an abstention", v)
	}
}

// A configured rules directory replaces the shipped rules; a bad one
// refuses the plugin with the file and line.
func TestSignaturesRulesDir(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mine.yaml"), []byte(`rules:
  - id: reads-hostname
    description: reads /etc/hostname
    severity: low
    techniques: [T1082]
    match:
      any:
        - calls: [openat]
          path: /etc/hostname
`), 0o600)
	fz := sdk.NewFeaturizerHarness(t, newSignatures())
	if err := fz.Configure(`{"rules_dir": "` + dir + `"}`); err != nil {
		t.Fatal(err)
	}
	sets, err := fz.Featurize(plugins.FeaturizeInput{TraceGz: gz(t, benignRun())})
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := features.DecodeMatches(sets[0])
	if len(ms) != 1 || ms[0].ID != "reads-hostname" || sets[0].Meta["rules"] != "1" {
		t.Fatalf("own rules: %+v %v", ms, sets[0].Meta)
	}
	os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("rules:\n  - id: x\n    severity: loud\n"), 0o600)
	err = fz.Configure(`{"rules_dir": "` + dir + `"}`)
	if err == nil || !strings.Contains(err.Error(), "broken.yaml:2") {
		t.Fatalf("broken rules dir: %v, want broken.yaml:2", err)
	}
	if err := fz.Configure(`{"rules_dir": "` + filepath.Join(dir, "none") + `"}`); err == nil {
		t.Fatal("missing rules dir accepted")
	}
}
