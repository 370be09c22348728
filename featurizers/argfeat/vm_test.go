package argfeat_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/featurizers/argfeat"
	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/internal/vmtest"
	"github.com/scalemalnet/scalemalnet/orchestrator/agentclient"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// TestRealTraces runs bundled samples in a real VM (one slot, the Debian
// guest, Wine lazy) exactly as the pipeline does (restore the clean state,
// push, run under the tracer, destroy) and checks the argument features of
// their traces. With ARGFEAT_TRACE_DIR set, each trace is also written there
// (gzip JSON lines) for inspection.
//
//	go test ./featurizers/argfeat -run RealTraces -v
func TestRealTraces(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	samples := []string{"test-adduser", "test-revshell", "test-miner", "benign-reader"}
	for _, s := range samples {
		if _, err := os.Stat(filepath.Join(samplesDir, s)); err != nil {
			t.Fatalf("sample missing (%v): run `make samples`", err)
		}
	}
	checkReal(t, runSamples(t, imageDir, samplesDir, samples))
}

// checkReal asserts the argument features of the traces of test-adduser,
// test-revshell, test-miner and benign-reader.
func checkReal(t *testing.T, traces map[string]*trace.Trace) {
	t.Helper()
	get := func(sample, feature string) float64 {
		t.Helper()
		v, err := argfeat.Extract(traces[sample]).Get(feature)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	type check struct {
		sample, feature string
		positive        bool
	}
	for _, c := range []check{
		{"test-adduser", "path.passwd.write", true},
		{"test-adduser", "path.shadow.write", true},
		{"test-adduser", "path.shadow.read", true},
		{"benign-reader", "path.passwd.write", false},
		{"benign-reader", "path.shadow.write", false},
		{"benign-reader", "path.shadow.read", false},
		{"benign-reader", "path.passwd.read", true},
		{"benign-reader", "net.connect", false},
		{"benign-reader", "exec.shell", false},
		{"benign-reader", "exec.total", false},    // the agent's exec of the sample is not counted
		{"benign-reader", "path.tmp.exec", false}, // (it runs from /tmp/smn)
		{"benign-reader", "path.tmp.read", true},  // it lists /tmp
		{"test-adduser", "exec.total", false},
		{"test-revshell", "net.socket_stdio", true},
		{"test-revshell", "net.socket_shell", true},
		{"test-revshell", "exec.shell", true},
		{"test-revshell", "exec.recon_tool", true}, // the listener sends id and uname -a
		{"test-revshell", "net.connect.loopback", true},
		{"test-revshell", "net.connect.remote", false},
		{"test-revshell", "net.listen", true},
		{"test-revshell", "net.connect_failed", false}, // id's nscd probes (unix) are not counted
		{"test-revshell", "path.passwd.write", false},
		{"test-miner", "net.connect.loopback", true},
		{"test-miner", "net.connect_failed", true},
		{"test-miner", "net.socket_stdio", false},
		{"test-miner", "exec.shell", false},
		{"test-miner", "path.passwd.write", false},
	} {
		v := get(c.sample, c.feature)
		if (v > 0) != c.positive {
			t.Errorf("%s: %s = %v, want positive=%v", c.sample, c.feature, v, c.positive)
		}
	}
	// The miner retries its pool about every 200 ms for 3 s (under load,
	// its hashing thread leaves the main one fewer rounds: 4 to 6 seen).
	if n := get("test-miner", "net.connect"); n < argfeat.Log(2) {
		t.Errorf("test-miner: net.connect = %v, want at least log1p(2)", n)
	}
	if a, b := get("test-miner", "net.connect"), get("test-miner", "net.connect_failed"); a != b {
		t.Errorf("test-miner: %v connects but %v failed (nothing listens)", a, b)
	}
}

// runSamples analyses each sample in a fresh restore of one slot's clean
// state and returns the traces by sample name.
func runSamples(t *testing.T, imageDir, samplesDir string, samples []string) map[string]*trace.Trace {
	t.Helper()
	img, err := vm.LoadImage(imageDir)
	if err != nil {
		t.Fatal(err)
	}
	if img.RootFS == "" {
		t.Fatal("the image has no root filesystem: build it with `make image`")
	}
	if img, err = img.WithWine(vm.WineLazy); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	hv, err := vm.OpenLibvirt(ctx, vmtest.URI)
	if err != nil {
		t.Fatal(err)
	}
	defer hv.Close()
	dir := t.TempDir()
	sum := sha256.Sum256([]byte(dir))
	name := "smn-argfeat-" + hex.EncodeToString(sum[:4])
	accel, _ := vm.DetectAccel("auto")
	spec := vm.Spec{Name: name, UUID: vm.StableUUID(name), Accel: accel, MemoryMiB: 1024, VCPUs: 1, Image: img,
		ChannelPath: filepath.Join(dir, "agent.sock"), ConsolePath: filepath.Join(dir, "console.log")}
	slot, err := vm.NewSlot("argfeat", spec, hv, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer vmtest.DestroyDomains(name)
	defer slot.Destroy(context.Background())
	probe := func(ctx context.Context, conn net.Conn) (vm.AgentInfo, error) {
		sess, hello, err := agentclient.Handshake(ctx, conn, agentclient.WithHandshakeTimeout(5*time.Minute))
		if err != nil {
			return vm.AgentInfo{}, err
		}
		sess.Bye()
		return vm.AgentInfo{BootID: hello.BootID, Runs: hello.Runs, Kernel: hello.Kernel, AgentVersion: hello.AgentVersion}, nil
	}
	// Under heavy load a TCG cold boot sometimes panics in the kernel's
	// IO-APIC timer check ("setup_IO_APIC"): boot again, as the pool does.
	for attempt := 1; ; attempt++ {
		_, err := slot.Prepare(ctx, probe)
		if err == nil {
			break
		}
		if attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("cold boot attempt %d: %.300s", attempt, err)
	}
	out := map[string]*trace.Trace{}
	for _, s := range samples {
		b, err := os.ReadFile(filepath.Join(samplesDir, s))
		if err != nil {
			t.Fatal(err)
		}
		tr := runOne(ctx, t, slot, s, b)
		out[s] = tr
		t.Logf("%s: outcome %s, %d events (%d kept), %d processes", s, tr.Summary.Outcome, tr.Summary.Events, tr.Summary.Kept, len(tr.Summary.Processes))
		if d := os.Getenv("ARGFEAT_TRACE_DIR"); d != "" {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			if err := tr.WriteJSONL(zw); err != nil {
				t.Fatal(err)
			}
			zw.Close()
			if err := os.WriteFile(filepath.Join(d, s+".jsonl.gz"), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

func runOne(ctx context.Context, t *testing.T, slot *vm.Slot, name string, sample []byte) *trace.Trace {
	t.Helper()
	if err := slot.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	defer slot.Destroy(context.WithoutCancel(ctx))
	conn, err := slot.DialAgent(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sess, hello, err := agentclient.Handshake(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if err := slot.Verify(vm.AgentInfo{BootID: hello.BootID, Runs: hello.Runs}); err != nil {
		t.Fatal(err)
	}
	if err := sess.SetTime(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(sample)
	if err := sess.PushSample(ctx, name, bytes.NewReader(sample), int64(len(sample)), hex.EncodeToString(sum[:])); err != nil {
		t.Fatal(err)
	}
	tr := &trace.Trace{}
	s, err := sess.Run(ctx, proto.Run{TimeoutMs: 60_000, WindowMs: 1000, MaxEvents: 100_000, MaxWindows: 600}, func(w trace.Window) error {
		tr.Windows = append(tr.Windows, w)
		return nil
	})
	if err != nil {
		t.Fatalf("%s: run: %v", name, err)
	}
	sess.Bye()
	tr.Summary = s
	if s.Outcome != trace.OutcomeExited {
		t.Fatalf("%s: outcome %s (%s): %s", name, s.Outcome, s.Error, s.Stdout)
	}
	// Store and read back as the orchestrator does (trace.ReadJSONL applies
	// the host's bounds to what the guest sent).
	var buf bytes.Buffer
	if err := tr.WriteJSONL(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := trace.ReadJSONL(&buf)
	if err != nil {
		t.Fatalf("%s: read back: %v", name, err)
	}
	return back
}
