package argfeat

import (
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// Builders of synthetic events. ret < 0 is an errno (-13 EACCES, ...).

func ip(n int) *int { return &n }

var errnames = map[int64]string{-1: "EPERM", -2: "ENOENT", -13: "EACCES", -111: "ECONNREFUSED", -115: "EINPROGRESS", -8: "ENOEXEC"}

func ev(pid int, name string, ret int64) trace.Event {
	e := trace.Event{PID: pid, TID: pid, Name: name, Ret: ret}
	if ret < 0 {
		e.Err = errnames[ret]
	}
	return e
}

func open(pid int, path, flags string, fd int64) trace.Event {
	e := ev(pid, "openat", fd)
	e.Path, e.Flags = path, flags
	return e
}

func rd(pid int, path string) trace.Event { return open(pid, path, "O_RDONLY|O_CLOEXEC", 3) }
func wr(pid int, path string) trace.Event { return open(pid, path, "O_WRONLY|O_CREAT|O_TRUNC", 3) }

func pathCall(pid int, name, path string, ret int64) trace.Event {
	e := ev(pid, name, ret)
	e.Path = path
	return e
}

func twoPaths(pid int, name, p1, p2 string) trace.Event {
	e := ev(pid, name, 0)
	e.Path, e.Path2 = p1, p2
	return e
}

func exec(pid int, path string, argv ...string) trace.Event {
	e := pathCall(pid, "execve", path, 0)
	e.Argv = argv
	return e
}

func fdCall(pid int, name string, fd int, ret int64) trace.Event {
	e := ev(pid, name, ret)
	e.FD = ip(fd)
	return e
}

func addrCall(pid int, name string, fd int, addr string, ret int64) trace.Event {
	e := fdCall(pid, name, fd, ret)
	e.Addr = addr
	return e
}

func fork(pid, child int) trace.Event {
	e := ev(pid, "clone", int64(child))
	e.Child = child
	return e
}

// tr makes a one-window trace of the events, with the per-name counts the
// tracer would have written.
func tr(evs ...trace.Event) *trace.Trace {
	w := trace.Window{Index: 0, End: 1e9, Counts: map[string]int{}}
	for i, e := range evs {
		e.T = int64(i)
		w.Events = append(w.Events, e)
		w.Counts[e.Name]++
	}
	return &trace.Trace{Windows: []trace.Window{w}, Summary: trace.Summary{Outcome: trace.OutcomeExited,
		Events: len(evs), Kept: len(evs), Processes: []trace.Process{{PID: 100, Exe: "/tmp/smn/sample", Threads: 1}}}}
}

// want is one expected feature value.
type want struct {
	name string
	v    float64
}

// check asserts every expected value of the vector of a trace.
func check(t *testing.T, label string, x *trace.Trace, wants ...want) {
	t.Helper()
	v := Extract(x)
	for _, w := range wants {
		got, err := v.Get(w.name)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		if d := got - w.v; d > 1e-12 || d < -1e-12 {
			t.Errorf("%s: %s = %v, want %v", label, w.name, got, w.v)
		}
	}
}

// L is log1p(n), the value of a count of n.
func L(n int) float64 { return Log(n) }
