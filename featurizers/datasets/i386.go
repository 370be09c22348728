package datasets

import (
	"strings"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// i386ToX86_64 maps the i386 system call names that differ from the
// x86-64 call of the same meaning to that call's name, so an i386 program's
// trace reads in the vocabulary the system call models were trained with
// (FHIDS: x86-64 names; ADFA-LD: i386 numbers mapped to x86-64 names by
// adfa-ld/syscall_numbers_i386_to_x86_64.tsv, whose 32-bit variants are
// the first block below). Names the two tables share need no entry;
// "_time64" variants (the 64-bit time_t calls of i386, used by glibc 2.34
// and later) are handled by I386Name. socketcall and ipc multiplex several
// calls and have no single x86-64 name: they stay as they are.
var i386ToX86_64 = map[string]string{
	// 32-bit variants -> 64-bit equivalents (as in ADFA-LD's map).
	"waitpid": "wait4", "umount": "umount2", "sigreturn": "rt_sigreturn", "_llseek": "lseek",
	"_newselect": "select", "ugetrlimit": "getrlimit", "mmap2": "mmap", "ftruncate64": "ftruncate",
	"stat64": "stat", "lstat64": "lstat", "fstat64": "fstat", "lchown32": "lchown", "getuid32": "getuid",
	"getgid32": "getgid", "geteuid32": "geteuid", "getegid32": "getegid", "setreuid32": "setreuid",
	"setregid32": "setregid", "getgroups32": "getgroups", "setgroups32": "setgroups", "fchown32": "fchown",
	"setresuid32": "setresuid", "getresuid32": "getresuid", "setresgid32": "setresgid", "getresgid32": "getresgid",
	"chown32": "chown", "setuid32": "setuid", "setgid32": "setgid", "setfsuid32": "setfsuid",
	"setfsgid32": "setfsgid", "fcntl64": "fcntl", "statfs64": "statfs", "fstatfs64": "fstatfs",
	"fadvise64_64": "fadvise64", "fstatat64": "newfstatat",
	// Further i386-only names of the same meaning (not in ADFA-LD's traces).
	"truncate64": "truncate", "sendfile64": "sendfile", "oldstat": "stat", "oldfstat": "fstat",
	"oldlstat": "lstat", "olduname": "uname", "oldolduname": "uname", "readdir": "getdents",
	"sigaction": "rt_sigaction", "signal": "rt_sigaction", "sigprocmask": "rt_sigprocmask",
	"sigpending": "rt_sigpending", "sigsuspend": "rt_sigsuspend", "arm_fadvise64_64": "fadvise64",
}

// I386Name maps an i386 system call name to the x86-64 name of the same
// call: the i386ToX86_64 table, then a "_time64" suffix dropped
// (clock_gettime64 -> clock_gettime, futex_time64 -> futex); other names
// (the two tables mostly agree) are returned unchanged.
func I386Name(name string) string {
	if n, ok := i386ToX86_64[name]; ok {
		return n
	}
	if n, ok := strings.CutSuffix(name, "_time64"); ok {
		return n
	}
	if n, ok := strings.CutSuffix(name, "64"); ok && strings.HasPrefix(name, "clock_") {
		return n // clock_gettime64, clock_settime64, clock_adjtime64, clock_getres_time64 (above)
	}
	return name
}

// EventName is the name of a trace event in the x86-64 vocabulary: its
// own name, mapped by I386Name when the call went through the i386 entry.
func EventName(e *trace.Event) string {
	if e.ABI == trace.ABII386 {
		return I386Name(e.Name)
	}
	return e.Name
}
