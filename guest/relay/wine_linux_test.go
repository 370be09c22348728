//go:build linux && amd64

package relay

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/guest/tracer"
)

const wine64 = "/usr/lib/wine/wine64"

// The Wine host of the tests: one prefix and one set of built programs per
// test binary (wineboot takes 10-30 s).
var (
	wineOnce     sync.Once
	wineDir      string
	wineEnv      []string
	wineFresh    bool
	wineErr      error
	wineSkip     string
	winePrograms = []string{"ransom", "runkey", "inject", "antidebug", "enumerate"}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if wineFresh {
		// Stop this prefix's wineserver and services (-k acts on WINEPREFIX's
		// server only).
		k := exec.Command("/usr/lib/wine/wineserver", "-k")
		k.Env = wineEnv
		_ = k.Run()
	}
	if wineDir != "" {
		os.RemoveAll(wineDir)
	}
	os.Exit(code)
}

// wineHost prepares what the Wine tests need on the host: wine64 (Debian's
// package), the test programs of samples/windows built with mingw-w64, a Wine
// prefix (SCALEMALNET_WINEPREFIX, else a fresh one) with RelayInclude set to
// Include(), and a wineserver started outside any trace, as the guest has
// after warm-up. It skips (fails under CI=true) when wine64 or mingw-w64 is
// missing. It returns the environment and the folder of the programs.
func wineHost(t *testing.T) (env []string, bin string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Wine: skipped with -short")
	}
	wineOnce.Do(setupWine)
	if wineSkip != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(wineSkip)
		}
		t.Skip(wineSkip)
	}
	if wineErr != nil {
		t.Fatal(wineErr)
	}
	return append([]string(nil), wineEnv...), filepath.Join(wineDir, "bin")
}

func setupWine() {
	for _, p := range []string{wine64, "/usr/bin/x86_64-w64-mingw32-gcc"} {
		if _, err := os.Stat(p); err != nil {
			wineSkip = p + " missing (scripts/setup-host.sh installs wine64 and mingw-w64)"
			return
		}
	}
	if wineDir, wineErr = os.MkdirTemp("", "relay-wine-"); wineErr != nil {
		return
	}
	bin := filepath.Join(wineDir, "bin")
	if wineErr = os.MkdirAll(bin, 0o755); wineErr != nil {
		return
	}
	for _, name := range winePrograms {
		out, err := exec.Command("x86_64-w64-mingw32-gcc", "-O2", "-s", "-o", filepath.Join(bin, name+".exe"),
			filepath.Join("..", "..", "samples", "windows", name+".c"), "-ladvapi32").CombinedOutput()
		if err != nil {
			wineErr = fmt.Errorf("building %s.exe: %v\n%s", name, err, out)
			return
		}
	}
	prefix := os.Getenv("SCALEMALNET_WINEPREFIX")
	if prefix == "" {
		prefix, wineFresh = filepath.Join(wineDir, "prefix"), true
	}
	wineEnv = append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all")
	if wineErr = os.MkdirAll(prefix, 0o755); wineErr != nil {
		return
	}
	reg := filepath.Join(wineDir, "include.reg")
	content := "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Software\\Wine\\Debug]\r\n" +
		"\"RelayInclude\"=\"" + Include() + "\"\r\n"
	if wineErr = os.WriteFile(reg, []byte(content), 0o644); wineErr != nil {
		return
	}
	// A persistent wineserver first (a fresh prefix only: a given one may
	// have its server running), then wineboot and the include list. Wine's
	// daemons inherit the output: a file, not a pipe, so Run does not wait
	// for them.
	steps := [][]string{{wine64, "wineboot", "-i"}, {wine64, "regedit", reg}}
	if wineFresh {
		steps = append([][]string{{"/usr/lib/wine/wineserver", "-p"}}, steps...)
	}
	for _, args := range steps {
		if out, err := runToFile(wineEnv, wineDir, args...); err != nil {
			wineErr = fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
			return
		}
	}
}

// runToFile runs a command with its output in a file and returns the output.
func runToFile(env []string, dir string, args ...string) ([]byte, error) {
	f, err := os.CreateTemp("", "relay-out-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, dir, f, f
	err = cmd.Run()
	out, _ := os.ReadFile(f.Name())
	return out, err
}

// relayRun runs a program under Wine with the relay channel on and returns
// its stdout and the parsed relay calls.
func relayRun(t *testing.T, env []string, dir string, args ...string) (string, []Line, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(wine64, args...)
	cmd.Env = append(env, "WINEDEBUG=+pid,+relay")
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &stdout, &stderr
	// Wine's daemons are already up, so nothing outlives the program with
	// these pipes open.
	if err := cmd.Run(); err != nil {
		t.Fatalf("wine64 %v: %v\n%s", args, err, stdout.String())
	}
	var calls []Line
	lines := 0
	sc := bufio.NewScanner(&stderr)
	sc.Buffer(nil, MaxLine)
	for sc.Scan() {
		lines++
		if l, err := Parse(sc.Bytes()); err == nil {
			calls = append(calls, l)
		}
	}
	return stdout.String(), calls, lines
}

// TestSamplesUnderWine runs each harmless test program of samples/windows
// under Wine with the relay channel limited to the recorded API set, and
// checks that the log shows the behaviour each imitates, and none of the
// calls the include list leaves out.
func TestSamplesUnderWine(t *testing.T) {
	env, bin := wineHost(t)
	type want struct {
		fn   string
		min  int
		path string // suffix of Path in at least one call, if set
	}
	cases := []struct {
		prog  string
		args  []string
		out   string
		calls []want
	}{
		{"ransom", nil, "encrypted 3 files", []want{{"CreateDirectoryA", 1, "smn-ransom-test"}, {"CreateFileA", 6, `\report.docx`},
			{"MoveFileExA", 3, ".docx"}, {"DeleteFileA", 1, ".bak"}, {"CryptAcquireContextA", 1, ""}, {"CryptGenRandom", 1, ""}}},
		{"runkey", nil, `CurrentVersion\Run\SmnTestPersistence`, []want{{"RegCreateKeyExA", 2, `CurrentVersion\Run`},
			{"RegSetValueExA", 2, "SmnTestPersistence"}, {"RegDeleteValueA", 1, "Installed"}, {"RegDeleteKeyA", 1, `Software\SmnTest`},
			{"NtSetValueKey", 2, ""}, {"NtDeleteKey", 1, ""}}},
		{"inject", nil, "ended with code 0", []want{{"CreateProcessA", 1, `\hostname.exe`}, {"OpenProcess", 1, ""},
			{"VirtualAllocEx", 1, ""}, {"WriteProcessMemory", 1, ""}, {"NtWriteVirtualMemory", 1, ""}, {"CreateRemoteThread", 1, ""}}},
		{"antidebug", []string{"100"}, "debugger local=0", []want{{"IsDebuggerPresent", 1, ""}, {"CheckRemoteDebuggerPresent", 1, ""},
			{"NtQueryInformationProcess", 1, ""}, {"Sleep", 1, ""}, {"NtDelayExecution", 1, ""}}},
		{"enumerate", nil, "processes", []want{{"CreateToolhelp32Snapshot", 1, ""}, {"Process32First", 1, ""},
			{"FindFirstFileA", 1, `\*`}, {"FindNextFileA", 10, ""}, {"GetUserNameA", 1, ""}}},
	}
	recorded := map[string]bool{}
	for _, n := range Names() {
		recorded[n] = true
	}
	for _, c := range cases {
		t.Run(c.prog, func(t *testing.T) {
			dir := t.TempDir()
			out, calls, lines := relayRun(t, env, dir, append([]string{filepath.Join(bin, c.prog+".exe")}, c.args...)...)
			if !strings.Contains(out, c.out) {
				t.Fatalf("output %q, want %q", out, c.out)
			}
			count := map[string]int{}
			paths := map[string][]string{}
			for _, l := range calls {
				if l.Kind != Call {
					continue
				}
				if !recorded[l.Func] {
					t.Errorf("%s.%s relayed although RelayInclude leaves it out", l.Module, l.Func)
				}
				count[l.Func]++
				paths[l.Func] = append(paths[l.Func], l.Path)
			}
			for _, w := range c.calls {
				if count[w.fn] < w.min {
					t.Errorf("%s: %d calls, want at least %d", w.fn, count[w.fn], w.min)
					continue
				}
				if w.path == "" {
					continue
				}
				found := false
				for _, p := range paths[w.fn] {
					found = found || strings.HasSuffix(p, w.path)
				}
				if !found {
					t.Errorf("%s: no path ending in %q among %q", w.fn, w.path, paths[w.fn])
				}
			}
			t.Logf("%s: %d relay lines, %d calls and returns parsed", c.prog, lines, len(calls))
		})
	}
}

// TestWineUnderTracer records what happens when the project's ptrace tracer
// follows a Windows program under Wine (docs/windows.md, "Wine and the
// tracer"). Wine 8.0's wineserver implements WriteProcessMemory and
// ReadProcessMemory with PTRACE_ATTACH + PTRACE_PEEKDATA/POKEDATA on the
// target process; a process already traced cannot be attached, so inside the
// trace WriteProcessMemory fails with ERROR_ACCESS_DENIED (5), while the
// same program outside the trace succeeds. The relay channel records the API
// calls either way.
func TestWineUnderTracer(t *testing.T) {
	env, bin := wineHost(t)
	inject := filepath.Join(bin, "inject.exe")
	dir := t.TempDir()

	// Outside the trace: the injection works.
	out, err := runToFile(env, dir, wine64, inject)
	if err != nil || !bytes.Contains(out, []byte("remote thread")) || !bytes.Contains(out, []byte("ended with code 0")) {
		t.Fatalf("untraced inject.exe: %v\n%s", err, out)
	}

	// Inside the trace, with the relay channel written to a file.
	log := filepath.Join(dir, "relay.log")
	tenv := append(env[:len(env):len(env)], "WINEDEBUG=+pid,+relay")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var windows []trace.Window
	sum, err := tracer.Run(ctx, tracer.Config{
		Path:    "/bin/sh",
		Args:    []string{"sh", "-c", `exec "$0" "$1" 2>"$2"`, wine64, inject, log},
		Env:     tenv,
		Dir:     dir,
		Timeout: 2 * time.Minute,
	}, func(w trace.Window) error { windows = append(windows, w); return nil })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("traced: outcome %s exit %d, %d processes, %d system calls; output %q",
		sum.Outcome, sum.ExitCode, len(sum.Processes), sum.Events, sum.Stdout)
	if sum.Outcome != trace.OutcomeExited || sum.ExitCode != 1 ||
		!strings.Contains(sum.Stdout, "WriteProcessMemory failed (error 5)") {
		t.Fatalf("want inject.exe to fail WriteProcessMemory with access denied under the tracer; got %s %d %q",
			sum.Outcome, sum.ExitCode, sum.Stdout)
	}
	// The tracer followed Wine's processes: the loader, its preloader exec
	// and the target program Wine started (hostname.exe).
	if len(sum.Processes) < 2 {
		t.Errorf("%d processes traced, want Wine's tree", len(sum.Processes))
	}
	// No process of the traced tree called ptrace itself: wineserver (outside
	// the trace) is the one that does.
	for _, w := range windows {
		if w.Counts["ptrace"] > 0 {
			t.Errorf("window %d: %d ptrace calls inside the tree", w.Index, w.Counts["ptrace"])
		}
	}
	// The relay channel still recorded the calls, the failed one included.
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, MaxLine)
	seen := map[string]int{}
	var wpmRet string
	pending := map[int]string{}
	for sc.Scan() {
		l, err := Parse(sc.Bytes())
		if err != nil {
			continue
		}
		if l.Kind == Call {
			seen[l.Func]++
			pending[l.TID] = l.Func
		} else if l.Func == "WriteProcessMemory" {
			wpmRet = l.Retval
		}
	}
	for _, fn := range []string{"CreateProcessA", "OpenProcess", "VirtualAllocEx", "WriteProcessMemory", "NtWriteVirtualMemory"} {
		if seen[fn] == 0 {
			t.Errorf("relay log has no %s call", fn)
		}
	}
	if wpmRet != "00000000" {
		t.Errorf("WriteProcessMemory returned %q in the relay log, want 00000000 (FALSE)", wpmRet)
	}
}
