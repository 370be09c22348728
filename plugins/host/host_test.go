package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
)

// The test plugins under testdata (and the example plugin) are real
// programs, built once per test binary into binDir and copied into each
// test's own plugin directory.
var (
	binDir    string
	buildOnce sync.Once
	buildErr  error
)

// testPlugins maps a binary name to its package, relative to this directory.
var testPlugins = map[string]string{
	"good-featurizer":    "./testdata/good-featurizer",
	"good-classifier":    "./testdata/good-classifier",
	"crash-classifier":   "./testdata/crash-classifier",
	"hang-classifier":    "./testdata/hang-classifier",
	"badvote-classifier": "./testdata/badvote-classifier",
	"apiv2-classifier":   "./testdata/apiv2-classifier",
	"syscall-heuristic":  "../examples/syscall-heuristic",
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "scalemalnet-host-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goTool returns the go command that runs these tests.
func goTool(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found: %v", err)
	}
	return p
}

// binary returns the path of a built test plugin, building them all on
// first use (one go build, so packages compile once and link in parallel).
func binary(t testing.TB, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		args := []string{"build", "-o", binDir + string(filepath.Separator)}
		for _, pkg := range testPlugins {
			args = append(args, pkg)
		}
		out, err := exec.Command(goTool(t), args...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build test plugins: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

// install copies a test plugin into dir and registers it.
func install(t testing.TB, dir, name string, config string) string {
	t.Helper()
	dst := copyExec(t, binary(t, name), filepath.Join(dir, name))
	var cfg json.RawMessage
	if config != "" {
		cfg = json.RawMessage(config)
	}
	if _, err := Register(dir, name, dst, cfg); err != nil {
		t.Fatal(err)
	}
	return dst
}

func copyExec(t testing.TB, src, dst string) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// start runs a Manager over dir with short timeouts, closed at cleanup.
func start(t testing.TB, dir string, tweak func(*Config)) *Manager {
	t.Helper()
	cfg := Config{Dir: dir, ClassifyTimeout: 5 * time.Second, FeaturizeTimeout: 5 * time.Second,
		StartTimeout: 10 * time.Second, Logger: slog.New(slog.DiscardHandler)}
	if tweak != nil {
		tweak(&cfg)
	}
	m := New(cfg)
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// pluginNamed returns the named plugin.
func pluginNamed(t testing.TB, m *Manager, name string) *Plugin {
	t.Helper()
	for _, p := range m.all() {
		if p.Name() == name {
			return p
		}
	}
	t.Fatalf("no plugin %q in %+v", name, m.List())
	return nil
}

var stats = []*features.Set{{Name: "byte-stats", Version: "1", Kind: features.KindVector, Schema: []string{"size", "zeros"}, Vector: []float64{4, 3}}}

func classifyOK(t testing.TB, p *Plugin) plugins.Vote {
	t.Helper()
	v, err := p.Classify(context.Background(), plugins.Sample{Name: "ok"}, stats)
	if err != nil {
		t.Fatalf("%s: Classify: %v (status %+v)", p.Name(), err, p.Status())
	}
	if err := plugins.CheckVote(p.Info(), v); err != nil {
		t.Fatal(err)
	}
	return v
}

func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestGoodPlugins(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "good-featurizer", "")
	install(t, dir, "good-classifier", "")
	m := start(t, dir, nil)

	fz := m.Plugins(plugins.KindFeaturizer)
	cl := m.Plugins(plugins.KindClassifier)
	if len(fz) != 1 || len(cl) != 1 || fz[0].Name() != "good-featurizer" || cl[0].Name() != "good-classifier" {
		t.Fatalf("featurizers %v, classifiers %v: %+v", fz, cl, m.List())
	}
	for _, st := range m.List() {
		if st.State != StateRunning || st.PID == 0 || st.Info.Version != "1.0.0" || st.Source != filepath.Join(dir, st.Name) {
			t.Fatalf("status %+v", st)
		}
	}
	if i := fz[0].Info(); i.Kind != plugins.KindFeaturizer || i.Produces[0] != "byte-stats" || i.Inputs[0] != plugins.InputStatic {
		t.Fatalf("featurizer info %+v", i)
	}

	sets, err := fz[0].Featurize(context.Background(), plugins.FeaturizeInput{Content: []byte{0, 0, 0, 1}})
	if err != nil || len(sets) != 1 || sets[0].Vector[0] != 4 || sets[0].Vector[1] != 3 {
		t.Fatalf("Featurize: %+v %v", sets, err)
	}
	_, err = fz[0].Featurize(context.Background(), plugins.FeaturizeInput{})
	if !errors.Is(err, plugins.ErrNotApplicable) || !strings.Contains(err.Error(), "empty sample") {
		t.Fatalf("empty sample: %v", err)
	}

	v, err := cl[0].Classify(context.Background(), plugins.Sample{Name: "x"}, sets)
	if err != nil || v.Label != "malware" || v.Model != "zero-fraction" {
		t.Fatalf("Classify: %+v %v", v, err)
	}
	if st := cl[0].Status(); st.Calls != 1 || st.Failures != 0 || st.Restarts != 0 {
		t.Fatalf("classifier status %+v", st)
	}
	if st := fz[0].Status(); st.Calls != 2 || st.Failures != 0 {
		t.Fatalf("featurizer status %+v (an abstention is not a failure)", st)
	}
}

func TestCrashIsReportedAndRestarted(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "crash-classifier", "")
	p := pluginNamed(t, start(t, dir, nil), "crash-classifier")
	pid := p.Status().PID

	_, err := p.Classify(context.Background(), plugins.Sample{Name: "sample-7"}, stats)
	if !errors.Is(err, ErrCrashed) || !strings.Contains(err.Error(), "panic: classifier exploded on sample-7") {
		t.Fatalf("Classify = %v, want ErrCrashed with the panic text", err)
	}
	t.Logf("crash reported as: %v", err)
	st := p.Status()
	if st.State != StateDead || !strings.Contains(st.LastError, "panic: classifier exploded") || st.Failures != 1 {
		t.Fatalf("status after crash %+v", st)
	}
	if !processGone(pid) {
		t.Fatalf("crashed process %d still exists", pid)
	}

	classifyOK(t, p)
	if st := p.Status(); st.State != StateRunning || st.Restarts != 1 || st.PID == pid || st.PID == 0 {
		t.Fatalf("status after restart %+v", st)
	}
}

func TestDeadlineKillsAndRestarts(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "hang-classifier", "")
	p := pluginNamed(t, start(t, dir, func(c *Config) { c.ClassifyTimeout = 300 * time.Millisecond }), "hang-classifier")
	pid := p.Status().PID

	t0 := time.Now()
	_, err := p.Classify(context.Background(), plugins.Sample{Name: "hang"}, stats)
	if !errors.Is(err, ErrDeadline) || !strings.Contains(err.Error(), "did not answer within 300ms") {
		t.Fatalf("Classify = %v, want ErrDeadline", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Fatalf("a missed 300ms deadline took %s to report", d)
	}
	if !processGone(pid) {
		t.Fatalf("hung process %d was not killed", pid)
	}
	if st := p.Status(); st.State != StateDead || !strings.Contains(st.LastError, "killed") {
		t.Fatalf("status %+v", st)
	}
	if v := classifyOK(t, p); v.Label != "malware" {
		t.Fatalf("vote after restart %+v", v)
	}
	if st := p.Status(); st.PID == pid || st.Restarts != 1 {
		t.Fatalf("status after restart %+v", st)
	}
}

func TestAPIVersionRefused(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "apiv2-classifier", "")
	m := start(t, dir, nil)
	p := pluginNamed(t, m, "apiv2-classifier")
	st := p.Status()
	if st.State != StateRefused || !strings.Contains(st.LastError, "API version") ||
		!strings.Contains(st.LastError, "plugin speaks version 2") || !strings.Contains(st.LastError, "host speaks 1") {
		t.Fatalf("status %+v", st)
	}
	if len(m.Plugins(plugins.KindClassifier)) != 0 {
		t.Fatal("a refused plugin is offered for classification")
	}
	_, err := p.Classify(context.Background(), plugins.Sample{}, stats)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("Classify on a refused plugin: %v", err)
	}
}

func TestChecksumMismatchRefused(t *testing.T) {
	dir := t.TempDir()
	path := install(t, dir, "good-classifier", "")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("tampered"))
	f.Close()
	p := pluginNamed(t, start(t, dir, nil), "good-classifier")
	if st := p.Status(); st.State != StateRefused || !strings.Contains(st.LastError, "checksum") || st.PID != 0 {
		t.Fatalf("status %+v", st)
	}
	// Refused stays refused: it is not retried on use.
	if _, err := p.Classify(context.Background(), plugins.Sample{}, stats); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Classify: %v", err)
	}
}

func TestUnregisteredBinaryListed(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "good-classifier", "")
	copyExec(t, binary(t, "good-featurizer"), filepath.Join(dir, "stray"))
	os.WriteFile(filepath.Join(dir, "README"), []byte("not a program"), 0o644)
	m := start(t, dir, nil)
	list := m.List()
	if len(list) != 2 {
		t.Fatalf("list %+v", list)
	}
	st := pluginNamed(t, m, "stray").Status()
	if st.State != StateRefused || !strings.Contains(st.LastError, "not registered") || !strings.Contains(st.LastError, "plugins register") {
		t.Fatalf("stray status %+v", st)
	}
	if st := pluginNamed(t, m, "good-classifier").Status(); st.State != StateRunning {
		t.Fatalf("registered plugin %+v", st)
	}
}

func TestInvalidVote(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "badvote-classifier", "")
	p := pluginNamed(t, start(t, dir, nil), "badvote-classifier")
	_, err := p.Classify(context.Background(), plugins.Sample{}, stats)
	if !errors.Is(err, plugins.ErrInvalidVote) || !strings.Contains(err.Error(), "sum to 1.4") {
		t.Fatalf("Classify = %v, want ErrInvalidVote", err)
	}
	// The plugin answered; it is still running, the failure is recorded.
	if st := p.Status(); st.State != StateRunning || st.Failures != 1 || !strings.Contains(st.LastError, "invalid vote") {
		t.Fatalf("status %+v", st)
	}
}

func TestMaxRestartsFails(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "crash-classifier", "")
	p := pluginNamed(t, start(t, dir, func(c *Config) { c.MaxRestarts = 1 }), "crash-classifier")
	crash := func() error {
		_, err := p.Classify(context.Background(), plugins.Sample{Name: "boom"}, stats)
		return err
	}
	if err := crash(); !errors.Is(err, ErrCrashed) {
		t.Fatalf("first crash: %v", err)
	}
	if err := crash(); !errors.Is(err, ErrCrashed) { // after its one allowed restart
		t.Fatalf("second crash: %v", err)
	}
	err := crash()
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "giving up") {
		t.Fatalf("third call: %v", err)
	}
	st := p.Status()
	if st.State != StateFailed || st.Restarts != 1 || !strings.Contains(st.LastError, "panic: classifier exploded") {
		t.Fatalf("status %+v", st)
	}
	if _, err := p.Classify(context.Background(), plugins.Sample{Name: "ok"}, stats); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a failed plugin answered: %v", err)
	}
}

func TestWatchRestartsKilledPlugin(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "good-classifier", "")
	m := start(t, dir, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Watch(ctx, 50*time.Millisecond)
	p := pluginNamed(t, m, "good-classifier")
	pid := p.Status().PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := p.Status()
		if st.State == StateRunning && st.PID != pid && st.PID != 0 {
			if st.Restarts != 1 || !strings.Contains(st.LastError, "process exited") {
				t.Fatalf("status after restart %+v", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not restarted: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	v, err := p.Classify(context.Background(), plugins.Sample{}, stats)
	if err != nil || v.Label != "malware" {
		t.Fatalf("Classify after restart: %+v %v", v, err)
	}
}

// TestExamplePlugin loads plugins/examples/syscall-heuristic as a real
// process, configured through its plugins.json entry.
func TestExamplePlugin(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "syscall-heuristic", `{"sequences": {"connect execve": 5}}`)
	m := start(t, dir, nil)
	p := pluginNamed(t, m, "syscall-heuristic")
	if st := p.Status(); st.State != StateRunning || st.Info.Stage != plugins.StageDetection || st.Info.Consumes[0] != "callseq-ngram" {
		t.Fatalf("status %+v", st)
	}
	set := &features.Set{Name: "callseq-ngram", Version: "1", Kind: features.KindVector,
		Schema: []string{"connect", "execve", "connect|execve"}, Vector: []float64{1, 1, 1}}
	v, err := p.Classify(context.Background(), plugins.Sample{Name: "dropper"}, []*features.Set{set})
	// connect 0.5 + "connect execve" 5 (configured) = 5.5
	if err != nil || v.Label != "malware" || !strings.HasPrefix(v.Explanation, `score 5.50: "connect execve" +5.00`) {
		t.Fatalf("Classify: %+v %v", v, err)
	}
	v, err = p.Classify(context.Background(), plugins.Sample{}, nil)
	if err != nil || !v.Abstained {
		t.Fatalf("without its feature set: %+v %v", v, err)
	}

	// A configuration the plugin rejects refuses it at start.
	dir2 := t.TempDir()
	install(t, dir2, "syscall-heuristic", `{"weights": {}}`)
	st := pluginNamed(t, start(t, dir2, nil), "syscall-heuristic").Status()
	if st.State != StateRefused || !strings.Contains(st.LastError, `unknown field "weights"`) {
		t.Fatalf("bad config: %+v", st)
	}
}

func TestTailKeepsPanic(t *testing.T) {
	tl := newTail(64)
	for _, l := range []string{`{"@level":"info"}`, "panic: boom", "", "goroutine 7 [running]:", "main.f()", "\t/src/main.go:9 +0x1d", "main.g()"} {
		tl.Write([]byte(l))
		tl.Write([]byte("\n"))
	}
	for i := 0; i < 20; i++ {
		tl.Write([]byte("runtime.goexit() more frames pushing the panic out of the window\n"))
	}
	if got, want := tl.String(), "panic: boom | goroutine 7 [running]: | main.f() | /src/main.go:9 +0x1d"; got != want {
		t.Fatalf("tail = %q, want %q", got, want)
	}
	tl.reset()
	tl.Write([]byte("a\nb\n"))
	if got := tl.String(); got != "a | b" {
		t.Fatalf("tail = %q", got)
	}
}

// TestConcurrentCallsRestartOnce: calls arriving together at a dead plugin
// restart it once, not once each (a second start would kill the first).
func TestConcurrentCallsRestartOnce(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "crash-classifier", "")
	p := pluginNamed(t, start(t, dir, nil), "crash-classifier")
	if _, err := p.Classify(context.Background(), plugins.Sample{Name: "boom"}, stats); !errors.Is(err, ErrCrashed) {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			_, err := p.Classify(context.Background(), plugins.Sample{Name: "ok"}, stats)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if st := p.Status(); st.State != StateRunning || st.Restarts != 1 || st.Calls != 5 {
		t.Fatalf("status %+v", st)
	}
}

// TestReloadPicksUpReRegisteredBinary: a binary rebuilt and registered
// again is loaded by Reload with its new checksum (before: the running
// manager kept the old checksum and refused the new binary at its next
// start); a Set taken before the reload keeps the old process until it is
// released; a plugin registered after start is listed as not-loaded, then
// loaded by the reload; a removed one is stopped.
func TestReloadPicksUpReRegisteredBinary(t *testing.T) {
	dir := t.TempDir()
	path := install(t, dir, "good-classifier", "")
	install(t, dir, "crash-classifier", "")
	m := start(t, dir, nil)
	old := pluginNamed(t, m, "good-classifier")
	oldPID := old.Status().PID
	held := m.Acquire()

	// "Rebuild": the same program with other bytes, put in place as
	// `plugins register` does (a new file renamed over the running one),
	// registered again.
	tmp := copyExec(t, binary(t, "good-classifier"), path+".new")
	f, err := os.OpenFile(tmp, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("rebuilt"))
	f.Close()
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	e, err := Register(dir, "good-classifier", path, nil)
	if err != nil {
		t.Fatal(err)
	}
	install(t, dir, "good-featurizer", "") // registered after start
	m2, _ := ReadManifest(dir)
	var keep []Entry
	for _, en := range m2.Plugins {
		if en.Name != "crash-classifier" {
			keep = append(keep, en)
		}
	}
	writeManifest(t, dir, Manifest{Plugins: keep})
	os.Remove(filepath.Join(dir, "crash-classifier"))

	byName := func() map[string]Status {
		out := map[string]Status{}
		for _, st := range m.List() {
			out[st.Name] = st
		}
		return out
	}
	before := byName()
	if st := before["good-featurizer"]; st.State != StateNotLoaded || !strings.Contains(st.LastError, "plugins reload") {
		t.Fatalf("a plugin registered after start: %+v", st)
	}
	if st := before["good-classifier"]; st.State != StateRunning || !strings.Contains(st.Pending, "registered again") {
		t.Fatalf("a re-registered plugin before reload: %+v", st)
	}
	if st := before["crash-classifier"]; !strings.Contains(st.Pending, "no longer in") {
		t.Fatalf("an unregistered plugin before reload: %+v", st)
	}

	rep, err := m.Reload(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rep.Added, rep.Replaced, rep.Removed) != "[good-featurizer] [good-classifier] [crash-classifier]" || len(rep.Problems) != 0 {
		t.Fatalf("reload report %+v", rep)
	}
	after := byName()
	st := after["good-classifier"]
	if st.State != StateRunning || st.SHA256 != e.SHA256 || st.PID == oldPID || st.Pending != "" {
		t.Fatalf("re-registered plugin after reload: %+v (want running with sha256 %s)", st, e.SHA256)
	}
	if after["good-featurizer"].State != StateRunning {
		t.Fatalf("new plugin after reload: %+v", after["good-featurizer"])
	}
	if _, ok := after["crash-classifier"]; ok {
		t.Fatalf("removed plugin still listed: %+v", after["crash-classifier"])
	}
	// The job that took its Set before the reload still has the old process.
	cl := held.Plugins(plugins.KindClassifier)
	if len(cl) != 2 || cl[1] != old {
		t.Fatalf("held set: %v", cl)
	}
	classifyOK(t, old)
	if processGone(oldPID) {
		t.Fatal("the old process was stopped while a job held it")
	}
	held.Release()
	deadline := time.Now().Add(5 * time.Second)
	for !processGone(oldPID) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !processGone(oldPID) {
		t.Fatal("the replaced process outlived the last job holding it")
	}
	if _, err := old.Classify(context.Background(), plugins.Sample{}, stats); !errors.Is(err, ErrReplaced) {
		t.Fatalf("a retired plugin called after release: %v (want ErrReplaced, no restart of the old binary)", err)
	}
	classifyOK(t, pluginNamed(t, m, "good-classifier"))
}

// TestReloadRetriesRefused: a plugin refused at start (checksum mismatch)
// is loaded after it is registered again and reloaded, and a bad
// plugins.json changes nothing.
func TestReloadRetriesRefused(t *testing.T) {
	dir := t.TempDir()
	path := install(t, dir, "good-classifier", "")
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte("tampered"))
	f.Close()
	m := start(t, dir, nil)
	st := pluginNamed(t, m, "good-classifier").Status()
	if st.State != StateRefused || !strings.Contains(st.LastError, "plugins reload") {
		t.Fatalf("status %+v: the checksum message should say how to load a rebuilt binary", st)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Reload(context.Background()); !errors.Is(err, ErrManifest) {
		t.Fatalf("reload of a broken manifest: %v", err)
	}
	if got := pluginNamed(t, m, "good-classifier").Status(); got.State != StateRefused {
		t.Fatalf("a failed reload changed the plugins: %+v", got)
	}
	os.Remove(filepath.Join(dir, ManifestFile))
	if _, err := Register(dir, "good-classifier", path, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := m.Reload(context.Background())
	if err != nil || fmt.Sprint(rep.Replaced) != "[good-classifier]" {
		t.Fatalf("reload: %+v %v", rep, err)
	}
	classifyOK(t, pluginNamed(t, m, "good-classifier"))
}

func writeManifest(t testing.TB, dir string, m Manifest) {
	t.Helper()
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRunByHandNamesTheHarness: a plugin binary run by hand says how to
// test it with the SDK's real harness names (it used to suggest
// plugins/sdk.Harness, which does not exist).
func TestRunByHandNamesTheHarness(t *testing.T) {
	out, err := exec.Command(binary(t, "good-classifier")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "sdk.NewClassifierHarness or sdk.NewFeaturizerHarness") || strings.Contains(string(out), "sdk.Harness,") {
		t.Fatalf("run by hand: %v\n%s", err, out)
	}
}
