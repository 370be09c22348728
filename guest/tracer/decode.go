package tracer

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Address families decoded by FormatSockaddr.
const (
	afUnix  = 1
	afInet  = 2
	afInet6 = 10
)

// FormatSockaddr renders a struct sockaddr read from a tracee: "inet
// 127.0.0.1:22", "inet6 [::1]:22", "unix /path", "unix @abstract", "unix" for
// an unnamed socket, "family N" for other families and "" when b is too short
// to hold a family. b is untrusted: any length and content is accepted.
func FormatSockaddr(b []byte) string {
	if len(b) < 2 {
		return ""
	}
	fam := binary.LittleEndian.Uint16(b)
	switch fam {
	case afInet:
		if len(b) < 8 {
			return "inet ?"
		}
		ip := netip.AddrFrom4([4]byte(b[4:8]))
		return "inet " + netip.AddrPortFrom(ip, binary.BigEndian.Uint16(b[2:4])).String()
	case afInet6:
		if len(b) < 24 {
			return "inet6 ?"
		}
		ip := netip.AddrFrom16([16]byte(b[8:24]))
		if len(b) >= 28 {
			if scope := binary.LittleEndian.Uint32(b[24:28]); scope != 0 {
				ip = ip.WithZone(strconv.FormatUint(uint64(scope), 10))
			}
		}
		return "inet6 " + netip.AddrPortFrom(ip, binary.BigEndian.Uint16(b[2:4])).String()
	case afUnix:
		p := b[2:]
		if len(p) > 108 {
			p = p[:108]
		}
		if len(p) == 0 {
			return "unix"
		}
		if p[0] == 0 { // abstract: name is the rest, NULs included
			return "unix @" + printable(string(trimTrailingNUL(p[1:])))
		}
		if i := strings.IndexByte(string(p), 0); i >= 0 {
			p = p[:i]
		}
		return "unix " + printable(string(p))
	default:
		return "family " + strconv.Itoa(int(fam))
	}
}

func trimTrailingNUL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// printable replaces NULs so that names stay single strings in reports.
func printable(s string) string { return strings.ReplaceAll(s, "\x00", "@") }

type flagName struct {
	bits uint64
	name string
}

// openFlagNames lists x86-64 open(2) flags; composite flags come before their
// parts so that they are matched whole.
var openFlagNames = []flagName{
	{0x410000, "O_TMPFILE"}, // __O_TMPFILE|O_DIRECTORY
	{0x101000, "O_SYNC"},    // __O_SYNC|O_DSYNC
	{0x40, "O_CREAT"},
	{0x80, "O_EXCL"},
	{0x100, "O_NOCTTY"},
	{0x200, "O_TRUNC"},
	{0x400, "O_APPEND"},
	{0x800, "O_NONBLOCK"},
	{0x1000, "O_DSYNC"},
	{0x2000, "O_ASYNC"},
	{0x4000, "O_DIRECT"},
	{0x8000, "O_LARGEFILE"},
	{0x10000, "O_DIRECTORY"},
	{0x20000, "O_NOFOLLOW"},
	{0x40000, "O_NOATIME"},
	{0x80000, "O_CLOEXEC"},
	{0x200000, "O_PATH"},
}

// FormatOpenFlags renders open(2) flags as "O_WRONLY|O_CREAT|O_TRUNC";
// unknown bits are appended in hex.
func FormatOpenFlags(f uint64) string {
	var parts []string
	switch f & 3 {
	case 0:
		parts = append(parts, "O_RDONLY")
	case 1:
		parts = append(parts, "O_WRONLY")
	case 2:
		parts = append(parts, "O_RDWR")
	default:
		parts = append(parts, "O_ACCMODE")
	}
	f &^= 3
	for _, fl := range openFlagNames {
		if f&fl.bits == fl.bits {
			parts = append(parts, fl.name)
			f &^= fl.bits
		}
	}
	if f != 0 {
		parts = append(parts, fmt.Sprintf("%#x", f))
	}
	return strings.Join(parts, "|")
}

var signalNames = [...]string{
	1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
	7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2",
	13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD",
	18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU",
	23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF",
	28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
}

// SignalName returns the Linux name of signal n ("SIGSEGV", "SIGRTMIN+3").
func SignalName(n int) string {
	switch {
	case n > 0 && n < len(signalNames):
		return signalNames[n]
	case n >= 34 && n <= 64:
		return "SIGRTMIN+" + strconv.Itoa(n-34)
	default:
		return "SIG" + strconv.Itoa(n)
	}
}
