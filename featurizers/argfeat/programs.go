package argfeat

import (
	"net/netip"
	"path"
	"strings"
)

// maxArgScan bounds how much of each exec argument is searched, and
// maxArgsScan how many arguments.
const (
	maxArgScan  = 1024
	maxArgsScan = 64
	maxNameLen  = 64
)

// programs maps a program's base name (or its name without a version
// suffix: python3.11 → python) to its exec.* feature.
var programs = map[string]int{}

// wrappers run the command named by one of their arguments.
var wrappers = map[string]bool{
	"env": true, "nohup": true, "nice": true, "ionice": true, "timeout": true, "stdbuf": true,
	"setsid": true, "time": true, "xargs": true, "busybox": true, "sudo": true, "doas": true,
	"chroot": true, "runuser": true, "unshare": true, "nsenter": true, "taskset": true, "chrt": true,
}

var shells = map[string]bool{}

func init() {
	for f, names := range map[int]string{
		fExecShell:    "sh bash dash zsh ksh mksh ash csh tcsh fish rbash",
		fExecInterp:   "python perl ruby php node nodejs lua luajit tclsh wish awk gawk mawk nawk java expect pwsh",
		fExecNetConn:  "nc ncat netcat nc.openbsd nc.traditional socat telnet ssh sshpass rsh",
		fExecNetFetch: "curl wget tftp ftp scp sftp rsync aria2c lwp-download",
		fExecUser:     "useradd adduser usermod userdel deluser groupadd addgroup groupmod groupdel gpasswd passwd chpasswd chage chsh chfn newusers vipw vigr visudo pwconv",
		fExecPersist:  "crontab at batch systemctl service update-rc.d chkconfig insserv rc-update",
		fExecKmod:     "insmod modprobe rmmod depmod kmod",
		fExecPerm:     "chmod chown chgrp chattr setcap setfacl",
		fExecPriv:     "sudo su doas pkexec runuser setpriv capsh nsenter chroot unshare",
		fExecRecon:    "id whoami uname hostname hostnamectl ps pstree w who last lastlog users groups getent netstat ss ip ifconfig arp route lsmod lscpu lsblk lsof env printenv uptime dmidecode lspci lsusb nproc free df mount",
		fExecWipe:     "shred wipe srm sfill",
		fExecEncode:   "base64 base32 basenc xxd openssl gpg uuencode uudecode",
		fExecArchive:  "tar zip unzip gzip gunzip bzip2 bunzip2 xz unxz 7z 7za zstd cpio",
		fExecPkg:      "apt apt-get dpkg pip gem npm yum dnf rpm apk snap",
		fExecCompiler: "gcc cc c++ g++ clang tcc as ld make go rustc",
		fExecDefense:  "iptables ip6tables nft ufw setenforce auditctl",
	} {
		for _, n := range strings.Fields(names) {
			if _, dup := programs[n]; dup {
				// One feature per name: the first listing above is not
				// ordered, so a name must appear once.
				panic("argfeat: program listed twice: " + n)
			}
			programs[n] = f
			if f == fExecShell {
				shells[n] = true
			}
		}
	}
}

// progName is the base name of an exec path, bounded.
func progName(p string) string {
	b := path.Base(p)
	if b == "." || b == "/" {
		return ""
	}
	if len(b) > maxNameLen {
		b = b[:maxNameLen]
	}
	return b
}

// category returns the exec.* feature of a program name, -1 for none.
func category(name string) int {
	if f, ok := programs[name]; ok {
		return f
	}
	// python3.11, perl5.36.0, php8.2, pip3, lua5.4
	if t := strings.TrimRight(name, "0123456789.-"); t != name && t != "" {
		if f, ok := programs[t]; ok {
			return f
		}
	}
	return -1
}

// wrapped returns the program a wrapper (env, sudo, nohup, busybox, ...)
// runs: its first argument that names a known program.
func wrapped(argv []string) string {
	if i := wrappedAt(argv); i > 0 {
		return progName(argv[i])
	}
	return ""
}

// wrappedAt is the index in argv of the program a wrapper runs, 0 if none.
func wrappedAt(argv []string) int {
	for i, a := range argv {
		if i == 0 {
			continue
		}
		if i > 8 {
			break
		}
		if a == "" || a[0] == '-' || strings.IndexByte(a, '=') >= 0 {
			continue
		}
		if category(progName(a)) >= 0 {
			return i
		}
	}
	return 0
}

// hasShellC reports whether a shell's argv passes a command string: -c, or
// combined short options with c (-ec, -lc).
func hasShellC(argv []string) bool {
	for i, a := range argv {
		if i == 0 {
			continue
		}
		if i > maxArgsScan {
			break
		}
		if len(a) >= 2 && len(a) <= 8 && a[0] == '-' && a[1] != '-' && strings.IndexByte(a, 'c') > 0 {
			return true
		}
	}
	return false
}

// chmodMode looks at a chmod command line: does its mode add execute
// permission, set setuid/setgid?
func chmodMode(argv []string) (exec, setid bool) {
	for i, a := range argv {
		if i == 0 {
			continue
		}
		if i > maxArgsScan {
			break
		}
		if a == "" || strings.HasPrefix(a, "--") || in(a, "-R", "-v", "-f", "-c", "-h") {
			continue
		}
		if len(a) > 32 {
			return false, false
		}
		if octal(a) {
			d := a
			if len(d) > 3 {
				s := d[len(d)-4] - '0'
				setid = s&6 != 0
				d = d[len(d)-3:]
			}
			for _, c := range []byte(d) {
				if (c-'0')&1 != 0 {
					exec = true
				}
			}
			return exec, setid
		}
		// Symbolic: clauses like u+x,g=rwxs,+X.
		for _, cl := range strings.Split(a, ",") {
			j := strings.IndexAny(cl, "+=")
			if j < 0 {
				continue
			}
			perms := cl[j+1:]
			if strings.ContainsAny(perms, "xX") {
				exec = true
			}
			if strings.IndexByte(perms, 's') >= 0 {
				setid = true
			}
		}
		return exec, setid
	}
	return false, false
}

func octal(s string) bool {
	if len(s) < 1 || len(s) > 5 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '7' {
			return false
		}
	}
	return true
}

// argvFlags scans an exec's arguments (bounded) for network redirections,
// URLs, IPv4 literals and base64 decoding.
func argvFlags(argv []string) (devNet, url, ip, decode bool) {
	prog := ""
	if len(argv) > 0 {
		prog = progName(argv[0])
	}
	for i, a := range argv {
		if i >= maxArgsScan {
			break
		}
		if len(a) > maxArgScan {
			a = a[:maxArgScan]
		}
		if strings.Contains(a, "/dev/tcp/") || strings.Contains(a, "/dev/udp/") {
			devNet = true
		}
		if strings.Contains(a, "://") {
			url = true
		}
		if strings.Contains(a, "base64 -d") || strings.Contains(a, "base64 --decode") || strings.Contains(a, "base64 -D") ||
			strings.Contains(a, "b64decode") || strings.Contains(a, "FromBase64") ||
			(i > 0 && strings.HasPrefix(prog, "base64") && in(a, "-d", "--decode", "-D")) {
			decode = true
		}
		if !ip && remoteIPv4(a) {
			ip = true
		}
	}
	return
}

// remoteIPv4 reports whether s holds a dotted-quad IPv4 literal outside
// 127.0.0.0/8 and 0.0.0.0 (bounded: s is at most maxArgScan bytes).
func remoteIPv4(s string) bool {
	start := -1
	for i := 0; i <= len(s); i++ {
		digitOrDot := i < len(s) && (s[i] == '.' || (s[i] >= '0' && s[i] <= '9'))
		if digitOrDot {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			tok := strings.Trim(s[start:i], ".")
			start = -1
			if len(tok) >= 7 && len(tok) <= 15 && strings.Count(tok, ".") == 3 {
				if a, err := netip.ParseAddr(tok); err == nil && a.Is4() && !a.IsLoopback() && !a.IsUnspecified() {
					return true
				}
			}
		}
	}
	return false
}
