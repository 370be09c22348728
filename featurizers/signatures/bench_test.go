package signatures

import (
	"context"
	"fmt"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// benchTrace is a run of n calls shaped like a busy program: opens, reads
// and writes, some execs of shell commands, connects.
func benchTrace(n int) *trace.Trace {
	w := trace.Window{Index: 0, End: 1 << 60}
	for i := 0; i < n; i++ {
		fd := 3 + i%5
		var e trace.Event
		switch i % 10 {
		case 0, 1:
			e = trace.Event{Name: "openat", Path: fmt.Sprintf("/usr/lib/x86_64-linux-gnu/lib%d.so", i%300), Flags: "O_RDONLY|O_CLOEXEC", Ret: int64(fd)}
		case 2:
			e = trace.Event{Name: "openat", Path: fmt.Sprintf("/tmp/out%d", i%50), Flags: "O_WRONLY|O_CREAT|O_TRUNC", Ret: int64(fd)}
		case 3:
			e = trace.Event{Name: "execve", Path: "/usr/bin/grep", Argv: []string{"grep", "-r", "needle", fmt.Sprintf("/srv/d%d", i%20)}}
		case 4:
			e = trace.Event{Name: "connect", FD: &fd, Addr: fmt.Sprintf("inet 10.0.%d.%d:443", i%7, i%200), Ret: -111, Err: "ECONNREFUSED"}
		default:
			e = trace.Event{Name: "read", FD: &fd, Size: 4096, Ret: 4096}
		}
		e.T, e.PID = int64(i), 100+i%4
		w.Events = append(w.Events, e)
	}
	return &trace.Trace{Windows: []trace.Window{w}}
}

const benchCalls = 20_000

// BenchmarkMatch: the shipped rules over 20,000 calls, beside a walk of
// the same events (trace.Events, the part every consumer pays) as the
// baseline: `go test -bench Match -run '^$' ./featurizers/signatures/`.
func BenchmarkMatch(b *testing.B) {
	tr := benchTrace(benchCalls)
	set, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("baseline-walk", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			n := 0
			for _, e := range tr.Events() {
				n += len(e.Name)
			}
			_ = n
		}
		b.ReportMetric(float64(benchCalls*b.N)/b.Elapsed().Seconds(), "calls/s")
	})
	b.Run("shipped-rules", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := set.Match(context.Background(), tr); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(benchCalls*b.N)/b.Elapsed().Seconds(), "calls/s")
	})
}
