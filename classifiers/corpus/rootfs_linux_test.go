//go:build linux

package corpus

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDebianManifestInRootFS runs every item of debian.yaml inside the
// guest's root filesystem on this host (scripts/corpus-check.sh: read-only
// squashfs, tmpfs overlay, private mount, network and PID namespaces,
// chroot, time limit) and fails if more than a few exit non-zero. It needs
// root, the built image ($SCALEMALNET_IMAGE_DIR) and, as it takes minutes,
// SCALEMALNET_CORPUS_CHECK=1. Only benign items ever run here: Atomic Red Team's and
// the project's malicious ones are for disposable VMs only.
// With STRACE=1 it also logs how many system calls the items make.
func TestDebianManifestInRootFS(t *testing.T) {
	if testing.Short() || os.Getenv("SCALEMALNET_CORPUS_CHECK") != "1" {
		t.Skip("set SCALEMALNET_CORPUS_CHECK=1 (and SCALEMALNET_IMAGE_DIR) to run the benign corpus in the root filesystem: it takes minutes")
	}
	dir := os.Getenv("SCALEMALNET_IMAGE_DIR")
	if dir == "" {
		t.Skip("SCALEMALNET_IMAGE_DIR not set: the guest's root filesystem is not at hand")
	}
	rootfs := filepath.Join(dir, "rootfs.squashfs")
	if _, err := os.Stat(rootfs); err != nil {
		t.Skipf("no root filesystem in the image: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (mount, unshare, chroot)")
	}
	m, err := Load(filepath.Join("manifests", "debian.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	scripts := t.TempDir()
	byFile := map[string]string{}
	for i, it := range m.Items {
		if it.Label != LabelBenign || it.Script == "" {
			t.Fatalf("%s: not a benign script: never run on the host", it.ID)
		}
		name := strconv.Itoa(i + 1000)
		byFile[name] = it.ID
		if err := os.WriteFile(filepath.Join(scripts, name), []byte(it.Script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	logs := t.TempDir()
	cmd := exec.CommandContext(t.Context(), filepath.Join("..", "..", "scripts", "corpus-check.sh"), rootfs, scripts, "20", logs)
	cmd.Stderr = os.Stderr
	// On cancel, signal the whole group: the script's namespace init stops
	// after the item in progress (each is bounded by its time limit).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("corpus-check.sh: %v\n%s", err, out)
	}
	ran, failed := 0, 0
	var calls []int // with STRACE=1: system calls per item
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			continue
		}
		ran++
		if len(f) > 3 {
			if n, err := strconv.Atoi(f[3]); err == nil {
				calls = append(calls, n)
			}
		}
		if f[0] != "0" {
			failed++
			b, _ := os.ReadFile(filepath.Join(logs, f[2]+".log"))
			t.Logf("%s: exit %s after %ss:\n%s", byFile[f[2]], f[0], f[1], tail(string(b), 600))
		}
	}
	t.Logf("%d items run in the root filesystem, %d exited non-zero", ran, failed)
	if len(calls) > 0 {
		sort.Ints(calls)
		sum := 0
		for _, n := range calls {
			sum += n
		}
		t.Logf("system calls per item (strace -f, %d items): median %d, 90th percentile %d, max %d, total %d",
			len(calls), calls[len(calls)/2], calls[len(calls)*9/10], calls[len(calls)-1], sum)
	}
	if ran != len(m.Items) {
		t.Errorf("%d of %d items ran", ran, len(m.Items))
	}
	if failed > len(m.Items)/50 {
		t.Errorf("%d items failed (more than 2%%)", failed)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
