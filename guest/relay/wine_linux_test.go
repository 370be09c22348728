//go:build linux && amd64

package relay

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/guest/tracer"
)

const wine64 = "/usr/lib/wine/wine64"

// wineHost prepares what the Wine tests need on the host: wine64 (Debian's
// package), mingw-w64 to build the test program, a Wine prefix (reused from
// SCALEMALNET_WINEPREFIX, else a fresh one, which takes wineboot 10-30 s) and
// a wineserver started outside any trace. It skips (fails under CI=true)
// when wine64 or mingw-w64 is missing.
func wineHost(t *testing.T) (env []string, inject string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Wine: skipped with -short")
	}
	for _, p := range []string{wine64, "/usr/bin/x86_64-w64-mingw32-gcc"} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s missing (scripts/setup-host.sh installs wine64 and mingw-w64)", p)
			}
			t.Skipf("%s missing (scripts/setup-host.sh installs wine64 and mingw-w64)", p)
		}
	}
	dir := t.TempDir()
	inject = filepath.Join(dir, "inject.exe")
	if out, err := exec.Command("x86_64-w64-mingw32-gcc", "-O2", "-s", "-o", inject,
		filepath.Join("..", "..", "samples", "windows", "inject.c")).CombinedOutput(); err != nil {
		t.Fatalf("building inject.exe: %v\n%s", err, out)
	}
	prefix, fresh := os.Getenv("SCALEMALNET_WINEPREFIX"), false
	if prefix == "" {
		prefix, fresh = filepath.Join(dir, "prefix"), true
	}
	env = append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all")
	if fresh {
		// Stop this prefix's wineserver and services at the end (-k acts on
		// WINEPREFIX's server only).
		t.Cleanup(func() {
			k := exec.Command("/usr/lib/wine/wineserver", "-k")
			k.Env = env
			_ = k.Run()
		})
	}
	// A persistent wineserver outside the trace, then wineboot, as the guest
	// has after warm-up. Wine's daemons inherit the output: a file, not a
	// pipe, so that Run does not wait for them.
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"/usr/lib/wine/wineserver", "-p"}, {wine64, "wineboot", "-i"}} {
		if !fresh && args[0] != wine64 {
			continue // the prefix's own wineserver may already run
		}
		if out, err := runToFile(env, dir, args...); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return env, inject
}

// runToFile runs a command with its output in a file and returns the output.
func runToFile(env []string, dir string, args ...string) ([]byte, error) {
	f, err := os.CreateTemp(dir, "out-")
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

// TestWineUnderTracer records what happens when the project's ptrace tracer
// follows a Windows program under Wine (docs/windows.md, "Wine and the
// tracer"). Wine 8.0's wineserver implements WriteProcessMemory and
// ReadProcessMemory with PTRACE_ATTACH + PTRACE_PEEKDATA/POKEDATA on the
// target process; a process already traced cannot be attached, so inside the
// trace WriteProcessMemory fails with ERROR_ACCESS_DENIED (5), while the
// same program outside the trace succeeds. The relay channel records the API
// calls either way.
func TestWineUnderTracer(t *testing.T) {
	env, inject := wineHost(t)
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
