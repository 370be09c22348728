package daemon

// Fault-injection tests (issue 6): real VMs, real QEMU and plugin processes,
// real faults (kill -9, a paused guest, a deleted restore file, a full
// disk). Each test asserts the end state: every job final with its reason,
// the slots idle, no VM or QEMU process of the test's instance left, and the
// bbolt database consistent when reopened after the orchestrator stopped.

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/internal/vmtest"
	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
	"github.com/scalemalnet/scalemalnet/plugins/host"
)

// faultDaemon is a real orchestrator that a test can stop before it ends,
// to reopen its database.
type faultDaemon struct {
	*Daemon
	cancel  context.CancelFunc
	done    chan error
	once    sync.Once
	dataDir string
	prefix  string
}

func startFaultDaemon(t *testing.T, imageDir string, slots int, adjust func(*Config)) *faultDaemon {
	t.Helper()
	dataDir := t.TempDir()
	cfg := Config{
		DataDir: dataDir, Listen: "unix:" + filepath.Join(dataDir, "api.sock"),
		Slots: slots, ImageDir: imageDir, Accel: "auto", PluginBinary: "none", Wine: vm.WineLazy,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	if adjust != nil {
		adjust(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("new daemon: %v", err)
	}
	fd := &faultDaemon{Daemon: d, cancel: cancel, done: make(chan error, 1), dataDir: d.cfg.DataDir, prefix: d.domainPrefix()}
	go func() { fd.done <- d.Serve(ctx) }()
	t.Cleanup(func() { fd.stop(t) })
	return fd
}

// stop shuts the orchestrator down (once) and checks that it left no VM.
func (fd *faultDaemon) stop(t *testing.T) {
	t.Helper()
	fd.once.Do(func() {
		fd.cancel()
		select {
		case err := <-fd.done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(90 * time.Second):
			t.Errorf("daemon did not stop within 90s")
		}
		if names, err := fd.hv.Domains(context.Background(), fd.prefix); err == nil && len(names) > 0 {
			t.Errorf("VMs left running after shutdown: %v", names)
			for _, n := range names {
				fd.hv.Destroy(context.Background(), n)
			}
		}
		fd.Close()
		assertNoLeftovers(t, fd.prefix)
	})
}

func (fd *faultDaemon) submit(t *testing.T, path, name string, opts jobs.Options) jobs.Job {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if name == "" {
		name = filepath.Base(path)
	}
	j, err := fd.Submit(context.Background(), name, f, opts)
	if err != nil {
		t.Fatalf("submit %s: %v", name, err)
	}
	return j
}

// waitJob polls a job until cond holds, failing the test after timeout.
func (fd *faultDaemon) waitJob(t *testing.T, id string, timeout time.Duration, what string, cond func(jobs.Job) bool) jobs.Job {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var j jobs.Job
	var err error
	for time.Now().Before(deadline) {
		if j, err = fd.Job(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if cond(j) {
			return j
		}
		if j.State.Final() {
			t.Fatalf("job %s ended %s (%s) while waiting for: %s", id, j.State, j.Error, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("job %s: %s: not within %s (state %s, step %s)", id, what, timeout, j.State, j.Step)
	return j
}

func (fd *faultDaemon) waitFinal(t *testing.T, id string, timeout time.Duration) jobs.Job {
	t.Helper()
	return fd.waitJob(t, id, timeout, "final state", func(j jobs.Job) bool { return j.State.Final() })
}

// waitRunning waits until the job's sample runs in the guest.
func (fd *faultDaemon) waitRunning(t *testing.T, id string) jobs.Job {
	t.Helper()
	return fd.waitJob(t, id, 4*time.Minute, "running", func(j jobs.Job) bool { return j.State == jobs.Running && j.Step == StepRun })
}

// waitSlotsIdle waits until every slot is idle (its clean state remade if
// the fault destroyed it).
func (fd *faultDaemon) waitSlotsIdle(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var h api.Health
	for time.Now().Before(deadline) {
		if h = fd.Health(context.Background()); h.SlotsIdle == h.SlotsTotal {
			if _, err := fd.pool.Slots()[0].Clean(); err == nil {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("slots not idle with a clean state within %s: %d/%d idle", timeout, h.SlotsIdle, h.SlotsTotal)
}

func slotInfo(fd *faultDaemon) string {
	var b strings.Builder
	for _, s := range fd.pool.Slots() {
		p := s.Snapshot(false)
		fmt.Fprintf(&b, "%s=%s(done %d, last error %q) ", p.Name, p.State, p.Analyses, p.LastError)
	}
	return b.String()
}

// assertNoLeftovers checks through a fresh libvirt connection and /proc
// that no VM and no QEMU process of the instance is left. QEMU may take a
// moment to be reaped after a destroy.
func assertNoLeftovers(t *testing.T, prefix string) {
	t.Helper()
	var names []string
	var pids []int
	for i := 0; i < 50; i++ {
		names, pids = vmtest.Domains(t, prefix), vmtest.Procs("", prefix)
		if len(names)+len(pids) == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("left over: domains %v, QEMU processes %v", names, pids)
}

// checkStore reopens a stopped orchestrator's data directory and checks it
// (store.Check: every job indexed under exactly its state, reports for done
// jobs, artifacts and samples present, ...) and that no job was left
// active. It returns the jobs by id.
func checkStore(t testing.TB, dataDir string) map[string]jobs.Job {
	t.Helper()
	all := vmtest.CheckStore(t, dataDir)
	for _, j := range all {
		if !j.State.Final() {
			t.Errorf("job %s left %s (step %s) after the orchestrator stopped", j.ID, j.State, j.Step)
		}
	}
	return all
}

// TestFaultQEMUKilled: the QEMU process of a running analysis is killed
// with SIGKILL. The job is retried from the start and completes; the slot
// comes back.
func TestFaultQEMUKilled(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	fd := startFaultDaemon(t, imageDir, 1, nil)
	job := fd.submit(t, filepath.Join(samplesDir, "test-hang"), "", jobs.Options{Timeout: 6 * time.Second, Window: time.Second})
	fd.waitRunning(t, job.ID)
	domain := fd.pool.Slots()[0].Spec().Name
	pid := vmtest.QEMUPID(t, domain)
	t.Logf("killing QEMU pid %d of %s during the run", pid, domain)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	j := fd.waitFinal(t, job.ID, 5*time.Minute)
	t.Logf("job %s: %s attempts=%d error=%q%s", j.ID, j.State, j.Attempts, j.Error, vmtest.HistoryNotes(j))
	if j.State != jobs.Done || j.Attempts != 2 {
		t.Fatalf("want done on the second attempt, got %s after %d attempts: %s", j.State, j.Attempts, j.Error)
	}
	requeued := ""
	for _, tr := range j.History {
		if tr.State == jobs.Queued && strings.Contains(tr.Note, "re-queued") {
			requeued = tr.Note
		}
	}
	if !strings.Contains(requeued, "step run") || !strings.Contains(requeued, "QEMU process exited") {
		t.Errorf("re-queue reason should name the step: %q", requeued)
	}
	rep, err := fd.Report(context.Background(), j.ID)
	if err != nil || rep.Outcome.Status != "timeout" {
		t.Fatalf("report after retry: %v %+v", err, rep)
	}
	fd.waitSlotsIdle(t, 3*time.Minute)
	t.Logf("slots: %s", slotInfo(fd))
	fd.stop(t)
	checkStore(t, fd.dataDir)
}

// TestFaultGuestAgentDies: the sample crashes the guest kernel, so the
// agent (PID 1) dies with it and the VM stops. The job ends failed at once
// (the sample did it; a retry would do it again) with a reason that names
// the step and quotes the kernel's panic; the slot comes back.
func TestFaultGuestAgentDies(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	fd := startFaultDaemon(t, imageDir, 1, nil)
	job := fd.submit(t, filepath.Join(samplesDir, "test-guestcrash"), "", jobs.Options{Timeout: 10 * time.Second, Window: time.Second, Args: []string{"--crash-this-guest"}})
	start := time.Now()
	j := fd.waitFinal(t, job.ID, 6*time.Minute)
	t.Logf("job %s after %s: %s attempts=%d error=%q%s", j.ID, time.Since(start).Round(time.Second), j.State, j.Attempts, j.Error, vmtest.HistoryNotes(j))
	if j.State != jobs.Failed {
		t.Fatalf("want failed, got %s", j.State)
	}
	if j.Attempts != 1 || !strings.Contains(j.Error, "step run") || !strings.Contains(j.Error, "guest kernel crashed") ||
		!strings.Contains(j.Error, "Kernel panic") {
		t.Errorf("reason should name the step and the guest's crash, without a retry (%d attempts): %q", j.Attempts, j.Error)
	}
	fd.waitSlotsIdle(t, 3*time.Minute)
	// The slot works afterwards.
	ok := fd.submit(t, filepath.Join(samplesDir, "benign-reader"), "", jobs.Options{Timeout: 10 * time.Second, Window: time.Second})
	if j := fd.waitFinal(t, ok.ID, 5*time.Minute); j.State != jobs.Done {
		t.Fatalf("next job on the slot: %s %s", j.State, j.Error)
	}
	t.Logf("slots: %s", slotInfo(fd))
	fd.stop(t)
	checkStore(t, fd.dataDir)
}

// TestFaultGuestStopsAnswering: the guest is paused (through libvirt) in
// the middle of a run, so the agent never answers again. The run step's
// deadline fires, the job fails naming the step, the VM is destroyed and
// the slot serves the next job.
func TestFaultGuestStopsAnswering(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	fd := startFaultDaemon(t, imageDir, 1, func(c *Config) { c.StepGrace = 5 * time.Second })
	job := fd.submit(t, filepath.Join(samplesDir, "test-hang"), "", jobs.Options{Timeout: 5 * time.Second, Window: time.Second})
	fd.waitRunning(t, job.ID)
	domain := fd.pool.Slots()[0].Spec().Name
	if out, err := exec.Command("virsh", "-c", "qemu:///system", "suspend", domain).CombinedOutput(); err != nil {
		t.Fatalf("virsh suspend: %v %s", err, out)
	}
	paused := time.Now()
	j := fd.waitFinal(t, job.ID, 3*time.Minute)
	t.Logf("job %s ended %s after the pause: %s attempts=%d error=%q%s", j.ID, time.Since(paused).Round(time.Second), j.State, j.Attempts, j.Error, vmtest.HistoryNotes(j))
	if j.State != jobs.Failed || !strings.Contains(j.Error, "step run") || !strings.Contains(j.Error, "exceeded") {
		t.Fatalf("want failed with the run step's deadline, got %s: %q", j.State, j.Error)
	}
	fd.waitSlotsIdle(t, 3*time.Minute)
	ok := fd.submit(t, filepath.Join(samplesDir, "benign-reader"), "", jobs.Options{Timeout: 10 * time.Second, Window: time.Second})
	if j := fd.waitFinal(t, ok.ID, 5*time.Minute); j.State != jobs.Done {
		t.Fatalf("next job on the slot: %s %s", j.State, j.Error)
	}
	fd.stop(t)
	checkStore(t, fd.dataDir)
}

// TestFaultRestoreFileDeleted: the slot's saved memory image is deleted
// while an analysis runs from it. That job completes; the slot notices the
// missing file, makes a new clean state from a cold boot, and the next job
// runs from it.
func TestFaultRestoreFileDeleted(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	fd := startFaultDaemon(t, imageDir, 1, nil)
	opts := jobs.Options{Timeout: 4 * time.Second, Window: time.Second}
	j1 := fd.submit(t, filepath.Join(samplesDir, "test-hang"), "", opts)
	fd.waitRunning(t, j1.ID)
	save := filepath.Join(fd.dataDir, "vms", "slot0", "clean.save")
	if err := os.Remove(save); err != nil {
		t.Fatal(err)
	}
	if j := fd.waitFinal(t, j1.ID, 3*time.Minute); j.State != jobs.Done {
		t.Fatalf("job running when its restore file was deleted: %s %s", j.State, j.Error)
	}
	j2 := fd.submit(t, filepath.Join(samplesDir, "benign-reader"), "", opts)
	if j := fd.waitFinal(t, j2.ID, 5*time.Minute); j.State != jobs.Done || j.Attempts != 1 {
		t.Fatalf("job after the deletion: %s after %d attempts: %s", j.State, j.Attempts, j.Error)
	}
	r1, err1 := fd.Report(context.Background(), j1.ID)
	r2, err2 := fd.Report(context.Background(), j2.ID)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if r1.Machine.BootID == r2.Machine.BootID {
		t.Errorf("second job ran from the deleted state's boot %s", r1.Machine.BootID)
	}
	if _, err := os.Stat(save); err != nil {
		t.Errorf("clean state not remade: %v", err)
	}
	fd.waitSlotsIdle(t, time.Minute)
	fd.stop(t)
	checkStore(t, fd.dataDir)
}

// TestFaultPluginKilled: a classifier plugin process is killed with SIGKILL
// while it classifies. The job completes with that vote failed; the plugin
// is restarted and votes for the next job.
func TestFaultPluginKilled(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	pluginDir := t.TempDir()
	names := []string{"good-featurizer", "hang-classifier"}
	args := []string{"build", "-o", pluginDir + "/"}
	for _, n := range names {
		args = append(args, "../../plugins/host/testdata/"+n)
	}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("build plugins: %v\n%s", err, out)
	}
	for _, n := range names {
		if _, err := host.Register(pluginDir, n, filepath.Join(pluginDir, n), nil); err != nil {
			t.Fatal(err)
		}
	}
	fd := startFaultDaemon(t, imageDir, 1, func(c *Config) {
		c.PluginDir = pluginDir
		c.PluginCallTimeout = 2 * time.Minute // the kill, not the deadline, must end the call
	})
	// hang-classifier never answers for a sample named "hang".
	opts := jobs.Options{Timeout: 10 * time.Second, Window: time.Second}
	exe := filepath.Join(pluginDir, "hang-classifier")
	j1 := fd.submit(t, filepath.Join(samplesDir, "benign-reader"), "hang", opts)
	status := func() host.Status {
		for _, st := range fd.Plugins(context.Background()) {
			if st.Name == "hang-classifier" {
				return st
			}
		}
		t.Fatal("hang-classifier not loaded")
		return host.Status{}
	}
	// The call has started once the plugin counts it.
	fd.waitJob(t, j1.ID, 5*time.Minute, "classifying", func(j jobs.Job) bool { return j.Step == StepClassify && status().Calls > 0 })
	time.Sleep(500 * time.Millisecond)
	pids := vmtest.Procs(exe, "")
	if st := status(); len(pids) != 1 || st.PID != 0 && st.PID != pids[0] {
		t.Fatalf("hang-classifier processes: %v, status %+v", pids, st)
	}
	t.Logf("killing plugin pid %d during classify", pids[0])
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	j := fd.waitFinal(t, j1.ID, time.Minute)
	if j.State != jobs.Done {
		t.Fatalf("job whose plugin was killed: %s %s", j.State, j.Error)
	}
	rep, err := fd.Report(context.Background(), j1.ID)
	if err != nil {
		t.Fatal(err)
	}
	v := voteOf(rep, "hang-classifier")
	if v == nil || !strings.Contains(v.Error, "exited during the call") {
		t.Fatalf("vote of the killed plugin: %+v", v)
	}
	t.Logf("vote of the killed plugin: %q", v.Error)

	j2 := fd.submit(t, filepath.Join(samplesDir, "benign-reader"), "ok", opts)
	if j := fd.waitFinal(t, j2.ID, 5*time.Minute); j.State != jobs.Done {
		t.Fatalf("second job: %s %s", j.State, j.Error)
	}
	rep2, err := fd.Report(context.Background(), j2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v := voteOf(rep2, "hang-classifier"); v == nil || v.Error != "" || v.Label != "malware" {
		t.Fatalf("restarted plugin's vote: %+v", v)
	}
	for _, st := range fd.Plugins(context.Background()) {
		if st.Name == "hang-classifier" && (st.State != host.StateRunning || st.Restarts < 1) {
			t.Errorf("plugin status after the kill: %+v", st)
		}
	}
	if pids := vmtest.Procs(exe, ""); len(pids) != 1 {
		t.Errorf("hang-classifier processes after restart: %v", pids)
	}
	fd.stop(t)
	if pids := vmtest.Procs(exe, ""); len(pids) != 0 {
		t.Errorf("plugin processes left after shutdown: %v", pids)
	}
	checkStore(t, fd.dataDir)
}

func voteOf(rep *report.Report, name string) *report.Vote {
	for i := range rep.Votes {
		if rep.Votes[i].Classifier == name {
			return &rep.Votes[i]
		}
	}
	return nil
}

// smallFS mounts a fresh ext4 file system of size bytes (a loop device over
// a sparse file) and returns its mount point; it is unmounted at cleanup.
func smallFS(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a loop file system needs root")
	}
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "fs.img"), filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(size)
	f.Close()
	if out, err := exec.Command("mkfs.ext4", "-q", "-m", "0", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v %s", err, out)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Fatalf("loop mount (see /dev/loop*, losetup -f): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", mnt, err, out)
			exec.Command("umount", "-l", mnt).Run()
		}
	})
	return mnt
}

// fillFS writes a file until the file system is full and returns its path.
func fillFS(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for n := len(buf); n >= 512; {
		if _, err := f.Write(buf[:n]); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			n /= 2
		}
	}
	f.Sync()
	var st syscall.Statfs_t
	syscall.Statfs(dir, &st)
	t.Logf("file system filled: %d bytes available", st.Bavail*uint64(st.Bsize))
	return path
}

// TestFaultDiskFull: the data directory's file system fills up while an
// analysis runs. That job fails saying the disk is full; what was stored
// before stays readable; new submissions are refused while space is low;
// once space is freed, analyses complete again.
func TestFaultDiskFull(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	mnt := smallFS(t, 256<<20) // a slot's clean state is ~70 MB
	fd := startFaultDaemon(t, imageDir, 1, func(c *Config) {
		c.DataDir = filepath.Join(mnt, "data")
		c.Listen = "unix:" + filepath.Join(t.TempDir(), "api.sock")
		c.MinFreeBytes = 16 << 20
	})
	opts := jobs.Options{Timeout: 8 * time.Second, Window: 500 * time.Millisecond}
	j1 := fd.submit(t, filepath.Join(samplesDir, "fork-exec"), "", opts)
	if j := fd.waitFinal(t, j1.ID, 5*time.Minute); j.State != jobs.Done {
		t.Fatalf("first job: %s %s", j.State, j.Error)
	}
	r1, err := fd.Report(context.Background(), j1.ID)
	if err != nil {
		t.Fatal(err)
	}
	tr1 := fd.readTraceFD(t, j1.ID)

	j2 := fd.submit(t, filepath.Join(samplesDir, "test-hang"), "", opts)
	fd.waitRunning(t, j2.ID)
	filler := fillFS(t, mnt)
	j := fd.waitFinal(t, j2.ID, 3*time.Minute)
	t.Logf("job on a full disk: %s attempts=%d error=%q%s", j.State, j.Attempts, j.Error, vmtest.HistoryNotes(j))
	if j.State != jobs.Failed || !strings.Contains(j.Error, "no space left on device") {
		t.Errorf("want failed with 'no space left on device', got %s: %q", j.State, j.Error)
	}

	// What was stored before is intact.
	if r, err := fd.Report(context.Background(), j1.ID); err != nil || r.Outcome != r1.Outcome {
		t.Errorf("earlier report after the disk filled: %v", err)
	}
	if tr := fd.readTraceFD(t, j1.ID); tr.Summary.Events != tr1.Summary.Events {
		t.Errorf("earlier trace changed: %d events, was %d", tr.Summary.Events, tr1.Summary.Events)
	}
	// New work is refused, clearly, before anything is stored.
	f, _ := os.Open(filepath.Join(samplesDir, "benign-reader"))
	_, err = fd.Submit(context.Background(), "benign-reader", f, opts)
	f.Close()
	if !errors.Is(err, api.ErrUnavailable) || !strings.Contains(err.Error(), "free") {
		t.Errorf("submission on a full disk: %v", err)
	} else {
		t.Logf("submission refused: %v", err)
	}

	// Space comes back: so does the service.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	fd.waitSlotsIdle(t, 3*time.Minute)
	j3 := fd.submit(t, filepath.Join(samplesDir, "benign-reader"), "", opts)
	if j := fd.waitFinal(t, j3.ID, 5*time.Minute); j.State != jobs.Done {
		t.Fatalf("job after space was freed: %s %s", j.State, j.Error)
	}
	fd.stop(t)
	got := checkStore(t, fd.dataDir)
	if len(got) != 3 {
		t.Errorf("%d jobs in the database, want 3", len(got))
	}
}

func (fd *faultDaemon) readTraceFD(t *testing.T, id string) *trace.Trace {
	t.Helper()
	rc, err := fd.OpenTrace(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trace.ReadJSONL(zr)
	if err != nil {
		t.Fatalf("stored trace of %s: %v", id, err)
	}
	return tr
}
