//go:build linux && amd64

package tracer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// TestMain removes the programs built by testProgram.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// testProgram compiles testdata/<name>.c statically (once per test binary)
// and returns the binary's path.
func testProgram(tb testing.TB, name string) string {
	tb.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "tracer-testdata-")
		if buildErr != nil {
			return
		}
		srcs, _ := filepath.Glob("testdata/*.c")
		for _, src := range srcs {
			bin := filepath.Join(buildDir, filepath.Base(src[:len(src)-2]))
			out, err := exec.Command("gcc", "-static", "-O1", "-pthread", "-o", bin, src).CombinedOutput()
			if err != nil {
				buildErr = &buildError{src, err, string(out)}
				return
			}
		}
	})
	if buildErr != nil {
		tb.Fatalf("build test programs: %v", buildErr)
	}
	return filepath.Join(buildDir, name)
}

type buildError struct {
	src string
	err error
	out string
}

func (e *buildError) Error() string { return e.src + ": " + e.err.Error() + "\n" + e.out }

// requirePtrace skips when this host forbids ptrace (it must not, here).
func requirePtrace(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc: cannot run tracer tests")
	}
	if b, err := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope"); err == nil && len(b) > 0 && b[0] == '3' {
		t.Skip("ptrace disabled by yama ptrace_scope=3")
	}
}

// traced runs cfg and collects the emitted windows.
func traced(t *testing.T, cfg Config) (trace.Trace, error) {
	t.Helper()
	requirePtrace(t)
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Window == 0 {
		cfg.Window = 100 * time.Millisecond
	}
	if cfg.Env == nil {
		cfg.Env = []string{"PATH=/usr/bin:/bin"}
	}
	var tr trace.Trace
	sum, err := Run(context.Background(), cfg, func(w trace.Window) error {
		tr.Windows = append(tr.Windows, w)
		return nil
	})
	tr.Summary = sum
	if verr := tr.Validate(); verr != nil {
		t.Errorf("trace invalid: %v", verr)
	}
	if sum.Windows != len(tr.Windows) {
		t.Errorf("summary says %d windows, %d emitted", sum.Windows, len(tr.Windows))
	}
	return tr, err
}

func findEvents(tr trace.Trace, name string) []trace.Event {
	var out []trace.Event
	for _, e := range tr.Events() {
		if e.Name == name {
			out = append(out, e)
		}
	}
	return out
}
