package daemon

// Integration tests: real libvirt (qemu:///system), real QEMU VMs booting the
// real guest image, the real agent and tracer, a real bbolt store. `make
// test` builds the image and samples and points the tests at them through
// SCALEMALNET_IMAGE_DIR and SCALEMALNET_SAMPLES_DIR.

import (
	"compress/gzip"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/internal/vmtest"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// scalemalnetBinary builds the scalemalnet binary once per test run: the
// daemon re-executes it to serve the built-in plugins, as in production.
func scalemalnetBinary(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "smn-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "scalemalnet")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/scalemalnet/scalemalnet/cmd/scalemalnet").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build scalemalnet: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		tb.Fatal(binErr)
	}
	return binPath
}

type testDaemon struct {
	*Daemon
	cancel context.CancelFunc
	done   chan error
}

// startDaemon runs a real orchestrator with its own data directory and
// socket, so it never collides with another instance on the host.
func startDaemon(tb testing.TB, imageDir string, slots int) *testDaemon {
	tb.Helper()
	return startDaemonWith(tb, imageDir, slots, nil)
}

// startDaemonWith is startDaemon with a hook to adjust the configuration.
func startDaemonWith(tb testing.TB, imageDir string, slots int, adjust func(*Config)) *testDaemon {
	tb.Helper()
	dataDir := tb.TempDir()
	cfg := Config{
		DataDir: dataDir, Listen: "unix:" + filepath.Join(dataDir, "api.sock"),
		Slots: slots, ImageDir: imageDir, Accel: "auto", PluginBinary: scalemalnetBinary(tb), Wine: vm.WineLazy, // Linux samples only
		Logger: slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	if adjust != nil {
		adjust(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := New(ctx, cfg)
	if err != nil {
		cancel()
		tb.Fatalf("new daemon: %v", err)
	}
	td := &testDaemon{Daemon: d, cancel: cancel, done: make(chan error, 1)}
	go func() { td.done <- d.Serve(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-td.done:
			if err != nil {
				tb.Errorf("serve: %v", err)
			}
		case <-time.After(60 * time.Second):
			tb.Errorf("daemon did not stop within 60s")
		}
		if names, err := d.hv.Domains(context.Background(), d.domainPrefix()); err == nil && len(names) > 0 {
			tb.Errorf("VMs left running after shutdown: %v", names)
			for _, n := range names {
				d.hv.Destroy(context.Background(), n)
			}
		}
		d.Close()
	})
	return td
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// analyse submits a sample and waits for its job to end.
func (td *testDaemon) analyse(tb testing.TB, path string, opts jobs.Options) (jobs.Job, *report.Report) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	job, err := td.Submit(ctx, filepath.Base(path), f, opts)
	if err != nil {
		tb.Fatalf("submit %s: %v", path, err)
	}
	deadline := time.Now().Add(opts.Timeout + 5*time.Minute)
	for time.Now().Before(deadline) {
		j, err := td.Job(ctx, job.ID)
		if err != nil {
			tb.Fatal(err)
		}
		if j.State.Final() {
			if j.State != jobs.Done {
				tb.Fatalf("job %s for %s ended %s: %s", j.ID, filepath.Base(path), j.State, j.Error)
			}
			rep, err := td.Report(ctx, j.ID)
			if err != nil {
				tb.Fatalf("report: %v", err)
			}
			return j, rep
		}
		time.Sleep(200 * time.Millisecond)
	}
	tb.Fatalf("job %s did not end in time", job.ID)
	return jobs.Job{}, nil
}

func (td *testDaemon) readTrace(tb testing.TB, id string) *trace.Trace {
	rc, err := td.OpenTrace(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := trace.ReadJSONL(zr)
	if err != nil {
		tb.Fatalf("stored trace: %v", err)
	}
	return tr
}

func findProc(nodes []report.ProcessNode, f func(report.ProcessNode) bool) *report.ProcessNode {
	for i := range nodes {
		if f(nodes[i]) {
			return &nodes[i]
		}
		if p := findProc(nodes[i].Children, f); p != nil {
			return p
		}
	}
	return nil
}

// TestAnalysisEndToEnd: the forking sample runs in a real VM; its report
// shows both processes, the exec of the shell, and the trace artifact
// matches the report.
func TestAnalysisEndToEnd(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	td := startDaemon(t, imageDir, 1)
	job, rep := td.analyse(t, filepath.Join(samplesDir, "fork-exec"), jobs.Options{Timeout: 20 * time.Second, Window: 500 * time.Millisecond})

	if rep.Outcome.Status != trace.OutcomeExited || rep.Outcome.ExitCode != 0 {
		t.Fatalf("outcome %+v", rep.Outcome)
	}
	if len(rep.Behavior.Processes) != 1 {
		t.Fatalf("want one root process, got %+v", rep.Behavior.Processes)
	}
	root := rep.Behavior.Processes[0]
	if len(root.Children) == 0 {
		t.Fatalf("forking sample: child process missing from the tree: %+v", root)
	}
	if findProc(rep.Behavior.Processes, func(p report.ProcessNode) bool { return strings.HasSuffix(p.Exe, "sh") }) == nil {
		t.Errorf("no process executed the shell: %+v", rep.Behavior.Processes)
	}
	sawExec := false
	for _, e := range rep.Behavior.Executed {
		if strings.HasSuffix(e.Path, "/sh") && e.OK {
			sawExec = true
		}
	}
	if !sawExec {
		t.Errorf("exec of /bin/sh not recorded: %+v", rep.Behavior.Executed)
	}
	if !strings.Contains(rep.Outcome.Output, "child") {
		t.Errorf("sample output not captured: %q", rep.Outcome.Output)
	}
	var names []string
	for _, s := range rep.Steps {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "restore,wait-agent,set-time,push-sample,run,collect,destroy,featurize,classify,fuse" {
		t.Errorf("lifecycle steps: %s", got)
	}
	// The built-in featurizers ran as plugin subprocesses: the ELF header
	// and byte-image sets exist, the PE header featurizer abstained.
	got := map[string]report.Feature{}
	for _, f := range rep.Features {
		got[f.Featurizer+"/"+f.Set] = f
	}
	if f, ok := got["elf-header/elf-header"]; !ok || f.Size == 0 || f.Error != "" {
		t.Errorf("elf-header set missing: %+v", rep.Features)
	}
	if f, ok := got["byteimage/byteimage-32"]; !ok || f.Size != 32*32 {
		t.Errorf("byteimage-32 set missing: %+v", rep.Features)
	}
	if f, ok := got["pe-header/"]; !ok || !f.NotApplicable {
		t.Errorf("pe-header should not apply to an ELF sample: %+v", rep.Features)
	}
	if rep.Machine.Kernel == "" || rep.Machine.Slot != "slot0" || rep.Sample.SHA256 != job.Sample.SHA256 {
		t.Errorf("machine/sample: %+v %+v", rep.Machine, rep.Sample)
	}
	tr := td.readTrace(t, job.ID)
	if tr.Summary.Events != rep.Outcome.Events || len(tr.Windows) != len(rep.Windows) {
		t.Errorf("trace artifact (%d events, %d windows) disagrees with report (%d, %d)",
			tr.Summary.Events, len(tr.Windows), rep.Outcome.Events, len(rep.Windows))
	}
	pids := map[int]bool{}
	for _, e := range tr.Events() {
		pids[e.PID] = true
		if e.Name == "" || e.T < 0 {
			t.Fatalf("bad event %+v", e)
		}
	}
	if len(pids) < 2 {
		t.Errorf("trace has calls of %d processes, want at least 2", len(pids))
	}
}

// TestSlotReuseIsClean: two analyses on one slot; the file the first writes
// in the guest is absent for the second.
func TestSlotReuseIsClean(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	td := startDaemon(t, imageDir, 1)
	opts := jobs.Options{Timeout: 15 * time.Second, Window: time.Second}
	_, r1 := td.analyse(t, filepath.Join(samplesDir, "test-marker"), opts)
	_, r2 := td.analyse(t, filepath.Join(samplesDir, "test-marker"), opts)
	if r1.Machine.Slot != r2.Machine.Slot {
		t.Fatalf("ran on different slots %s, %s", r1.Machine.Slot, r2.Machine.Slot)
	}
	for i, r := range []*report.Report{r1, r2} {
		if !strings.Contains(r.Outcome.Output, "marker: absent") {
			t.Errorf("analysis %d saw state of an earlier one: output %q", i+1, r.Outcome.Output)
		}
	}
	if r1.Machine.BootID != r2.Machine.BootID {
		t.Errorf("both runs must start from the same saved boot: %s vs %s", r1.Machine.BootID, r2.Machine.BootID)
	}
}

// TestTimeoutKeepsPartialTrace: a sample that never exits is killed at its
// timeout, and what it did until then is kept.
func TestTimeoutKeepsPartialTrace(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	td := startDaemon(t, imageDir, 1)
	job, rep := td.analyse(t, filepath.Join(samplesDir, "test-hang"), jobs.Options{Timeout: 4 * time.Second, Window: time.Second})
	if rep.Outcome.Status != trace.OutcomeTimeout {
		t.Fatalf("outcome %+v, want timeout", rep.Outcome)
	}
	if len(rep.Windows) < 3 || rep.Outcome.Events == 0 {
		t.Fatalf("partial trace lost: %d windows, %d events", len(rep.Windows), rep.Outcome.Events)
	}
	if len(rep.Behavior.Processes) == 0 || !rep.Behavior.Processes[0].Killed {
		t.Errorf("root process should be marked killed: %+v", rep.Behavior.Processes)
	}
	if tr := td.readTrace(t, job.ID); len(tr.Events()) == 0 {
		t.Error("trace artifact has no calls")
	}
}

// TestCrashReportsSignal: a sample dying of SIGSEGV reports it.
func TestCrashReportsSignal(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	td := startDaemon(t, imageDir, 1)
	_, rep := td.analyse(t, filepath.Join(samplesDir, "test-crash"), jobs.Options{Timeout: 10 * time.Second, Window: time.Second})
	if rep.Outcome.Status != trace.OutcomeSignaled || rep.Outcome.Signal != "SIGSEGV" {
		t.Fatalf("outcome %+v, want signaled SIGSEGV", rep.Outcome)
	}
}
