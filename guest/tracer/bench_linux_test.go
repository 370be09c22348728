//go:build linux && amd64

package tracer

import (
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// benchIterations of the workload make 3 calls each (getpid, open, close):
// about 6,000 calls, well under a second at ~85 µs per traced call.
const benchIterations = 2000

// BenchmarkTracerVsStrace runs the same syscall-heavy workload natively,
// under this tracer and under strace -f -o /dev/null, and reports the
// per-run times and the tracer/strace overhead ratio.
//
//	go test -run XXX -bench TracerVsStrace -benchtime 5x ./guest/tracer
func BenchmarkTracerVsStrace(b *testing.B) {
	bin := testProgram(b, "workload")
	args := []string{"workload", strconv.Itoa(benchIterations)}
	strace, err := exec.LookPath("strace")
	if err != nil {
		b.Skip("strace not installed")
	}
	var native, traced, straced time.Duration
	var calls int
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := exec.Command(bin, args[1:]...).Run(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		sum, err := Run(context.Background(), Config{Path: bin, Args: args, Timeout: time.Minute, MaxEvents: 1 << 20},
			func(trace.Window) error { return nil })
		if err != nil || sum.Outcome != trace.OutcomeExited {
			b.Fatalf("traced run: %v %s", err, sum.Outcome)
		}
		calls = sum.Events
		t2 := time.Now()
		if out, err := exec.Command(strace, append([]string{"-f", "-o", "/dev/null", bin}, args[1:]...)...).CombinedOutput(); err != nil {
			b.Fatalf("strace: %v %s", err, out)
		}
		t3 := time.Now()
		native += t1.Sub(t0)
		traced += t2.Sub(t1)
		straced += t3.Sub(t2)
	}
	n := float64(b.N)
	b.ReportMetric(float64(native.Milliseconds())/n, "native-ms")
	b.ReportMetric(float64(traced.Milliseconds())/n, "tracer-ms")
	b.ReportMetric(float64(straced.Milliseconds())/n, "strace-ms")
	b.ReportMetric(float64(traced)/float64(straced), "tracer/strace")
	b.ReportMetric(float64(traced-native)/n/float64(calls)/1e3, "tracer-µs/call")
	b.ReportMetric(float64(straced-native)/n/float64(calls)/1e3, "strace-µs/call")
}
