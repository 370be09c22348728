package argfeat

import (
	"errors"
	"fmt"
	"math"
)

// Scale says how a feature's value is computed from what was observed.
type Scale string

const (
	// ScaleLog: log1p of a count (0 stays 0; 1 → 0.69, 10 → 2.40, 1e6 → 13.8).
	ScaleLog Scale = "log"
	// ScaleBool: 1 if the behaviour was seen, else 0.
	ScaleBool Scale = "bool"
	// ScaleRatio: a share in [0, 1].
	ScaleRatio Scale = "ratio"
	// ScaleNum: a small plain number (a depth).
	ScaleNum Scale = "number"
)

// Feature is one column of the schema.
type Feature struct {
	Name  string
	Scale Scale
	Doc   string // what is counted, for docs/features.md and plugin authors
}

// ErrUnknownFeature is returned by Vector.Get for a name not in the schema.
var ErrUnknownFeature = errors.New("no such argument feature")

// Vector holds one value per Schema column, in schema order.
type Vector []float64

// Get returns the value of the named feature.
func (v Vector) Get(name string) (float64, error) {
	i, ok := index[name]
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrUnknownFeature, name)
	}
	if i >= len(v) {
		return 0, fmt.Errorf("%w: %q (vector has %d of %d columns)", ErrUnknownFeature, name, len(v), len(schema))
	}
	return v[i], nil
}

// Log is the value ScaleLog gives a count of n.
func Log(n int) float64 { return math.Log1p(float64(n)) }

// Schema returns the feature names, in vector order. The schema is fixed:
// changing it changes Version.
func Schema() []string {
	out := make([]string, len(schema))
	for i, f := range schema {
		out[i] = f.Name
	}
	return out
}

// Features returns the schema with each feature's scale and meaning.
func Features() []Feature { return append([]Feature(nil), schema...) }

var (
	schema []Feature
	index  = map[string]int{}
)

func def(name string, sc Scale, doc string) int {
	if _, dup := index[name]; dup {
		panic("argfeat: duplicate feature " + name)
	}
	index[name] = len(schema)
	schema = append(schema, Feature{Name: name, Scale: sc, Doc: doc})
	return len(schema) - 1
}

// The columns, in vector order. Counts of calls by name ("names") come from the
// windows' complete per-name counts, so they stay exact when events were
// dropped; everything that needs an argument ("arguments") comes from the kept events
// only (see docs/features.md, "Dropped events").
var (
	// The run.
	fRunEvents   = def("run.events", ScaleLog, "system calls counted (kept or dropped)")
	fRunKept     = def("run.kept", ScaleLog, "system calls kept with their arguments")
	fRunDropped  = def("run.dropped_share", ScaleRatio, "share of counted calls dropped by the event budget (0 = every argument feature saw the whole run)")
	fRunDuration = def("run.duration_s", ScaleLog, "run duration in seconds, log1p")
	fRunTimeout  = def("run.timeout", ScaleBool, "the agent killed the tree at the job's timeout")
	fRunSignaled = def("run.signaled", ScaleBool, "the root process died of a signal (crash)")

	// Processes.
	fProcCount   = def("proc.count", ScaleLog, "processes in the traced tree (including those left out of the summary)")
	fProcThreads = def("proc.threads", ScaleLog, "threads over all processes")
	fProcDepth   = def("proc.depth", ScaleNum, "depth of the process tree (the sample's process is 0; capped at 64)")

	// Programs executed (arguments: successful execve/execveat, plus the process
	// table for processes whose exec was dropped).
	fExecTotal    = def("exec.total", ScaleLog, "programs executed (successful execve/execveat)")
	fExecDenied   = def("exec.denied", ScaleLog, "exec attempts refused with EACCES, EPERM or ENOEXEC (ENOENT of a PATH search is not counted)")
	fExecDistinct = def("exec.distinct", ScaleLog, "distinct program names executed")
	fExecShell    = def("exec.shell", ScaleLog, "shells executed: sh, bash, dash, zsh, ksh, mksh, ash, csh, tcsh, fish")
	fExecShellC   = def("exec.shell_c", ScaleLog, "shells executed with a command string (-c)")
	fExecInterp   = def("exec.interpreter", ScaleLog, "interpreters executed: python*, perl*, ruby*, php*, node, lua*, tclsh, awk/gawk/mawk/nawk, java, expect")
	fExecNetConn  = def("exec.net_connect_tool", ScaleLog, "connection tools executed: nc/ncat/netcat, socat, telnet, ssh, sshpass, rsh")
	fExecNetFetch = def("exec.net_fetch_tool", ScaleLog, "download/upload tools executed: curl, wget, tftp, ftp, scp, sftp, rsync, aria2c")
	fExecUser     = def("exec.user_tool", ScaleLog, "account tools executed: useradd, adduser, usermod, userdel, groupadd, gpasswd, passwd, chpasswd, chage, chsh, newusers, vipw, visudo")
	fExecPersist  = def("exec.persist_tool", ScaleLog, "scheduling and service tools executed: crontab, at, batch, systemctl, service, update-rc.d, chkconfig, insserv")
	fExecKmod     = def("exec.kmod_tool", ScaleLog, "kernel module tools executed: insmod, modprobe, rmmod, depmod, kmod")
	fExecPerm     = def("exec.perm_tool", ScaleLog, "permission tools executed: chmod, chown, chgrp, chattr, setcap, setfacl")
	fExecPriv     = def("exec.priv_tool", ScaleLog, "privilege tools executed: sudo, su, doas, pkexec, runuser, setpriv, capsh, nsenter, chroot, unshare")
	fExecRecon    = def("exec.recon_tool", ScaleLog, "discovery tools executed: id, whoami, uname, hostname, ps, w, who, last, getent, netstat, ss, ip, ifconfig, arp, route, lsmod, lscpu, lsof, env, uptime, ...")
	fExecWipe     = def("exec.wipe_tool", ScaleLog, "secure-deletion tools executed: shred, wipe, srm")
	fExecEncode   = def("exec.encode_tool", ScaleLog, "encoding and crypto tools executed: base64, base32, basenc, xxd, openssl, gpg, uuencode, uudecode")
	fExecArchive  = def("exec.archive_tool", ScaleLog, "archivers executed: tar, zip, unzip, gzip, bzip2, xz, 7z, zstd, cpio")
	fExecPkg      = def("exec.pkg_tool", ScaleLog, "package managers executed: apt, apt-get, dpkg, pip*, gem, npm, yum, dnf, rpm, apk")
	fExecCompiler = def("exec.compiler", ScaleLog, "compilers and build tools executed: gcc, cc, g++, clang, tcc, as, ld, make, go, rustc")
	fExecDefense  = def("exec.defense_tool", ScaleLog, "firewall and audit tools executed: iptables, ip6tables, nft, ufw, setenforce, auditctl")
	fExecFileless = def("exec.fileless", ScaleLog, "programs executed from a memfd or an fd path (/memfd:*, /proc/*/fd/*, /dev/fd/*, execveat with an empty path)")
	fExecChmodX   = def("exec.chmod_exec", ScaleLog, "chmod executed with a mode that adds execute permission (+x, u+x, 755, ...)")
	fExecChmodS   = def("exec.chmod_setid", ScaleLog, "chmod executed with a mode that sets setuid or setgid (u+s, g+s, 4755, 2755, ...)")
	fExecDevNet   = def("exec.argv_dev_net", ScaleLog, "exec argument vectors naming /dev/tcp/ or /dev/udp/ (bash network redirection)")
	fExecURL      = def("exec.argv_url", ScaleLog, "exec argument vectors with a URL (://)")
	fExecIP       = def("exec.argv_ip", ScaleLog, "exec argument vectors with a non-loopback IPv4 address literal")
	fExecDecode   = def("exec.argv_decode", ScaleLog, "exec argument vectors decoding base64 (base64 -d/--decode, b64decode, FromBase64)")

	// Privilege, other processes, the kernel (names, but ptrace_failed).
	fPrivSetuid  = def("priv.setid", ScaleLog, "setuid, setgid, setreuid, setregid, setresuid, setresgid, setfsuid, setfsgid calls (and their i386 *32 forms)")
	fPrivCapset  = def("priv.capset", ScaleLog, "capset calls")
	fPrivPtrace  = def("priv.ptrace", ScaleLog, "ptrace calls")
	fPrivPtrFail = def("priv.ptrace_failed", ScaleLog, "failed ptrace calls: a traced sample's PTRACE_TRACEME fails, the classic anti-debugging check")
	fPrivVM      = def("priv.process_vm", ScaleLog, "process_vm_readv and process_vm_writev calls")
	fPrivMemfd   = def("priv.memfd", ScaleLog, "memfd_create calls")
	fPrivKill    = def("priv.kill", ScaleLog, "kill, tkill, tgkill and pidfd_send_signal calls (the target pid is not recorded)")
	fPrivModule  = def("priv.module", ScaleLog, "init_module, finit_module and delete_module calls")
	fPrivMount   = def("priv.mount", ScaleLog, "mount, umount2, pivot_root, chroot, unshare, setns, fsopen, fsmount, move_mount calls")
	fPrivBPF     = def("priv.bpf", ScaleLog, "bpf and perf_event_open calls")
	fPrivAdmin   = def("priv.admin", ScaleLog, "reboot, kexec_load, kexec_file_load, sethostname, setdomainname, settimeofday, clock_settime, swapon, swapoff, iopl, ioperm, acct calls")
	fPrivPrctl   = def("priv.prctl", ScaleLog, "prctl calls")

	// Network.
	fNetSocket     = def("net.socket", ScaleLog, "socket calls")
	fNetConnect    = def("net.connect", ScaleLog, "connect calls")
	fNetConnFail   = def("net.connect_failed", ScaleLog, "failed connects to IPv4/IPv6 addresses (EINPROGRESS of a non-blocking connect is not a failure; Unix sockets, such as glibc probing nscd, are left out)")
	fNetConnInet   = def("net.connect.inet", ScaleLog, "connects to IPv4 addresses")
	fNetConnInet6  = def("net.connect.inet6", ScaleLog, "connects to IPv6 addresses")
	fNetConnUnix   = def("net.connect.unix", ScaleLog, "connects to Unix sockets")
	fNetConnLoop   = def("net.connect.loopback", ScaleLog, "connects to loopback addresses, 127.0.0.0/8 and ::1")
	fNetConnRemote = def("net.connect.remote", ScaleLog, "connects to other IPv4/IPv6 addresses")
	fNetHosts      = def("net.remote_hosts", ScaleLog, "distinct non-loopback addresses connected or sent to")
	fNetPorts      = def("net.ports", ScaleLog, "distinct destination ports connected or sent to, loopback included")
	fNetDNS        = def("net.dns", ScaleLog, "connects or sendto to port 53")
	fNetBind       = def("net.bind", ScaleLog, "bind calls")
	fNetBindAny    = def("net.bind.any", ScaleLog, "binds to the unspecified address, 0.0.0.0 or ::")
	fNetListen     = def("net.listen", ScaleLog, "listen calls")
	fNetAccept     = def("net.accept", ScaleLog, "accept and accept4 calls")
	fNetStdio      = def("net.socket_stdio", ScaleLog, "dup/dup2/dup3 of a socket onto fd 0, 1 or 2")
	fNetShell      = def("net.socket_shell", ScaleBool, "a shell or interpreter was executed with a socket as its stdin or stdout: a reverse or bind shell")

	// Files across calls (arguments).
	fFileWritten    = def("file.written", ScaleLog, "distinct paths opened for writing, created, truncated, linked or renamed to")
	fFileRead       = def("file.read", ScaleLog, "distinct paths opened read-only")
	fFileWrittenX   = def("file.written_exec", ScaleLog, "paths written and later executed (a dropped payload)")
	fFileWrittenChm = def("file.written_chmod", ScaleLog, "paths written and later chmod'ed or chown'ed (by path or by fd)")
	fFileWrittenDel = def("file.written_deleted", ScaleLog, "paths written and later deleted")
	fFileExecDel    = def("file.exec_deleted", ScaleLog, "paths executed and later deleted (a self-deleting program)")
	fFileHidden     = def("file.hidden_written", ScaleLog, "distinct written paths with a hidden (dot) component")

	// Errors (arguments).
	fErrRatio  = def("err.failed_share", ScaleRatio, "share of kept calls that failed")
	fErrAccess = def("err.eacces", ScaleLog, "kept calls that failed with EACCES or EPERM")

	// The path grid: path.<class>.<op>, see pathClasses and pathOps.
	fPathBase = defPathGrid()
)

// Path operations of the grid, in column order.
const (
	opRead = iota
	opWrite
	opExec
	opUnlink
	opChmod
	opRename
	nOps
)

var pathOps = [nOps]struct{ name, doc string }{
	{"read", "successful opens without a write flag"},
	{"write", "successful opens with O_WRONLY, O_RDWR, O_CREAT, O_TRUNC or O_APPEND; creat, truncate, mkdir, mknod; the new name of link and symlink"},
	{"exec", "successful execve/execveat of a program there"},
	{"unlink", "successful unlink, unlinkat, rmdir"},
	{"chmod", "successful chmod, fchmod, fchmodat, chown, fchown, lchown, fchownat (fchmod/fchown through the fd's path)"},
	{"rename", "successful rename, renameat, renameat2 from or to there"},
}

func defPathGrid() int {
	base := len(schema)
	for _, c := range pathClasses {
		for _, op := range pathOps {
			def("path."+c.name+"."+op.name, ScaleLog, op.name+" of "+c.doc)
		}
	}
	return base
}

func pathFeature(class, op int) int { return fPathBase + class*nOps + op }
