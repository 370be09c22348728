package argfeat

import (
	"path"
	"strings"
)

// maxPathLen bounds every path the extractor looks at; longer ones are cut
// (the tracer keeps at most 4096 bytes, a hostile trace may hold anything).
const maxPathLen = 4096

// pathClass is one row of the path grid.
type pathClass struct {
	name, doc string
	match     func(p string, self int) bool // p cleaned; absolute unless the cwd was unknown
}

// The classes, in column order; the first that matches a path wins, so the
// specific ones come before the broad ones (etc_other, root_home, home,
// lib).
var pathClasses = []pathClass{
	{"shadow", "/etc/shadow, /etc/gshadow and their - backups", func(p string, _ int) bool {
		return in(p, "/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-")
	}},
	{"passwd", "/etc/passwd, /etc/group, their - backups, /etc/subuid, /etc/subgid", func(p string, _ int) bool {
		return in(p, "/etc/passwd", "/etc/group", "/etc/passwd-", "/etc/group-", "/etc/subuid", "/etc/subgid")
	}},
	{"sudoers", "/etc/sudoers, /etc/sudoers.d/*", func(p string, _ int) bool {
		return p == "/etc/sudoers" || under(p, "/etc/sudoers.d")
	}},
	{"pam", "/etc/pam.d/*, /etc/security/*, PAM modules (any */security/pam_*.so)", func(p string, _ int) bool {
		return under(p, "/etc/pam.d") || under(p, "/etc/security") ||
			(strings.Contains(p, "/security/pam_") && strings.HasSuffix(p, ".so"))
	}},
	{"cron", "/etc/cron*, /etc/anacrontab, /var/spool/cron/*, /var/spool/anacron/*, /etc/at.allow, /etc/at.deny, /var/spool/at*", func(p string, _ int) bool {
		return strings.HasPrefix(p, "/etc/cron") || p == "/etc/anacrontab" || under(p, "/var/spool/cron") ||
			under(p, "/var/spool/anacron") || in(p, "/etc/at.allow", "/etc/at.deny") || strings.HasPrefix(p, "/var/spool/at")
	}},
	{"systemd", "systemd unit and generator dirs: /etc/systemd/*, /lib/systemd/*, /usr/lib/systemd/*, /run/systemd/system/*, */.config/systemd/*", func(p string, _ int) bool {
		return under(p, "/etc/systemd") || under(p, "/lib/systemd") || under(p, "/usr/lib/systemd") ||
			under(p, "/run/systemd/system") || strings.Contains(p, "/.config/systemd/")
	}},
	{"initscripts", "/etc/init.d/*, /etc/rc*.d/*, /etc/rc.local, /etc/inittab, /etc/xdg/autostart/*, */.config/autostart/*", func(p string, _ int) bool {
		return under(p, "/etc/init.d") || (strings.HasPrefix(p, "/etc/rc") && (p == "/etc/rc.local" || strings.Contains(p, ".d/"))) ||
			p == "/etc/inittab" || under(p, "/etc/xdg/autostart") || strings.Contains(p, "/.config/autostart/")
	}},
	{"shellrc", "shell start-up files: /etc/profile, /etc/profile.d/*, /etc/bash.bashrc, /etc/environment, .bashrc, .bash_profile, .bash_login, .profile, .bash_logout, .zshrc, .zshenv, .zprofile, .zlogin anywhere", func(p string, _ int) bool {
		if in(p, "/etc/profile", "/etc/bash.bashrc", "/etc/environment", "/etc/zsh/zshrc", "/etc/zsh/zshenv") || under(p, "/etc/profile.d") {
			return true
		}
		return in(path.Base(p), ".bashrc", ".bash_profile", ".bash_login", ".profile", ".bash_logout", ".zshrc", ".zshenv", ".zprofile", ".zlogin")
	}},
	{"ssh", "anything in a .ssh directory (authorized_keys, id_*, known_hosts), /etc/ssh/*", func(p string, _ int) bool {
		return under(p, "/etc/ssh") || p == ".ssh" || strings.HasSuffix(p, "/.ssh") || strings.HasPrefix(p, ".ssh/") || strings.Contains(p, "/.ssh/")
	}},
	{"history", "shell and REPL history files anywhere: .bash_history, .zsh_history, .sh_history, .history, .ash_history, .python_history, .mysql_history, .psql_history, .lesshst, .viminfo", func(p string, _ int) bool {
		return in(path.Base(p), ".bash_history", ".zsh_history", ".sh_history", ".history", ".ash_history",
			".python_history", ".mysql_history", ".psql_history", ".lesshst", ".viminfo")
	}},
	{"log", "/var/log/*, /run/utmp, /var/run/utmp", func(p string, _ int) bool {
		return under(p, "/var/log") || in(p, "/run/utmp", "/var/run/utmp")
	}},
	{"proc_other", "/proc/<pid>/mem, maps, smaps, environ, pagemap of a pid other than the caller's", func(p string, self int) bool {
		pid, rest, ok := procPID(p)
		return ok && pid != self && in(rest, "mem", "maps", "smaps", "environ", "pagemap")
	}},
	{"proc_self", "/proc/self/*, /proc/thread-self/*, /proc/<own pid>/*", func(p string, self int) bool {
		if under(p, "/proc/self") || under(p, "/proc/thread-self") {
			return true
		}
		pid, _, ok := procPID(p)
		return ok && pid == self
	}},
	{"dev_net", "/dev/tcp/*, /dev/udp/* (bash network redirections)", func(p string, _ int) bool {
		return under(p, "/dev/tcp") || under(p, "/dev/udp")
	}},
	{"dev_mem", "/dev/mem, /dev/kmem, /dev/port", func(p string, _ int) bool {
		return in(p, "/dev/mem", "/dev/kmem", "/dev/port")
	}},
	{"tmp", "/tmp/*, /var/tmp/*", func(p string, _ int) bool {
		return under(p, "/tmp") || under(p, "/var/tmp")
	}},
	{"shm", "/dev/shm/*, /run/shm/*", func(p string, _ int) bool {
		return under(p, "/dev/shm") || under(p, "/run/shm")
	}},
	{"boot", "/boot/*", func(p string, _ int) bool { return under(p, "/boot") }},
	{"kmod", "/lib/modules/*, /usr/lib/modules/*, /etc/modules, /etc/modprobe.d/*, /etc/modules-load.d/*", func(p string, _ int) bool {
		return under(p, "/lib/modules") || under(p, "/usr/lib/modules") || p == "/etc/modules" ||
			under(p, "/etc/modprobe.d") || under(p, "/etc/modules-load.d")
	}},
	{"ldso", "/etc/ld.so.preload, /etc/ld.so.conf, /etc/ld.so.conf.d/*", func(p string, _ int) bool {
		return in(p, "/etc/ld.so.preload", "/etc/ld.so.conf") || under(p, "/etc/ld.so.conf.d")
	}},
	{"hosts", "/etc/hosts", func(p string, _ int) bool { return p == "/etc/hosts" }},
	{"resolv", "/etc/resolv.conf", func(p string, _ int) bool { return p == "/etc/resolv.conf" }},
	{"etc_other", "anything else under /etc", func(p string, _ int) bool { return under(p, "/etc") }},
	{"root_home", "anything else under /root", func(p string, _ int) bool { return under(p, "/root") }},
	{"home", "anything else under /home", func(p string, _ int) bool { return under(p, "/home") }},
	{"bin", "/bin, /sbin, /usr/bin, /usr/sbin, /usr/local/bin, /usr/local/sbin", func(p string, _ int) bool {
		return under(p, "/bin") || under(p, "/sbin") || under(p, "/usr/bin") || under(p, "/usr/sbin") ||
			under(p, "/usr/local/bin") || under(p, "/usr/local/sbin")
	}},
	{"lib", "anything else under /lib*, /usr/lib*, /usr/local/lib*", func(p string, _ int) bool {
		return strings.HasPrefix(p, "/lib") || strings.HasPrefix(p, "/usr/lib") || strings.HasPrefix(p, "/usr/local/lib")
	}},
}

// classify returns the index of p's class, -1 for none. p must be cleaned.
func classify(p string, self int) int {
	if p == "" {
		return -1
	}
	for i := range pathClasses {
		if pathClasses[i].match(p, self) {
			return i
		}
	}
	return -1
}

// in reports whether s is one of the names.
func in(s string, names ...string) bool {
	for _, n := range names {
		if s == n {
			return true
		}
	}
	return false
}

// under reports whether p is dir or inside it.
func under(p, dir string) bool {
	return p == dir || (len(p) > len(dir) && p[len(dir)] == '/' && p[:len(dir)] == dir)
}

// procPID splits "/proc/123/mem" into 123 and "mem".
func procPID(p string) (pid int, rest string, ok bool) {
	s, found := strings.CutPrefix(p, "/proc/")
	if !found {
		return 0, "", false
	}
	num, rest, _ := strings.Cut(s, "/")
	if len(num) == 0 || len(num) > 9 {
		return 0, "", false
	}
	for _, c := range []byte(num) {
		if c < '0' || c > '9' {
			return 0, "", false
		}
		pid = pid*10 + int(c-'0')
	}
	return pid, rest, true
}

// resolve cleans p, bounded, against cwd when it is relative and cwd is
// known ("" when not). Relative results stay relative.
func resolve(cwd, p string) string {
	if p == "" || p == "?" {
		return ""
	}
	if len(p) > maxPathLen {
		p = p[:maxPathLen]
	}
	if p[0] != '/' && cwd != "" {
		p = cwd + "/" + p
	}
	p = path.Clean(p)
	if len(p) > maxPathLen {
		p = p[:maxPathLen]
	}
	return p
}

// hidden reports whether a component of p starts with a dot.
func hidden(p string) bool {
	for p != "" {
		var c string
		c, p, _ = strings.Cut(p, "/")
		if len(c) > 1 && c[0] == '.' && c != ".." {
			return true
		}
	}
	return false
}
