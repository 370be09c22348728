package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/plugins/host"
)

// fakeImage writes a guest image directory that passes the orchestrator's
// checks at start but boots nothing: with libvirt's in-process test driver
// no VM runs, so the test needs neither libvirtd nor a built image.
func fakeImage(t *testing.T) string {
	dir := t.TempDir()
	for _, f := range []string{"vmlinux", "initramfs.cpio.gz"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("not a kernel"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := `{"schema": 1, "kernel": {"vmlinux": "vmlinux", "vmlinux_sha256": "00"}, "initramfs": "initramfs.cpio.gz", "initramfs_sha256": "00"}`
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSIGHUPWithoutConfigReloadsPlugins starts a real orchestrator without
// --config (issue 17: SIGHUP killed it, silently), registers a plugin
// after it started, and sends SIGHUP: the orchestrator keeps serving, logs
// the reload, and the plugin is loaded. A rebuilt binary registered again
// is then picked up by `plugins reload` with its new checksum.
func TestSIGHUPWithoutConfigReloadsPlugins(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and a plugin, starts the orchestrator")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	plugin := filepath.Join(dir, "syscall-heuristic")
	if out, err := exec.Command("go", "build", "-o", plugin, "../../plugins/examples/syscall-heuristic").CombinedOutput(); err != nil {
		t.Fatalf("go build plugin: %v\n%s", err, out)
	}
	o := &orchestrator{t: t, bin: bin, dataDir: filepath.Join(dir, "data"), sock: filepath.Join(dir, "api.sock"), log: filepath.Join(dir, "serve.log")}
	os.Mkdir(filepath.Join(dir, "models"), 0o700)
	o.args = []string{"serve", "--data-dir", o.dataDir, "--listen", "unix:" + o.sock, "--slots", "1", "--libvirt", "test:///default",
		"--image", fakeImage(t), "--models", filepath.Join(dir, "models"), "--min-free", "off", "--wine", "lazy"}
	t.Cleanup(func() {
		if o.cmd != nil {
			o.kill9()
		}
		if t.Failed() {
			if b, err := os.ReadFile(o.log); err == nil {
				t.Logf("serve log:\n%s", b[max(0, len(b)-6000):])
			}
		}
	})
	o.start()
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "SCALEMALNET_DATA_DIR="+o.dataDir, "SCALEMALNET_ADDR=unix:"+o.sock)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("scalemalnet %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	status := func() host.Status {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ps, err := o.c.Plugins(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if p.Name == "syscall-heuristic" {
				return p
			}
		}
		t.Fatalf("syscall-heuristic not listed: %+v", ps)
		return host.Status{}
	}

	cli("plugins", "register", plugin)
	if st := status(); st.State != host.StateNotLoaded {
		t.Fatalf("registered after start: %+v (want %s)", st, host.StateNotLoaded)
	}

	if err := o.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the plugin loaded by SIGHUP", func() bool { return status().State == host.StateRunning })
	select {
	case <-o.exited:
		t.Fatalf("serve exited after SIGHUP: %v", o.cmd.ProcessState)
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := o.c.Health(ctx); err != nil {
		t.Fatalf("not serving after SIGHUP: %v", err)
	}
	logb, _ := os.ReadFile(o.log)
	for _, want := range []string{"SIGHUP: plugins reloaded", "no configuration file to reload"} {
		if !strings.Contains(string(logb), want) {
			t.Errorf("serve log lacks %q", want)
		}
	}

	// Rebuilt (other bytes), registered again, reloaded through the CLI.
	first := status().SHA256
	b, err := os.ReadFile(plugin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plugin, append(b, "rebuilt"...), 0o755); err != nil {
		t.Fatal(err)
	}
	cli("plugins", "register", plugin)
	if st := status(); st.SHA256 != first || !strings.Contains(st.Pending, "registered again") {
		t.Fatalf("before reload: %+v", st)
	}
	out := cli("plugins", "reload")
	if !strings.Contains(out, "replaced  syscall-heuristic") {
		t.Fatalf("plugins reload: %s", out)
	}
	if st := status(); st.State != host.StateRunning || st.SHA256 == first || st.Pending != "" {
		t.Fatalf("after reload: %+v (first sha256 %s)", st, first)
	}

	// A refused plugin (registered under a name it does not answer to):
	// the reload says so and exits 1, and health is degraded with the
	// reason (it used to stay "ok").
	cli("plugins", "register", plugin, "--name", "wrong-name")
	cmd := exec.Command(bin, "plugins", "reload")
	cmd.Env = append(os.Environ(), "SCALEMALNET_DATA_DIR="+o.dataDir, "SCALEMALNET_ADDR=unix:"+o.sock)
	rout, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(rout), "problem   wrong-name: refused") {
		t.Fatalf("reload with a refused plugin: %v\n%s", err, rout)
	}
	hctx, hcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer hcancel()
	h, err := o.c.Health(hctx)
	if err != nil || h.Status != "degraded" || len(h.PluginProblems) != 1 || !strings.Contains(h.PluginProblems[0], `calls itself "syscall-heuristic"`) {
		t.Fatalf("health with a refused plugin: %+v %v", h, err)
	}
	cmd = exec.Command(bin, "health")
	cmd.Env = append(os.Environ(), "SCALEMALNET_DATA_DIR="+o.dataDir, "SCALEMALNET_ADDR=unix:"+o.sock)
	hout, _ := cmd.CombinedOutput()
	if !strings.Contains(string(hout), "degraded: plugin: wrong-name: refused") {
		t.Fatalf("health text does not name the refused plugin:\n%s", hout)
	}
	o.stop()
}
