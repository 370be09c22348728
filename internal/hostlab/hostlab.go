// Package hostlab drives scripts/hostlab.sh for tests: extra libvirt hosts
// on this machine, each a network namespace with its own libvirtd reached
// over qemu+tcp on a veth pair (docs/scale-out.md). It is for tests only.
package hostlab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Lab is a set of namespaced hosts whose state lives in Dir.
type Lab struct {
	Dir    string
	script string
}

// Script is the path of scripts/hostlab.sh in this checkout.
func Script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "scripts", "hostlab.sh")
}

// Need stops the test when namespaced hosts cannot be made here (not
// root, no ip or unshare): it fails under CI and skips elsewhere.
func Need(tb testing.TB) {
	tb.Helper()
	stop := tb.Skipf
	if os.Getenv("CI") != "" {
		stop = tb.Fatalf
	}
	if os.Geteuid() != 0 {
		stop("hostlab: needs root (network namespaces, a private libvirtd per host)")
	}
	for _, b := range []string{"ip", "unshare", "nsenter", "libvirtd", "virtlogd", "virsh", "tini"} {
		if _, err := exec.LookPath(b); err != nil {
			stop("hostlab: %s not found (scripts/setup-host.sh installs it)", b)
		}
	}
}

// New returns a lab whose hosts' state lives in a fresh directory; the
// hosts started through it are removed when the test ends.
func New(tb testing.TB) *Lab {
	tb.Helper()
	dir, err := os.MkdirTemp("", "smn-hostlab-")
	if err != nil {
		tb.Fatal(err)
	}
	l := &Lab{Dir: dir, script: Script()}
	tb.Cleanup(func() {
		if out, err := l.run("down"); err != nil {
			tb.Logf("hostlab down: %v\n%s", err, out)
		}
		_ = os.RemoveAll(dir)
	})
	return l
}

func (l *Lab) run(args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{l.script}, args...)...)
	cmd.Env = append(os.Environ(), "HOSTLAB_DIR="+l.Dir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// URI is host n's libvirt URI.
func URI(n int) string { return fmt.Sprintf("qemu+tcp://10.213.%d.2/system", n) }

// Start brings host n (1..9) up: namespace, veth pair, virtlogd, libvirtd.
func (l *Lab) Start(tb testing.TB, n int) string {
	tb.Helper()
	if out, err := l.run("start", strconv.Itoa(n)); err != nil {
		tb.Fatalf("hostlab start %d: %v\n%s", n, err, strings.TrimSpace(out))
	}
	return URI(n)
}

// Kill SIGKILLs host n's libvirtd (its QEMU processes keep running).
func (l *Lab) Kill(tb testing.TB, n int) {
	tb.Helper()
	if out, err := l.run("kill", strconv.Itoa(n)); err != nil {
		tb.Fatalf("hostlab kill %d: %v\n%s", n, err, out)
	}
}

// Stop removes host n entirely.
func (l *Lab) Stop(tb testing.TB, n int) {
	tb.Helper()
	if out, err := l.run("stop", strconv.Itoa(n)); err != nil {
		tb.Fatalf("hostlab stop %d: %v\n%s", n, err, out)
	}
}
