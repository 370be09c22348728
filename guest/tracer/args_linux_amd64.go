//go:build linux && amd64

package tracer

import (
	"encoding/binary"
	"strconv"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// Argument positions in a spec are 1-based so that the zero value means
// "none": a1 is the first argument.
const (
	none = iota
	a1
	a2
	a3
	a4
	a5
	a6
)

type flagsKind uint8

const (
	flagsNone  flagsKind = iota
	flagsArg             // open flags in an argument
	flagsHow             // openat2: struct open_how, flags at offset 0
	flagsCreat           // creat: implied O_CREAT|O_WRONLY|O_TRUNC
)

// argSpec says which arguments of a call are decoded.
type argSpec struct {
	fd, size     int8
	path, path2  int8
	flags        int8
	flagsKind    flagsKind
	argv         int8
	addr, addrLn int8 // input sockaddr and its length (a value)
	outAddr      int8 // output sockaddr, read at exit ...
	outLenPtr    int8 // ... with its length behind this pointer
	child        bool
	compat       bool // i386 table: pointers in arrays (exec argv) are 32-bit
}

var specsByName = map[string]argSpec{
	"read": {fd: a1, size: a3}, "write": {fd: a1, size: a3},
	"pread64": {fd: a1, size: a3}, "pwrite64": {fd: a1, size: a3},
	"readv": {fd: a1}, "writev": {fd: a1}, "preadv": {fd: a1}, "pwritev": {fd: a1},
	"preadv2": {fd: a1}, "pwritev2": {fd: a1},
	"close": {fd: a1}, "fstat": {fd: a1}, "lseek": {fd: a1}, "ioctl": {fd: a1},
	"fcntl": {fd: a1}, "fsync": {fd: a1}, "fdatasync": {fd: a1}, "ftruncate": {fd: a1},
	"getdents": {fd: a1}, "getdents64": {fd: a1}, "fchdir": {fd: a1}, "fchmod": {fd: a1},
	"fchown": {fd: a1}, "flock": {fd: a1}, "fstatfs": {fd: a1}, "dup": {fd: a1},
	"dup2": {fd: a1}, "dup3": {fd: a1}, "listen": {fd: a1}, "shutdown": {fd: a1},
	"getsockname": {fd: a1}, "getpeername": {fd: a1}, "setsockopt": {fd: a1},
	"getsockopt": {fd: a1}, "sendmsg": {fd: a1}, "recvmsg": {fd: a1},
	"sendmmsg": {fd: a1}, "recvmmsg": {fd: a1}, "sendfile": {fd: a1, size: a4},
	"connect":  {fd: a1, addr: a2, addrLn: a3},
	"bind":     {fd: a1, addr: a2, addrLn: a3},
	"sendto":   {fd: a1, size: a3, addr: a5, addrLn: a6},
	"recvfrom": {fd: a1, size: a3, outAddr: a5, outLenPtr: a6},
	"accept":   {fd: a1, outAddr: a2, outLenPtr: a3},
	"accept4":  {fd: a1, outAddr: a2, outLenPtr: a3},

	"open":    {path: a1, flags: a2, flagsKind: flagsArg},
	"openat":  {path: a2, flags: a3, flagsKind: flagsArg},
	"openat2": {path: a2, flags: a3, flagsKind: flagsHow},
	"creat":   {path: a1, flagsKind: flagsCreat},
	"stat":    {path: a1}, "lstat": {path: a1}, "newfstatat": {path: a2}, "statx": {path: a2},
	"statfs": {path: a1}, "access": {path: a1}, "faccessat": {path: a2}, "faccessat2": {path: a2},
	"unlink": {path: a1}, "unlinkat": {path: a2}, "mkdir": {path: a1}, "mkdirat": {path: a2},
	"rmdir": {path: a1}, "rename": {path: a1, path2: a2}, "renameat": {path: a2, path2: a4},
	"renameat2": {path: a2, path2: a4}, "link": {path: a1, path2: a2},
	"linkat": {path: a2, path2: a4}, "symlink": {path: a1, path2: a2},
	"symlinkat": {path: a1, path2: a3}, "chdir": {path: a1}, "chroot": {path: a1},
	"chmod": {path: a1}, "fchmodat": {path: a2}, "fchmodat2": {path: a2},
	"chown": {path: a1}, "lchown": {path: a1}, "fchownat": {path: a2},
	"truncate": {path: a1}, "readlink": {path: a1}, "readlinkat": {path: a2},
	"mknod": {path: a1}, "mknodat": {path: a2}, "utimes": {path: a1}, "utimensat": {path: a2},
	"inotify_add_watch": {path: a2},
	"execve":            {path: a1, argv: a2},
	"execveat":          {path: a2, argv: a3},

	"fork": {child: true}, "vfork": {child: true}, "clone": {child: true}, "clone3": {child: true},
}

var (
	specs    = map[int]*argSpec{}
	nrExecve = -1
	nrExecat = -1
	nrClone  = -1
	nrClone3 = -1

	// The i386 table (compat entry). The decoded calls have the same
	// argument positions under both ABIs; only pointer arrays differ.
	specs32    = map[int]*argSpec{}
	nrExecve32 = -1
	nrExecat32 = -1
)

func init() {
	byName := make(map[string]int, len(syscallNames))
	for nr, name := range syscallNames {
		byName[name] = nr
	}
	for name, s := range specsByName {
		if nr, ok := byName[name]; ok {
			s := s
			specs[nr] = &s
		}
	}
	nrExecve, nrExecat = byName["execve"], byName["execveat"]
	nrClone, nrClone3 = byName["clone"], byName["clone3"]

	byName32 := make(map[string]int, len(syscallNames32))
	for nr, name := range syscallNames32 {
		byName32[name] = nr
	}
	for name, s := range specsByName {
		if nr, ok := byName32[name]; ok {
			s := s
			s.compat = true
			specs32[nr] = &s
		}
	}
	nrExecve32, nrExecat32 = byName32["execve"], byName32["execveat"]
}

// syscallName32 returns the i386 name of nr, "sys32_<nr>" when unknown.
func syscallName32(nr int) string {
	if s, ok := syscallNames32[nr]; ok {
		return s
	}
	return "sys32_" + strconv.Itoa(nr)
}

// syscallName returns the x86-64 name of nr, "sys_<nr>" when unknown.
func syscallName(nr int) string {
	if s, ok := syscallNames[nr]; ok {
		return s
	}
	return "sys_" + strconv.Itoa(nr)
}

// errnoName returns the name of errno e ("ENOENT"), "E<n>" when unknown.
func errnoName(e int) string {
	if s, ok := errnoNames[e]; ok {
		return s
	}
	return "E" + strconv.Itoa(e)
}

// decodeEntry decodes the input arguments of a call at its entry stop.
func decodeEntry(s *argSpec, m memReader, args *[6]uint64, ev *trace.Event) {
	arg := func(i int8) uint64 { return args[i-1] }
	if s.fd != none {
		fd := int(int32(arg(s.fd)))
		ev.FD = &fd
	}
	if s.size != none {
		ev.Size = int64(arg(s.size))
	}
	if s.path != none {
		ev.Path = pathArg(m, arg(s.path))
	}
	if s.path2 != none {
		ev.Path2 = pathArg(m, arg(s.path2))
	}
	switch s.flagsKind {
	case flagsArg:
		ev.Flags = FormatOpenFlags(arg(s.flags) & 0xffffffff)
	case flagsHow:
		if f, err := readWord(m, arg(s.flags)); err == nil {
			ev.Flags = FormatOpenFlags(f)
		}
	case flagsCreat:
		ev.Flags = FormatOpenFlags(0x241)
	}
	if s.argv != none {
		ev.Argv = readArgvWidth(m, arg(s.argv), MaxArgs, MaxArgLen, s.compat)
	}
	if s.addr != none {
		n := int(arg(s.addrLn) & 0xffffffff)
		if n > MaxSockaddr {
			n = MaxSockaddr
		}
		ev.Addr = FormatSockaddr(readBytes(m, arg(s.addr), n))
	}
}

// decodeExit decodes results of a call at its exit stop.
func decodeExit(s *argSpec, m memReader, args *[6]uint64, ret int64, ev *trace.Event) {
	if s.child && ret > 0 {
		ev.Child = int(ret)
	}
	if s.outAddr != none && ret >= 0 {
		p, lp := args[s.outAddr-1], args[s.outLenPtr-1]
		if p != 0 && lp != 0 {
			if l := readBytes(m, lp, 4); len(l) == 4 {
				n := int(binary.LittleEndian.Uint32(l)) // socklen_t
				if n > MaxSockaddr {
					n = MaxSockaddr
				}
				ev.Addr = FormatSockaddr(readBytes(m, p, n))
			}
		}
	}
}

func pathArg(m memReader, addr uint64) string {
	if addr == 0 {
		return ""
	}
	s, _, err := readString(m, addr, MaxPath)
	if err != nil {
		return "?"
	}
	return s
}
