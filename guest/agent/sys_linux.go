//go:build linux

package agent

import (
	"bytes"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"github.com/scalemalnet/scalemalnet/guest/proto"
)

const clockBoottime = 7

func (a *Agent) hello(session string) proto.Hello {
	h := proto.Hello{
		Version:      proto.Version,
		Session:      session,
		AgentVersion: Version,
		Runs:         a.Runs(),
		CPUs:         runtime.NumCPU(),
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		b := make([]byte, 0, len(u.Release))
		for _, c := range u.Release {
			if c == 0 {
				break
			}
			b = append(b, byte(c))
		}
		h.Kernel = string(b)
	}
	if a.cfg.Interfaces != nil {
		h.Net = a.cfg.Interfaces()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		h.BootID = string(bytes.TrimSpace(b))
	}
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockBoottime, uintptr(unsafe.Pointer(&ts)), 0); e == 0 {
		h.UptimeMs = ts.Sec*1000 + ts.Nsec/1e6
	}
	return h
}

// setTime sets CLOCK_REALTIME when allowed and returns a note for the Ack.
func (a *Agent) setTime(unixNano int64) string {
	if !a.cfg.SetClock {
		return "clock not set: host test mode"
	}
	ts := syscall.NsecToTimespec(unixNano)
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_SETTIME, 0, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		a.log.Warn("clock_settime", "err", e)
		return "clock not set: " + e.Error()
	}
	a.log.Info("clock set", "unix_ns", unixNano)
	return ""
}
