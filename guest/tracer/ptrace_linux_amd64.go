//go:build linux && amd64

package tracer

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

const (
	ptraceOptions = syscall.PTRACE_O_TRACESYSGOOD | syscall.PTRACE_O_TRACEFORK |
		syscall.PTRACE_O_TRACEVFORK | syscall.PTRACE_O_TRACECLONE |
		syscall.PTRACE_O_TRACEEXEC | 0x100000 // PTRACE_O_EXITKILL

	ptraceGetSyscallInfo = 0x420e
	ptraceGetSiginfo     = 0x4202

	syscallInfoNone  = 0
	syscallInfoEntry = 1
	syscallInfoExit  = 2

	auditArchX86_64 = 0xc000003e
	auditArchI386   = 0x40000003

	sysProcessVMReadv = 310
	cloneThread       = 0x10000
)

// syscallInfo mirrors struct ptrace_syscall_info (Linux 5.3+).
type syscallInfo struct {
	Op   uint8
	_    [3]uint8
	Arch uint32
	IP   uint64
	SP   uint64
	// entry: nr, args[6]; exit: rval, is_error; seccomp: nr, args[6], ret_data.
	Data [8]uint64
}

func ptrace(req int, pid int, addr, data uintptr) (uintptr, syscall.Errno) {
	r, _, e := syscall.Syscall6(syscall.SYS_PTRACE, uintptr(req), uintptr(pid), addr, data, 0, 0)
	return r, e
}

// getSyscallInfo fills info for a tracee in a syscall stop.
func getSyscallInfo(tid int, info *syscallInfo) error {
	*info = syscallInfo{}
	_, e := ptrace(ptraceGetSyscallInfo, tid, unsafe.Sizeof(*info), uintptr(unsafe.Pointer(info)))
	if e != 0 {
		return e
	}
	return nil
}

// isGroupStop tells a group-stop from a signal-delivery stop: only the latter
// has siginfo.
func isGroupStop(tid int) bool {
	var si [128]byte
	_, e := ptrace(ptraceGetSiginfo, tid, 0, uintptr(unsafe.Pointer(&si[0])))
	return e == syscall.EINVAL
}

// tracee reads the memory of one traced thread, with process_vm_readv and
// PTRACE_PEEKDATA (tracer thread only) when that is refused.
type tracee struct {
	tid  int
	peek bool // process_vm_readv refused: use PEEKDATA
}

func (t *tracee) ReadAt(addr uint64, buf []byte) (int, error) {
	if len(buf) == 0 {
		return 0, nil
	}
	if !t.peek {
		local := syscall.Iovec{Base: &buf[0], Len: uint64(len(buf))}
		remote := struct {
			base uintptr
			len  uint64
		}{uintptr(addr), uint64(len(buf))}
		n, _, e := syscall.Syscall6(sysProcessVMReadv, uintptr(t.tid),
			uintptr(unsafe.Pointer(&local)), 1, uintptr(unsafe.Pointer(&remote)), 1, 0)
		switch e {
		case 0:
			return int(n), nil
		case syscall.ENOSYS, syscall.EPERM:
			t.peek = true
		default:
			return 0, e
		}
	}
	n, err := syscall.PtracePeekData(t.tid, uintptr(addr), buf)
	if n > 0 {
		err = nil
	}
	return n, err
}

// procStatus returns the Tgid and PPid fields of /proc/<tid>/status.
func procStatus(tid int) (tgid, ppid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0, 0, false
	}
	field := func(name string) int {
		i := bytes.Index(b, []byte("\n"+name+":"))
		if i < 0 {
			return 0
		}
		rest := b[i+len(name)+2:]
		if j := bytes.IndexByte(rest, '\n'); j >= 0 {
			rest = rest[:j]
		}
		v, _ := strconv.Atoi(string(bytes.TrimSpace(rest)))
		return v
	}
	tgid, ppid = field("Tgid"), field("PPid")
	return tgid, ppid, tgid > 0
}
