package vm_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/internal/vmtest"
	"github.com/scalemalnet/scalemalnet/orchestrator/agentclient"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// BenchmarkGuests compares the Debian guest (root filesystem with Wine)
// with the busybox-only guest of the same image, in the same run, on one
// slot each: restore of the clean state to agent ready, the overhead of one
// analysis (restore, handshake, clock, push, run, destroy, less the
// sample's own run time), and for the Debian guest, restore to the first
// Windows API call of a Windows program. Medians over b.N rounds:
//
//	go test ./orchestrator/vm -run '^$' -bench Guests -benchtime 5x
func BenchmarkGuests(b *testing.B) {
	imageDir, samplesDir := vmtest.Need(b)
	img, err := vm.LoadImage(imageDir)
	if err != nil {
		b.Fatal(err)
	}
	if img.RootFS == "" {
		b.Fatal("the image has no root filesystem: build it with `make image`")
	}
	linux, err := os.ReadFile(filepath.Join(samplesDir, "benign-reader"))
	if err != nil {
		b.Fatal(err)
	}
	win := windowsSample(samplesDir)
	ctx := context.Background()
	if benchHV == nil {
		if benchHV, err = vm.OpenLibvirt(ctx, "qemu:///system"); err != nil {
			b.Fatal(err)
		}
	}
	hv := benchHV
	accel, _ := vm.DetectAccel("auto")

	variants := []struct {
		name string
		img  vm.Image
		mem  uint
	}{
		{"busybox", img.WithoutRootFS(), 256},
		{"debian", img, 1024},
	}
	for _, v := range variants {
		// The testing package calls a benchmark more than once (b.N 1,
		// then the -benchtime count): each slot's clean state is made once.
		slot := benchSlots[v.name]
		if slot == nil {
			dir, err := os.MkdirTemp("", "smn-bench-")
			if err != nil {
				b.Fatal(err)
			}
			sum := sha256.Sum256([]byte(dir))
			name := "smn-bench-" + v.name + "-" + hex.EncodeToString(sum[:4])
			spec := vm.Spec{Name: name, UUID: vm.StableUUID(name), Accel: accel, MemoryMiB: v.mem, VCPUs: 1, Image: v.img,
				ChannelPath: filepath.Join(dir, "agent.sock"), ConsolePath: filepath.Join(dir, "console.log")}
			if slot, err = vm.NewSlot(v.name, spec, hv, dir, slog.New(slog.DiscardHandler)); err != nil {
				b.Fatal(err)
			}
			benchDirs = append(benchDirs, dir)
			cs, err := slot.Prepare(ctx, benchProbe)
			if err != nil {
				b.Fatalf("%s: %v", v.name, err)
			}
			b.Logf("%s: cold boot to agent ready %s, saved state %d MiB", v.name, cs.BootTime.Round(time.Millisecond), cs.SaveSize>>20)
			benchSlots[v.name] = slot
		}
		var ready, overhead, firstAPI []time.Duration
		for i := 0; i < b.N; i++ {
			r, o, _ := analyse(b, slot, linux, "benign-reader", false)
			ready, overhead = append(ready, r), append(overhead, o)
			if v.name == "debian" && win != nil {
				_, _, f := analyse(b, slot, win, "sample.exe", true)
				firstAPI = append(firstAPI, f)
			}
		}
		b.ReportMetric(ms(median(ready)), v.name+"-restore-ready-ms")
		b.ReportMetric(ms(median(overhead)), v.name+"-overhead-ms")
		if len(firstAPI) > 0 {
			b.ReportMetric(ms(median(firstAPI)), v.name+"-restore-first-api-ms")
		}
	}
}

// benchSlots keeps each variant's slot across the benchmark's calls.
var (
	benchSlots = map[string]*vm.Slot{}
	benchDirs  []string
	benchHV    *vm.Libvirt
)

// TestMain removes the benchmark's slots (VMs, saved states) at the end.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, s := range benchSlots {
		s.Destroy(context.Background())
	}
	for _, d := range benchDirs {
		os.RemoveAll(d)
	}
	if benchHV != nil {
		benchHV.Close()
	}
	os.Exit(code)
}

func windowsSample(samplesDir string) []byte {
	m, _ := filepath.Glob(filepath.Join(samplesDir, "windows", "*.exe"))
	sort.Strings(m)
	for _, p := range m {
		if b, err := os.ReadFile(p); err == nil {
			return b
		}
	}
	return nil
}

func benchProbe(ctx context.Context, conn net.Conn) (vm.AgentInfo, error) {
	// A cold boot's agent answers after Wine's warm-up: minutes under TCG.
	sess, hello, err := agentclient.Handshake(ctx, conn, agentclient.WithHandshakeTimeout(8*time.Minute))
	if err != nil {
		return vm.AgentInfo{}, err
	}
	sess.Bye()
	return vm.AgentInfo{BootID: hello.BootID, Runs: hello.Runs, Kernel: hello.Kernel, AgentVersion: hello.AgentVersion}, nil
}

// analyse runs one sample through the slot as the pipeline does, and
// returns restore→agent ready, the overhead (wall time less the run's own
// duration) and, with wantAPI, restore→first Windows API call.
func analyse(b *testing.B, slot *vm.Slot, sample []byte, name string, wantAPI bool) (ready, overhead, firstAPI time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	if err := slot.Restore(ctx); err != nil {
		b.Fatal(err)
	}
	conn, err := slot.DialAgent(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	sess, hello, err := agentclient.Handshake(ctx, conn)
	if err != nil {
		b.Fatal(err)
	}
	if err := slot.Verify(vm.AgentInfo{BootID: hello.BootID, Runs: hello.Runs}); err != nil {
		b.Fatal(err)
	}
	ready = time.Since(t0)
	if err := sess.SetTime(ctx, time.Now()); err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256(sample)
	if err := sess.PushSample(ctx, name, bytes.NewReader(sample), int64(len(sample)), hex.EncodeToString(sum[:])); err != nil {
		b.Fatal(err)
	}
	runStart := time.Since(t0)
	var first int64 = -1
	s, err := sess.Run(ctx, proto.Run{TimeoutMs: 60_000, WindowMs: 1000, MaxEvents: 100_000, MaxWindows: 600}, func(w trace.Window) error {
		if first < 0 && len(w.API) > 0 {
			first = w.API[0].T
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if s.Outcome != trace.OutcomeExited {
		b.Fatalf("%s: outcome %s: %s %s", name, s.Outcome, s.Error, s.Stdout)
	}
	sess.Bye()
	if err := slot.Destroy(ctx); err != nil {
		b.Fatal(err)
	}
	overhead = time.Since(t0) - time.Duration(s.DurationNs)
	if wantAPI {
		if first < 0 {
			b.Fatalf("%s: no Windows API call recorded", name)
		}
		firstAPI = runStart + time.Duration(first)
	}
	return ready, overhead, firstAPI
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
