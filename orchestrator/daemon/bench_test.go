package daemon

import (
	"context"
	"github.com/scalemalnet/scalemalnet/orchestrator/pool"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/internal/vmtest"
	"github.com/scalemalnet/scalemalnet/orchestrator/agentclient"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func reportMedian(b *testing.B, name string, ds []time.Duration) {
	b.ReportMetric(float64(median(ds).Milliseconds()), name+"-ms")
}

// BenchmarkVMLifecycle measures, as medians over b.N rounds on one slot:
// cold boot to agent ready (what making a clean state costs), restore of the
// clean state to agent ready (what every analysis costs), and destroy. Run
// with `make bench` or
//
//	go test ./orchestrator/daemon -run '^$' -bench VMLifecycle -benchtime 5x
func BenchmarkVMLifecycle(b *testing.B) {
	imageDir, _ := vmtest.Need(b)
	d, err := New(context.Background(), Config{DataDir: b.TempDir(), Slots: 1, ImageDir: imageDir, Listen: "unix:/nonexistent", Wine: vm.WineLazy})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	s := d.pool.Slots()[0]
	ctx := context.Background()
	var cold, restore, destroy []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cs, err := s.Prepare(ctx, pool.Probe)
		if err != nil {
			b.Fatal(err)
		}
		cold = append(cold, cs.BootTime)

		t0 := time.Now()
		if err := s.Restore(ctx); err != nil {
			b.Fatal(err)
		}
		conn, err := s.DialAgent(ctx)
		if err != nil {
			b.Fatal(err)
		}
		sess, hello, err := agentclient.Handshake(ctx, conn)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Verify(vm.AgentInfo{BootID: hello.BootID, Runs: hello.Runs}); err != nil {
			b.Fatal(err)
		}
		restore = append(restore, time.Since(t0))
		sess.Bye()
		conn.Close()

		t1 := time.Now()
		if err := s.Destroy(ctx); err != nil {
			b.Fatal(err)
		}
		destroy = append(destroy, time.Since(t1))
	}
	b.StopTimer()
	reportMedian(b, "coldboot", cold)
	reportMedian(b, "restore", restore)
	reportMedian(b, "destroy", destroy)
	b.Logf("accel=%s cold=%v restore=%v destroy=%v", d.accel, cold, restore, destroy)
}

// BenchmarkAnalysisOverhead measures the time an analysis costs beyond the
// sample's own execution: submit-to-done wall time minus the traced run's
// duration, as a median over b.N analyses of the benign sample.
func BenchmarkAnalysisOverhead(b *testing.B) {
	imageDir, samplesDir := vmtest.Need(b)
	td := startDaemon(b, imageDir, 1)
	sample := filepath.Join(samplesDir, "benign-reader")
	// One warm-up analysis: the slot's clean state is made on first use.
	td.analyse(b, sample, jobs.Options{Timeout: 20 * time.Second, Window: time.Second})
	var overhead, total []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		_, rep := td.analyse(b, sample, jobs.Options{Timeout: 20 * time.Second, Window: time.Second})
		wall := time.Since(t0)
		total = append(total, wall)
		overhead = append(overhead, wall-time.Duration(rep.Outcome.DurationNs))
	}
	b.StopTimer()
	reportMedian(b, "overhead", overhead)
	reportMedian(b, "total", total)
}
