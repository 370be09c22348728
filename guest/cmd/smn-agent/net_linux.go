//go:build linux

package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// QEMU user-mode networking's fixed addresses (libslirp's defaults; the
// orchestrator's vm package names the same ones). There is no DHCP client in
// the guest: the agent sets them directly.
var (
	guestAddr = [4]byte{10, 0, 2, 15}
	guestMask = [4]byte{255, 255, 255, 0}
	gateway   = [4]byte{10, 0, 2, 2}
)

const (
	nameserver     = "10.0.2.3"
	nicWaitTimeout = 3 * time.Second
	virtioNetID    = "0x0001" // virtio device id of a network card
)

// networkUp configures the VM's network device when it has one (slots with
// user-mode networking); a VM without one keeps loopback only, and the
// sample then gets ENETUNREACH for any address outside 127.0.0.0/8.
func networkUp(log *slog.Logger) {
	name, err := findNIC(nicWaitTimeout)
	if err != nil {
		log.Error("smn-agent: network device", "err", err)
		return
	}
	if name == "" {
		say(log, "no network device")
		return
	}
	if err := configureNIC(name); err != nil {
		log.Error("smn-agent: network device", "iface", name, "err", err)
		return
	}
	if err := os.WriteFile("/etc/resolv.conf", []byte("nameserver "+nameserver+"\n"), 0o644); err != nil {
		log.Error("smn-agent: resolv.conf", "err", err)
	}
	say(log, "network up", "iface", name, "addr", ip4(guestAddr)+"/24", "gateway", ip4(gateway), "dns", nameserver)
}

// findNIC returns the name of the first Ethernet interface when the VM has
// a virtio network device, waiting up to wait for the driver to create it;
// "" when there is no such device.
func findNIC(wait time.Duration) (string, error) {
	devs, _ := filepath.Glob("/sys/bus/virtio/devices/*/device")
	want := 0
	for _, d := range devs {
		if b, err := os.ReadFile(d); err == nil && strings.TrimSpace(string(b)) == virtioNetID {
			want++
		}
	}
	if want == 0 {
		return "", nil
	}
	deadline := time.Now().Add(wait)
	for {
		ents, err := os.ReadDir("/sys/class/net")
		if err != nil {
			return "", err
		}
		for _, e := range ents {
			t, err := os.ReadFile(filepath.Join("/sys/class/net", e.Name(), "type"))
			if err == nil && strings.TrimSpace(string(t)) == "1" && e.Name() != "lo" { // ARPHRD_ETHER
				return e.Name(), nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%d virtio network device(s) but no Ethernet interface after %s (is virtio_net loaded?)", want, wait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ifreqAddr is struct ifreq with a sockaddr_in in its union.
type ifreqAddr struct {
	name [16]byte
	addr syscall.RawSockaddrInet4
	_    [8]byte
}

// ifreqFlags is struct ifreq with ifr_flags.
type ifreqFlags struct {
	name  [16]byte
	flags uint16
	_     [22]byte
}

// rtentry is struct rtentry on 64-bit Linux (SIOCADDRT).
type rtentry struct {
	pad1    uint64
	dst     syscall.RawSockaddrInet4
	gateway syscall.RawSockaddrInet4
	genmask syscall.RawSockaddrInet4
	flags   uint16
	pad2    int16
	_       [4]byte
	pad3    uint64
	pad4    uintptr
	metric  int16
	_       [6]byte
	dev     *byte
	mtu     uint64
	window  uint64
	irtt    uint16
	_       [6]byte
}

// configureNIC gives name the user-mode address, brings it up and adds the
// default route through the user-mode gateway, all with ioctls.
func configureNIC(name string) error {
	if len(name) >= 16 {
		return fmt.Errorf("interface name %q too long", name)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	ioctl := func(req uintptr, arg unsafe.Pointer, what string) error {
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(arg)); e != 0 {
			return fmt.Errorf("%s: %w", what, e)
		}
		return nil
	}
	sin := func(a [4]byte) syscall.RawSockaddrInet4 {
		return syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: a}
	}

	var ia ifreqAddr
	copy(ia.name[:], name)
	ia.addr = sin(guestAddr)
	if err := ioctl(syscall.SIOCSIFADDR, unsafe.Pointer(&ia), "SIOCSIFADDR"); err != nil {
		return err
	}
	ia.addr = sin(guestMask)
	if err := ioctl(syscall.SIOCSIFNETMASK, unsafe.Pointer(&ia), "SIOCSIFNETMASK"); err != nil {
		return err
	}
	var fl ifreqFlags
	copy(fl.name[:], name)
	if err := ioctl(syscall.SIOCGIFFLAGS, unsafe.Pointer(&fl), "SIOCGIFFLAGS"); err != nil {
		return err
	}
	fl.flags |= syscall.IFF_UP | syscall.IFF_RUNNING
	if err := ioctl(syscall.SIOCSIFFLAGS, unsafe.Pointer(&fl), "SIOCSIFFLAGS"); err != nil {
		return err
	}
	rt := rtentry{
		dst:     sin([4]byte{}),
		gateway: sin(gateway),
		genmask: sin([4]byte{}),
		flags:   syscall.RTF_UP | syscall.RTF_GATEWAY,
	}
	if err := ioctl(syscall.SIOCADDRT, unsafe.Pointer(&rt), "SIOCADDRT default via "+ip4(gateway)); err != nil && !errors.Is(err, syscall.EEXIST) {
		return err
	}
	return nil
}

func ip4(a [4]byte) string { return fmt.Sprintf("%d.%d.%d.%d", a[0], a[1], a[2], a[3]) }
