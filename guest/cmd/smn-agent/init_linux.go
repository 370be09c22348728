//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/scalemalnet/scalemalnet/guest/agent"
	"github.com/scalemalnet/scalemalnet/guest/tracer"
)

// PortName is the virtio-serial port name the host's channel uses.
const PortName = "org.scalemalnet.agent.0"

const (
	moduleDir       = "/lib/modules/scalemalnet"
	sysFinitModule  = 313
	noHostRetry     = 20 * time.Millisecond
	portWaitTimeout = 30 * time.Second
)

// openConsole returns /dev/console for logs (mounting devtmpfs first if
// needed), stderr if it cannot be opened.
func openConsole() io.Writer {
	_ = os.MkdirAll("/dev", 0o755)
	_ = syscall.Mount("devtmpfs", "/dev", "devtmpfs", 0, "")
	if f, err := os.OpenFile("/dev/console", os.O_WRONLY, 0); err == nil {
		return f
	}
	return os.Stderr
}

// say prints a stage line to the console (through the logger).
func say(log *slog.Logger, msg string, args ...any) { log.Info("smn-agent: "+msg, args...) }

// runInit is PID 1's life: set up the system, then serve forever.
func runInit(ctx context.Context, cfg agent.Config, log *slog.Logger) {
	defer func() {
		// PID 1 must not exit (the kernel would panic): restart the VM.
		r := recover()
		log.Error("smn-agent: fatal, rebooting", "panic", r)
		syscall.Sync()
		_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_RESTART)
		select {}
	}()
	say(log, "starting as init", "version", agent.Version)
	mountAll(log)
	loadModules(log)
	if dev := rootDevice(); dev != "" {
		if err := switchRoot(dev, log); err != nil {
			// Still serve: the host sees the busybox guest and samples
			// that need the root filesystem are refused with a reason.
			log.Error("smn-agent: root filesystem", "err", err)
		}
	}
	if err := loopbackUp(); err != nil {
		log.Error("smn-agent: loopback", "err", err)
	} else {
		say(log, "loopback up")
	}
	networkUp(log)
	_ = os.MkdirAll(cfg.WorkDir, 0o755)
	_ = os.MkdirAll("/root", 0o700)
	if cfg.Wine == (agent.Wine{}) {
		cfg.Wine = agent.DefaultWine
	}
	warmWine(ctx, cfg.Wine, log) // before the reaper: it waits for its own children
	go reaper()

	a := agent.New(cfg)
	for {
		port, name, err := openPort(log)
		if err != nil {
			log.Error("smn-agent: no agent port", "err", err)
			time.Sleep(time.Second)
			continue
		}
		say(log, "ready on "+name)
		serveForever(ctx, a, port, log)
	}
}

// serveForever serves sessions on the port; it returns only if the port
// fails in a way that suggests reopening it.
func serveForever(ctx context.Context, a *agent.Agent, port *os.File, log *slog.Logger) {
	defer port.Close()
	fails := 0
	for {
		err := serveOnce(ctx, a, port)
		switch {
		case errors.Is(err, io.EOF): // no host connected
			time.Sleep(noHostRetry)
			continue
		case err == nil:
			log.Info("smn-agent: host disconnected")
			fails = 0
		default:
			log.Warn("smn-agent: session ended", "err", err)
			var errno syscall.Errno
			if errors.As(err, &errno) {
				if fails++; fails > 10 {
					log.Error("smn-agent: port keeps failing, reopening", "err", err)
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
}

// serveOnce runs one connection, turning a panic into an error so that init
// keeps serving.
func serveOnce(ctx context.Context, a *agent.Agent, port *os.File) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in session: %v", r)
		}
	}()
	return a.Serve(ctx, port)
}

func mountAll(log *slog.Logger) {
	for _, m := range []struct{ src, dst, fstype, data string }{
		{"proc", "/proc", "proc", ""},
		{"sysfs", "/sys", "sysfs", ""},
		{"devtmpfs", "/dev", "devtmpfs", ""},
		{"tmpfs", "/tmp", "tmpfs", "mode=1777"},
		{"tmpfs", "/run", "tmpfs", "mode=0755"},
	} {
		_ = os.MkdirAll(m.dst, 0o755)
		err := syscall.Mount(m.src, m.dst, m.fstype, syscall.MS_NOSUID, m.data)
		if err != nil && err != syscall.EBUSY {
			log.Error("smn-agent: mount", "target", m.dst, "err", err)
		}
	}
	say(log, "filesystems mounted")
}

// loadModules loads the modules named in moduleDir/load-order, in order.
func loadModules(log *slog.Logger) {
	f, err := os.Open(filepath.Join(moduleDir, "load-order"))
	if err != nil {
		log.Warn("smn-agent: no module list", "err", err)
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name := strings.TrimSpace(sc.Text())
		if name == "" || strings.HasPrefix(name, "#") || strings.ContainsAny(name, "/") {
			continue
		}
		switch err := finitModule(filepath.Join(moduleDir, name+".ko")); {
		case err == nil:
			say(log, "module loaded", "module", name)
		case errors.Is(err, syscall.EEXIST):
			log.Debug("module already loaded", "module", name)
		default:
			log.Error("smn-agent: module", "module", name, "err", err)
		}
	}
}

func finitModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	empty := []byte{0}
	_, _, e := syscall.Syscall(sysFinitModule, f.Fd(), uintptr(unsafe.Pointer(&empty[0])), 0)
	if e != 0 {
		return e
	}
	return nil
}

// loopbackUp sets IFF_UP|IFF_RUNNING on lo with SIOCSIFFLAGS.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr struct {
		name  [16]byte
		flags uint16
		_     [22]byte
	}
	copy(ifr.name[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&ifr))); e != 0 {
		return fmt.Errorf("SIOCGIFFLAGS: %w", e)
	}
	ifr.flags |= syscall.IFF_UP | syscall.IFF_RUNNING
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr))); e != 0 {
		return fmt.Errorf("SIOCSIFFLAGS: %w", e)
	}
	return nil
}

// openPort finds the virtio-serial port named PortName and opens it as a
// blocking file (so reads return EOF while no host is connected), creating
// its device node from sysfs when devtmpfs lacks it.
func openPort(log *slog.Logger) (*os.File, string, error) {
	deadline := time.Now().Add(portWaitTimeout)
	for {
		dev, err := findPort("/sys/class/virtio-ports")
		if err == nil {
			path := "/dev/" + dev
			if err := ensureNode(path, "/sys/class/virtio-ports/"+dev+"/dev"); err != nil {
				return nil, dev, err
			}
			fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
			if err != nil {
				return nil, dev, fmt.Errorf("open %s: %w", path, err)
			}
			return os.NewFile(uintptr(fd), path), dev, nil
		}
		if time.Now().After(deadline) {
			return nil, "", err
		}
		log.Debug("waiting for the agent port", "err", err)
		time.Sleep(100 * time.Millisecond)
	}
}

func findPort(class string) (string, error) {
	ents, err := os.ReadDir(class)
	if err != nil {
		return "", err
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(class, e.Name(), "name"))
		if err == nil && strings.TrimSpace(string(b)) == PortName {
			return e.Name(), nil
		}
	}
	return "", fmt.Errorf("no virtio port named %s among %d", PortName, len(ents))
}

// ensureNode creates the character device at path from a sysfs "MAJ:MIN"
// file if it does not exist.
func ensureNode(path, devFile string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	b, err := os.ReadFile(devFile)
	if err != nil {
		return err
	}
	maj, min, ok := strings.Cut(strings.TrimSpace(string(b)), ":")
	if !ok {
		return fmt.Errorf("bad device number %q", b)
	}
	ma, err1 := strconv.Atoi(maj)
	mi, err2 := strconv.Atoi(min)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("bad device number %q", b)
	}
	dev := (ma&0xfff)<<8 | mi&0xff | (mi&^0xff)<<12
	return syscall.Mknod(path, syscall.S_IFCHR|0o600, dev)
}

// reaper reaps orphans reparented to init, standing aside during runs.
func reaper() {
	for {
		tracer.ReapOrphans()
		time.Sleep(time.Second)
	}
}
