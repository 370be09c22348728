package builtin

import (
	"errors"
	"testing"

	"github.com/scalemalnet/scalemalnet/featurizers/argfeat"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/plugins"
)

// TestTraceArgs runs the trace-args featurizer through a real gRPC
// connection: the set it returns has the documented schema, and its values
// tell a write to /etc/passwd (and a socket on a shell's stdin) from a read.
func TestTraceArgs(t *testing.T) {
	fd := func(n int) *int { return &n }
	evil := &trace.Trace{Windows: []trace.Window{{Index: 0, End: 1e9, Counts: map[string]int{"openat": 2, "socket": 1, "dup2": 1, "execve": 2},
		Events: []trace.Event{
			{T: 0, PID: 1, Name: "execve", Path: "/tmp/smn/sample", Argv: []string{"/tmp/smn/sample"}}, // the agent starts the sample
			{T: 1, PID: 1, Name: "openat", Path: "/etc/passwd", Flags: "O_WRONLY|O_APPEND", Ret: 3},
			{T: 2, PID: 1, Name: "openat", Path: "/etc/hostname", Flags: "O_RDONLY", Ret: 4},
			{T: 3, PID: 1, Name: "socket", Ret: 5},
			{T: 4, PID: 1, Name: "dup2", FD: fd(5), Ret: 0},
			{T: 5, PID: 1, Name: "execve", Path: "/bin/sh", Argv: []string{"sh", "-i"}},
		}}}, Summary: trace.Summary{Outcome: trace.OutcomeExited, Events: 6, Kept: 6}}
	benign := &trace.Trace{Windows: []trace.Window{{Index: 0, End: 1e9, Counts: map[string]int{"openat": 1},
		Events: []trace.Event{{T: 1, PID: 1, Name: "openat", Path: "/etc/passwd", Flags: "O_RDONLY|O_CLOEXEC", Ret: 3}}}},
		Summary: trace.Summary{Outcome: trace.OutcomeExited, Events: 1, Kept: 1}}
	h := harness(t, "trace-args")
	value := func(tr *trace.Trace, name string) float64 {
		t.Helper()
		sets, err := h.Featurize(plugins.FeaturizeInput{TraceGz: gz(t, tr)})
		if err != nil {
			t.Fatal(err)
		}
		if len(sets) != 1 || sets[0].Name != "trace-args" || sets[0].Version != argfeat.Version || len(sets[0].Schema) != len(argfeat.Schema()) {
			t.Fatalf("sets: %d, first %q %q with %d columns", len(sets), sets[0].Name, sets[0].Version, len(sets[0].Schema))
		}
		for i, n := range sets[0].Schema {
			if n == name {
				return sets[0].Vector[i]
			}
		}
		t.Fatalf("no column %q", name)
		return 0
	}
	if v := value(evil, "path.passwd.write"); v != argfeat.Log(1) {
		t.Errorf("evil path.passwd.write = %v", v)
	}
	if v := value(evil, "net.socket_shell"); v != 1 {
		t.Errorf("evil net.socket_shell = %v", v)
	}
	if v := value(benign, "path.passwd.write"); v != 0 {
		t.Errorf("benign path.passwd.write = %v", v)
	}
	if v := value(benign, "path.passwd.read"); v != argfeat.Log(1) {
		t.Errorf("benign path.passwd.read = %v", v)
	}
	if _, err := h.Featurize(plugins.FeaturizeInput{}); !errors.Is(err, plugins.ErrNotApplicable) {
		t.Fatalf("no trace: %v", err)
	}
	if _, err := h.Featurize(plugins.FeaturizeInput{TraceGz: []byte("garbage")}); err == nil {
		t.Fatal("garbage trace accepted")
	}
	if err := h.Configure(`{"x": 1}`); err == nil {
		t.Fatal("configuration accepted by a featurizer that takes none")
	}
}
