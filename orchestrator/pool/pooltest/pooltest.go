// Package pooltest has fakes for tests of the VM pool and the orchestrator:
// libvirt's test driver stands in for QEMU, and an in-process guest agent
// (the real one, with a fake tracer) answers on each slot's channel socket,
// so slots go through the real lifecycle (cold boot, save, restore,
// handshake, verification) in milliseconds.
package pooltest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"libvirt.org/go/libvirtxml"

	"github.com/scalemalnet/scalemalnet/guest/agent"
	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/guest/tracer"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// FakeHV is libvirt's test driver plus a guest agent served on the channel
// socket of every domain it starts, and injectable restore failures.
type FakeHV struct {
	vm.Hypervisor
	t *testing.T

	mu          sync.Mutex
	chans       map[string]string       // domain -> channel socket
	nets        map[string]bool         // domain -> has a network interface
	saved       map[string]string       // save file -> domain
	listeners   map[string]net.Listener // domain -> agent listener
	failRestore map[string]int          // domain -> restores left to fail
	restores    map[string]int          // domain -> restores attempted
}

func New(t *testing.T) *FakeHV {
	hv, err := vm.OpenLibvirt(context.Background(), "test:///default")
	if err != nil {
		t.Fatalf("libvirt test driver: %v", err)
	}
	f := &FakeHV{Hypervisor: hv, t: t, chans: map[string]string{}, saved: map[string]string{},
		listeners: map[string]net.Listener{}, nets: map[string]bool{}, failRestore: map[string]int{}, restores: map[string]int{}}
	t.Cleanup(func() {
		f.mu.Lock()
		for _, l := range f.listeners {
			l.Close()
		}
		f.mu.Unlock()
		// The connection stays open: a libvirt call abandoned by its
		// context (vm.call) may still be running on it.
	})
	return f
}

// boot serves a fresh agent (zero runs) on the domain's channel.
func (f *FakeHV) boot(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l := f.listeners[name]; l != nil {
		l.Close()
	}
	ln, err := net.Listen("unix", f.chans[name])
	if err != nil {
		return err
	}
	f.listeners[name] = ln
	var nics []proto.NetInterface
	if f.nets[name] {
		nics = []proto.NetInterface{{Name: "eth0", Up: true, Addrs: []string{vm.UserGuestAddr + "/24"}}}
	}
	a := agent.New(agent.Config{WorkDir: f.t.TempDir(), Logger: slog.New(slog.DiscardHandler),
		Interfaces: func() []proto.NetInterface { return nics },
		Run: func(ctx context.Context, cfg tracer.Config, emit func(trace.Window) error) (trace.Summary, error) {
			return trace.Summary{Outcome: trace.OutcomeExited, Processes: []trace.Process{{PID: 1, Exe: "/tmp/smn/sample"}}}, nil
		}})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = a.Serve(context.Background(), c)
			}()
		}
	}()
	return nil
}

func (f *FakeHV) stop(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l := f.listeners[name]; l != nil {
		l.Close()
		delete(f.listeners, name)
	}
}

func (f *FakeHV) Create(ctx context.Context, xml string) error {
	var d libvirtxml.Domain
	if err := d.Unmarshal(xml); err != nil {
		return err
	}
	if err := f.Hypervisor.Create(ctx, xml); err != nil {
		return err
	}
	f.mu.Lock()
	f.chans[d.Name] = d.Devices.Channels[0].Source.UNIX.Path
	f.nets[d.Name] = len(d.Devices.Interfaces) > 0
	f.mu.Unlock()
	return f.boot(d.Name)
}

func (f *FakeHV) Save(ctx context.Context, name, path string) error {
	if err := f.Hypervisor.Save(ctx, name, path); err != nil {
		return err
	}
	f.stop(name)
	f.mu.Lock()
	f.saved[strings.TrimSuffix(path, ".tmp")] = name
	f.saved[path] = name
	f.mu.Unlock()
	return nil
}

func (f *FakeHV) Restore(ctx context.Context, path, xml string) error {
	f.mu.Lock()
	name := f.saved[path]
	f.restores[name]++
	fail := f.failRestore[name] > 0
	if fail {
		f.failRestore[name]--
	}
	f.mu.Unlock()
	if fail {
		return fmt.Errorf("injected restore failure of %s", name)
	}
	if err := f.Hypervisor.Restore(ctx, path, xml); err != nil {
		return err
	}
	return f.boot(name)
}

func (f *FakeHV) Destroy(ctx context.Context, name string) error {
	f.stop(name)
	return f.Hypervisor.Destroy(ctx, name)
}

func (f *FakeHV) FailNext(domain string, n int) {
	f.mu.Lock()
	f.failRestore[domain] = n
	f.mu.Unlock()
}

func Image(t *testing.T) vm.Image {
	dir := t.TempDir()
	for _, f := range []string{"vmlinux", "initramfs.cpio.gz"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := json.Marshal(map[string]any{
		"schema": 1, "cmdline": "console=ttyS0",
		"kernel":    map[string]string{"release": "6.1.0-test", "vmlinux": "vmlinux", "vmlinux_sha256": "aa"},
		"initramfs": "initramfs.cpio.gz", "initramfs_sha256": "bb",
	})
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), m, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := vm.LoadImage(dir)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
