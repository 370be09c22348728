//go:build linux

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/agent"
)

// The root filesystem: a read-only squashfs on a virtio disk (named on the
// kernel command line as smn.root=vda) under an overlay whose upper layer
// is a tmpfs in guest RAM. Everything a sample writes stays in memory, so
// the saved memory image alone is the clean state: there is nothing on disk
// to revert.
const (
	rootDiskWait = 15 * time.Second
	lowerDir     = "/.smn/lower" // squashfs, read-only
	rwDir        = "/.smn/rw"    // tmpfs: upper and work dirs of the overlay
	newRoot      = "/.smn/root"  // the overlay, moved onto / at the end
)

// cmdlineFlag returns the value of name=value on the kernel command line.
func cmdlineFlag(name string) string {
	b, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return ""
	}
	for _, f := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(f, name+"="); ok {
			return v
		}
	}
	return ""
}

// rootDevice returns the smn.root= device of the kernel command line, "".
func rootDevice() string {
	v := cmdlineFlag("smn.root")
	if strings.ContainsAny(v, "/.") {
		return ""
	}
	return v
}

// switchRoot mounts the root filesystem with its overlay and makes it the
// root of the agent and of everything it starts (as switch_root does: the
// pseudo filesystems move along; the initramfs stays underneath, unused).
func switchRoot(dev string, log *slog.Logger) error {
	node := "/dev/" + dev
	deadline := time.Now().Add(rootDiskWait)
	for {
		if _, err := os.Stat(node); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("root disk %s did not appear within %v (is virtio_blk loaded? is the disk attached?)", node, rootDiskWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, d := range []string{lowerDir, rwDir, newRoot} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := syscall.Mount(node, lowerDir, "squashfs", syscall.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("mount %s (squashfs): %w", node, err)
	}
	if err := syscall.Mount("tmpfs", rwDir, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("mount tmpfs for the overlay: %w", err)
	}
	for _, d := range []string{"upper", "work"} {
		if err := os.MkdirAll(filepath.Join(rwDir, d), 0o755); err != nil {
			return err
		}
	}
	opts := "lowerdir=" + lowerDir + ",upperdir=" + rwDir + "/upper,workdir=" + rwDir + "/work"
	if err := syscall.Mount("overlay", newRoot, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay: %w", err)
	}
	for _, m := range []string{"/dev", "/proc", "/sys", "/tmp", "/run"} {
		dst := newRoot + m
		_ = os.MkdirAll(dst, 0o755)
		if err := syscall.Mount(m, dst, "", syscall.MS_MOVE, ""); err != nil {
			return fmt.Errorf("move %s: %w", m, err)
		}
	}
	if err := syscall.Chdir(newRoot); err != nil {
		return err
	}
	if err := syscall.Mount(".", "/", "", syscall.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move the new root onto /: %w", err)
	}
	if err := syscall.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	if err := syscall.Chdir("/"); err != nil {
		return err
	}
	if b, err := os.ReadFile("/etc/hostname"); err == nil {
		_ = syscall.Sethostname([]byte(strings.TrimSpace(string(b))))
	}
	say(log, "root filesystem mounted", "device", node, "overlay", "tmpfs")
	return nil
}

// warmWine starts the wineserver (persistent) and runs one trivial Windows
// program (64-bit), so that Wine's own processes and its files in the page cache
// are part of the clean state that is saved after boot: a Windows sample
// then starts at once after a restore. Without Wine in the image it does
// nothing.
func warmWine(ctx context.Context, w agent.Wine, log *slog.Logger) {
	if _, err := os.Stat(w.Loader64); err != nil {
		return
	}
	if _, err := os.Stat(filepath.Join(w.Prefix, "system.reg")); err != nil {
		log.Warn("smn-agent: Wine without a prefix: Windows samples will start slowly", "prefix", w.Prefix)
		return
	}
	start := time.Now()
	if inc := relayInclude(); inc != "" {
		if err := setRelayInclude(w.Prefix, inc); err != nil {
			log.Warn("smn-agent: RelayInclude not set: the relay channel logs every call", "err", err)
		}
	}
	env := []string{"HOME=/root", "PATH=/usr/bin:/bin:/usr/sbin:/sbin", "WINEPREFIX=" + w.Prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml="}
	srv := exec.Command("/usr/lib/wine/wineserver", "-p")
	srv.Env = env
	if err := srv.Run(); err != nil { // it forks into the background
		log.Warn("smn-agent: wineserver", "err", err)
		return
	}
	if cmdlineFlag("smn.wine") == "lazy" {
		say(log, "wineserver started; Wine's services start with the first Windows program (smn.wine=lazy)")
		return
	}
	// One 64-bit program starts Wine's services (services.exe, winedevice,
	// plugplay, ...), which stay; they serve 32-bit programs too.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	// Output to a file, not a pipe: Wine's services inherit the program's
	// output and keep it open, so reading a pipe to its end never returns.
	out, err := os.CreateTemp("", "smn-wine-warmup-*.log")
	if err != nil {
		log.Warn("smn-agent: Wine warm-up", "err", err)
		return
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd := exec.CommandContext(ctx, w.Loader64, "cmd.exe", "/c", "exit")
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, "/tmp", out, out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(out.Name())
		log.Warn("smn-agent: Wine warm-up", "err", err, "output", string(b[:min(len(b), 2048)]))
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs("/", &st); err == nil {
		// The overlay's upper layer is guest RAM: what the warm-up wrote is
		// gone from every sample's room (see .update-timestamp in
		// vmimages/build.sh for how this once filled it).
		used := (st.Blocks - st.Bfree) * uint64(st.Bsize) >> 20
		free := st.Bavail * uint64(st.Bsize) >> 20
		say(log, "wine warmed up", "took", time.Since(start).Round(time.Millisecond), "root_used_mib", used, "root_free_mib", free)
		return
	}
	say(log, "wine warmed up", "took", time.Since(start).Round(time.Millisecond))
}

// setRelayInclude narrows Wine's relay channel to the recorded API set by
// adding HKCU\Software\Wine\Debug\RelayInclude to the prefix's user.reg
// before the wineserver loads it (the file is in the tmpfs overlay: the
// image is not changed). Done here rather than when the image is built so
// that a change of the recorded set needs no new image.
func setRelayInclude(prefix, value string) error {
	if strings.ContainsAny(value, "\"\\\n") {
		return fmt.Errorf("RelayInclude value has quotes, backslashes or newlines")
	}
	f, err := os.OpenFile(filepath.Join(prefix, "user.reg"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "\n[Software\\\\Wine\\\\Debug] %d\n\"RelayInclude\"=\"%s\"\n", time.Now().Unix(), value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
