package corpus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// GuestAtomicsDir is where Atomic Red Team's PathToAtomicsFolder points in
// the guest. Nothing is put there: the dataset holds only the technique
// files, not their src/ and bin/ folders, so a test that reads a file from
// the atomics folder is skipped (see FromAtomic).
const GuestAtomicsDir = "/tmp/smn/atomics"

// Skip reasons of Atomic Red Team tests (a reason may carry details after
// the prefix, e.g. "needs package gcc", "needs the network (prereq: wget ...)").
const (
	ReasonManual      = "manual"
	ReasonExecutor    = "executor" // "executor powershell"
	ReasonNetwork     = "needs the network"
	ReasonPackage     = "needs package" // "needs package gcc (gcc)": the guest lacks the program
	ReasonProgram     = "needs program" // "needs program dscl (not packaged in Debian)": macOS, FreeBSD, proprietary
	ReasonAtomicsFile = "needs a file from the atomics folder"
	ReasonPrereq      = "prerequisite not met in the guest"
	ReasonStopsGuest  = "stops the guest" // reboots or powers off: no trace to keep
)

// ErrAtomic is wrapped by errors reading Atomic Red Team's files.
var ErrAtomic = errors.New("atomic red team")

// atomicFile is one technique file, atomics/TXXXX/TXXXX.yaml.
type atomicFile struct {
	Technique string       `yaml:"attack_technique"`
	Tests     []atomicTest `yaml:"atomic_tests"`
}

type atomicTest struct {
	Name           string              `yaml:"name"`
	Platforms      []string            `yaml:"supported_platforms"`
	InputArguments map[string]atomicIn `yaml:"input_arguments"`
	DepExecutor    string              `yaml:"dependency_executor_name"`
	Dependencies   []atomicDep         `yaml:"dependencies"`
	Executor       struct {
		Name    string `yaml:"name"`
		Command string `yaml:"command"`
	} `yaml:"executor"`
}

type atomicIn struct {
	Default yaml.Node `yaml:"default"`
}

type atomicDep struct {
	Description string `yaml:"description"`
	Prereq      string `yaml:"prereq_command"`
	GetPrereq   string `yaml:"get_prereq_command"`
}

// FromAtomic converts Atomic Red Team's technique files
// (dir/T*/T*.yaml, dir being the atomics folder) into a manifest: every test
// whose supported_platforms include linux becomes either an item (a script
// for its executor with the default input arguments substituted, its offline
// prerequisites first) or a Skip with the reason it cannot run in the
// offline guest. Items and skips are in the order of the files (sorted by
// technique) and of the tests within a file.
func FromAtomic(dir string) (*Manifest, error) {
	files, err := filepath.Glob(filepath.Join(dir, "T*", "T*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAtomic, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no technique files (T*/T*.yaml) under %s", ErrAtomic, dir)
	}
	sort.Strings(files)
	m := &Manifest{}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrAtomic, err)
		}
		var f atomicFile
		if err := yaml.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrAtomic, path, err)
		}
		if !techniqueRe.MatchString(f.Technique) {
			return nil, fmt.Errorf("%w: %s: attack_technique %q is not an ATT&CK id", ErrAtomic, path, f.Technique)
		}
		for i, t := range f.Tests {
			if !hasLinux(t.Platforms) {
				continue
			}
			id := fmt.Sprintf("art/%s/%d", f.Technique, i+1)
			script, reason := atomicScript(&t)
			if reason != "" {
				m.Skipped = append(m.Skipped, Skip{ID: id, Group: f.Technique, Name: t.Name, Reason: reason})
				continue
			}
			m.Items = append(m.Items, Item{
				ID: id, Label: LabelMalware, Group: f.Technique, Techniques: []string{f.Technique},
				Source: SourceAtomic, Name: t.Name, Script: script,
			})
		}
	}
	if len(m.Items) > 0 {
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrAtomic, err)
		}
	}
	return m, nil
}

func hasLinux(ps []string) bool {
	for _, p := range ps {
		if strings.EqualFold(p, "linux") {
			return true
		}
	}
	return false
}

var argRe = regexp.MustCompile(`#\{([A-Za-z0-9_.-]+)\}`)

// atomicArgs returns the test's input arguments with their defaults, the
// atomics folder resolved.
func atomicArgs(t *atomicTest) map[string]string {
	args := map[string]string{}
	for k, in := range t.InputArguments {
		v := in.Default.Value // scalars (strings, numbers, booleans) as written
		if in.Default.Kind != yaml.ScalarNode {
			v = ""
		}
		args[strings.ToLower(k)] = atomicsFolder(v)
	}
	return args
}

// atomicsFolder points PathToAtomicsFolder (or $PathToAtomicsFolder) at the
// guest's folder.
func atomicsFolder(s string) string {
	s = strings.ReplaceAll(s, "$PathToAtomicsFolder", GuestAtomicsDir)
	return strings.ReplaceAll(s, "PathToAtomicsFolder", GuestAtomicsDir)
}

// substitute replaces each #{name} by the argument's default (names match
// case-insensitively, as Invoke-AtomicTest does; a default may itself use
// #{other}); unknown names are left as they are.
func substitute(s string, args map[string]string) string {
	for range 3 {
		next := argRe.ReplaceAllStringFunc(s, func(m string) string {
			if v, ok := args[strings.ToLower(m[2:len(m)-1])]; ok {
				return v
			}
			return m
		})
		if next == s {
			break
		}
		s = next
	}
	return atomicsFolder(s)
}

// shebang maps an executor to the script's first line ("" if it cannot run).
func shebang(executor string) string {
	switch strings.ToLower(executor) {
	case "sh":
		return "#!/bin/sh"
	case "bash":
		return "#!/bin/bash"
	}
	return ""
}

// atomicScript builds the test's script, or says why it cannot run.
func atomicScript(t *atomicTest) (script, reason string) {
	exe := strings.ToLower(t.Executor.Name)
	switch {
	case exe == "manual":
		return "", ReasonManual
	case shebang(exe) == "":
		return "", ReasonExecutor + " " + exe
	case strings.TrimSpace(t.Executor.Command) == "":
		return "", ReasonExecutor + " " + exe + " without a command"
	}
	args := atomicArgs(t)
	cmd := strings.TrimSpace(substitute(t.Executor.Command, args))
	if stopsGuest(cmd) {
		return "", ReasonStopsGuest
	}
	if r := needs(cmd); r != "" {
		return "", r
	}
	depExe := exe
	if t.DepExecutor != "" {
		depExe = strings.ToLower(t.DepExecutor)
	}
	var pre strings.Builder
	for _, d := range t.Dependencies {
		d.Description = substitute(d.Description, args)
		check := strings.TrimSpace(substitute(d.Prereq, args))
		get := strings.TrimSpace(substitute(d.GetPrereq, args))
		if check == "" && get == "" {
			continue
		}
		if shebang(depExe) == "" {
			return "", ReasonExecutor + " " + depExe + " (prereq)"
		}
		met, r := prereqMet(check)
		if r != "" {
			return "", r + " (prereq)"
		}
		if met {
			// Met in the guest whatever get_prereq would do: only the check runs.
			fmt.Fprintf(&pre, "# prereq: %s\n( %s ) >/dev/null 2>&1\n", oneLine(d.Description), indent(check))
			continue
		}
		if r := needs(get); r != "" {
			return "", withPrereq(r, get)
		}
		if check != "" && onlyTells(get) && unmetCheckRe.MatchString(check) {
			return "", ReasonPrereq + " (" + oneLine(d.Description) + ")"
		}
		if check == "" {
			fmt.Fprintf(&pre, "# prereq: %s\n( %s )\n", oneLine(d.Description), indent(get))
			continue
		}
		fmt.Fprintf(&pre, "# prereq: %s\nif ! ( %s ) >/dev/null 2>&1; then\n  ( %s )\nfi\n",
			oneLine(d.Description), indent(check), indent(get))
	}
	if depExe == "bash" {
		exe = "bash" // the prerequisites are bash: so is the script
	}
	var b strings.Builder
	b.WriteString(shebang(exe) + "\n")
	b.WriteString(pre.String())
	b.WriteString(cmd + "\n")
	return b.String(), ""
}

// unmetCheckRe matches prerequisite checks known to fail in the guest:
// files of packages it lacks (ufw), locale files it has not, other
// distributions.
var unmetCheckRe = regexp.MustCompile(`/etc/ufw/|/etc/default/ufw|/var/log/ufw|/etc/locale\.conf|/etc/default/locale|el\[0-9\]|/etc/redhat-release|/etc/centos-release`)

// stopsGuest says whether a command reboots, halts or crashes the machine
// (sysrq b, o or c; reboot, shutdown, halt, poweroff, init 0/6): the VM
// would be gone before its trace is sent.
func stopsGuest(cmd string) bool {
	if sysrqRe.MatchString(cmd) {
		return true
	}
	for _, w := range commandWords(cmd) {
		switch w {
		case "reboot", "shutdown", "halt", "poweroff":
			return true
		case "init", "telinit":
			if initRe.MatchString(cmd) {
				return true
			}
		}
	}
	return false
}

var (
	sysrqRe = regexp.MustCompile(`echo\s+["']?[boc]["']?\s*>\s*/proc/sysrq-trigger`)
	initRe  = regexp.MustCompile(`(^|[\s;&|])(tel)?init\s+[06]\b`)
)

// onlyTells says whether a get_prereq command only prints instructions
// (echo, printf, exit): it cannot meet the prerequisite.
func onlyTells(get string) bool {
	if strings.Contains(get, ">") {
		return false // it writes something
	}
	ws := commandWords(get)
	for _, w := range ws {
		switch w {
		case "echo", "printf", "exit", "true", "false", ":":
		default:
			return false
		}
	}
	return len(ws) > 0
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return s
}

// indent keeps a multi-line command readable inside ( ... ).
func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

// withPrereq says that a reason comes from the prerequisite's get command.
func withPrereq(reason, get string) string {
	line := strings.TrimSpace(strings.SplitN(strings.TrimSpace(get), "\n", 2)[0])
	if len(line) > 80 {
		line = line[:80] + "..."
	}
	return reason + " (prereq: " + line + ")"
}

var (
	// Programs that fetch from or talk to other machines, package managers
	// and their install verbs.
	netCmdRe = regexp.MustCompile(`(?m)(^|[\s;|&(` + "`" + `])(` +
		`apt(-get)?\s+(-\S+\s+)*(install|update|upgrade)|yum\s|dnf\s|apk\s+add|pkg\s+(install|update)|brew\s|snap\s+install|` +
		`pip[0-9.]*\s+(-\S+\s+)*install|python3?\s+-m\s+pip\s+install|npm\s+install|gem\s+install|go\s+(get|install)|` +
		`git\s+clone|wget\s|ssh\s|scp\s|sftp\s|rsync\s|ftp\s|tftp\s|aws\s|az\s|gcloud\s|kubectl\s|docker\s|` +
		`dig\s|nslookup\s|host\s+\S+\.|whois\s)`)
	urlRe = regexp.MustCompile(`(?i)\b(https?|ftp)://([^/\s"'$:]+)`)
	ipRe  = regexp.MustCompile(`\b((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\b`)
	// /dev/tcp/host/port and nc/netcat/curl to a named host.
	devTCPRe  = regexp.MustCompile(`/dev/(tcp|udp)/([^/\s]+)/`)
	domainRe  = regexp.MustCompile(`(?i)\b[a-z0-9-]+(\.[a-z0-9-]+)*\.(com|net|org|io|ru|cn|xyz|info|onion|rs|local)\b`)
	atomicsRe = regexp.MustCompile(regexp.QuoteMeta(GuestAtomicsDir) + `(/[^\s"';|&)]*)?`)
)

// local says whether a host is this machine.
func local(host string) bool {
	h := strings.ToLower(strings.Trim(host, "[]"))
	return h == "localhost" || strings.HasPrefix(h, "127.") || h == "0.0.0.0" || h == "::1" || h == "$(hostname)"
}

// needs returns why a command cannot run in the offline guest ("" if it can):
// fetching programs and package managers first, then files of the atomics
// folder, then programs the guest lacks, then remote addresses.
func needs(cmd string) string {
	if cmd == "" {
		return ""
	}
	if r := needsFetch(cmd); r != "" {
		return r
	}
	if m := atomicsRe.FindString(cmd); m != "" {
		rel := strings.TrimPrefix(strings.TrimPrefix(m, GuestAtomicsDir), "/")
		if rel == "" {
			rel = "."
		}
		return ReasonAtomicsFile + " (" + rel + "; not in the dataset)"
	}
	if prog, pkg := missingProgram(cmd); prog != "" {
		return packageReason(prog, pkg)
	}
	return needsRemote(cmd)
}

func needsFetch(cmd string) string {
	if m := netCmdRe.FindStringSubmatch(cmd); m != nil {
		return ReasonNetwork + " (" + strings.Fields(m[2])[0] + ")"
	}
	for _, m := range urlRe.FindAllStringSubmatch(cmd, -1) {
		if !local(m[2]) {
			return ReasonNetwork + " (" + m[2] + ")"
		}
	}
	return ""
}

// needsRemote finds addresses of other machines: /dev/tcp/host, IPv4
// literals, domain names.
func needsRemote(cmd string) string {
	for _, m := range devTCPRe.FindAllStringSubmatch(cmd, -1) {
		if !local(m[2]) {
			return ReasonNetwork + " (" + m[2] + ")"
		}
	}
	for _, ip := range ipRe.FindAllString(cmd, -1) {
		if !local(ip) && !strings.HasPrefix(ip, "255.") && ip != "0.0.0.0" {
			return ReasonNetwork + " (" + ip + ")"
		}
	}
	for _, d := range domainRe.FindAllString(cmd, -1) {
		return ReasonNetwork + " (" + d + ")"
	}
	return ""
}

// checkRe finds the programs a prerequisite check looks for.
var checkRe = regexp.MustCompile(`(?:command\s+-v|which|type|hash)\s+([A-Za-z0-9_.+-]+)`)

// prereqMet decides a prerequisite check statically where it can: a check
// that only looks for programs is met if the guest has them all, and gives
// "needs package X" if it lacks one. Other checks (files, ...) are not
// decided (met false, reason ""): their get command runs in the guest.
func prereqMet(check string) (met bool, reason string) {
	ms := checkRe.FindAllStringSubmatch(check, -1)
	if len(ms) == 0 {
		if prog, pkg := missingProgram(check); prog != "" {
			return false, packageReason(prog, pkg)
		}
		return false, ""
	}
	// "which a || which b": one of them suffices.
	alternatives := strings.Contains(check, "||")
	found := 0
	var lack []string
	for _, m := range ms {
		if pkg, missing := guestLacks[m[1]]; missing {
			lack = append(lack, packageReason(m[1], pkg))
		} else {
			found++
		}
	}
	switch {
	case len(lack) == 0, alternatives && found > 0:
		return true, ""
	}
	return false, lack[0]
}

// packageReason says which program, from which Debian package, is missing.
func packageReason(prog, pkg string) string {
	if pkg == "-" {
		return fmt.Sprintf("%s %s (not packaged in Debian)", ReasonProgram, prog)
	}
	return fmt.Sprintf("%s %s (%s)", ReasonPackage, pkg, prog)
}

// missingProgram returns the first program the command runs that the guest
// lacks, with its Debian package. A program on a line that checks for
// programs (command -v X, which X) is excused: the script runs it only if
// it is there, or falls back to another.
func missingProgram(cmd string) (prog, pkg string) {
	for _, line := range strings.Split(cmd, "\n") {
		if checkRe.MatchString(line) {
			continue
		}
		if imageMagickRe.MatchString(line) {
			return "import", "imagemagick"
		}
		for _, w := range commandWords(line) {
			if p, ok := guestLacks[w]; ok {
				return w, p
			}
		}
	}
	return "", ""
}

// imageMagickRe finds ImageMagick's import (a screenshot), not Python's.
var imageMagickRe = regexp.MustCompile(`(^|[;|&])\s*(sudo\s+)?import\s+-`)

// commandWords returns the words in command position of a shell script: at
// the start of a line and after ; | & && || ( { ` $( and the keywords that
// precede a command, past variable assignments and wrappers (sudo, nohup,
// env, exec, timeout N, nice, xargs, sh -c '...'). Quoted text is scanned too
// (sh -c '...' and bash -c "..." hold commands). It is a heuristic, not a
// shell parser: it is used only to find programs the guest lacks.
func commandWords(script string) []string {
	var words []string
	atCmd := true
	skipNext := 0
	for _, tok := range shellTokens(script) {
		if tok.sep {
			atCmd = true
			skipNext = 0
			continue
		}
		w := tok.text
		if !atCmd {
			continue
		}
		if skipNext > 0 {
			skipNext--
			continue
		}
		switch {
		case w == "", strings.HasPrefix(w, "-"):
			continue // options of a wrapper
		case isAssign(w):
			continue
		case shellKeywords[w]:
			continue
		case w == "timeout" || w == "nice" || w == "ionice" || w == "chrt" || w == "taskset":
			skipNext = 0
			words = append(words, w)
			if w == "timeout" || w == "taskset" || w == "chrt" {
				skipNext = 1 // the duration, mask or priority
			}
			continue
		case wrappers[w]:
			words = append(words, w)
			continue
		}
		if strings.ContainsAny(w, "$#=/{}[]<>*?\\") {
			atCmd = false
			continue
		}
		words = append(words, w)
		atCmd = false
	}
	return words
}

var shellKeywords = map[string]bool{
	"if": true, "then": true, "else": true, "elif": true, "fi": true, "do": true, "done": true,
	"while": true, "until": true, "!": true, "time": true, "esac": true, "in": true,
}

var wrappers = map[string]bool{
	"sudo": true, "nohup": true, "env": true, "exec": true, "xargs": true, "setsid": true,
	"stdbuf": true, "command": false, "builtin": true, "eval": true,
}

func isAssign(w string) bool {
	i := strings.IndexByte(w, '=')
	if i <= 0 {
		return false
	}
	for _, c := range w[:i] {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

type shellToken struct {
	text string
	sep  bool // a command boundary
}

// shellTokens splits a script into words and command boundaries. Quotes
// bound words but their content is split too (commands inside sh -c '...').
func shellTokens(s string) []shellToken {
	var toks []shellToken
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, shellToken{text: cur.String()})
			cur.Reset()
		}
	}
	sep := func() { flush(); toks = append(toks, shellToken{sep: true}) }
	comment := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if comment {
			if c == '\n' {
				comment = false
				sep()
			}
			continue
		}
		switch c {
		case '&':
			if (i > 0 && s[i-1] == '>') || (i+1 < len(s) && s[i+1] == '>') {
				cur.WriteByte(c) // 2>&1, &>file: a redirection
				continue
			}
			sep()
		case '\n', ';', '|', '(', ')', '`', '{', '}':
			sep()
		case '\'', '"':
			// An opening quote before a word starts a command when the
			// word before it is -c (sh -c '...'); otherwise it only bounds a word.
			flush()
			if n := len(toks); n > 0 && !toks[n-1].sep && toks[n-1].text == "-c" {
				sep()
			}
		case ' ', '\t', '\r':
			flush()
		case '#':
			if cur.Len() == 0 && (i == 0 || s[i-1] != '$') {
				comment = true
				flush()
				continue
			}
			cur.WriteByte(c)
		case '$':
			if i+1 < len(s) && s[i+1] == '(' && !(i+2 < len(s) && s[i+2] == '(') {
				sep()
				i++
				continue
			}
			cur.WriteByte(c)
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return toks
}

// guestLacks maps programs that Atomic Red Team's Linux tests run and that
// the guest's root filesystem (vmimages/rootfs-packages.txt on Debian 12's
// essential set) does not have to the Debian package that provides them
// ("-" when Debian has none). TestGuestLacksMatchesRootFS checks it against
// a built root filesystem.
var guestLacks = map[string]string{
	"ed": "ed", "gcc": "gcc", "cc": "gcc", "g++": "g++", "make": "make", "go": "golang-go",
	"xxd": "xxd", "strings": "binutils", "objdump": "binutils", "ld": "binutils", "upx": "upx-ucl",
	"ssh": "openssh-client", "scp": "openssh-client", "sshpass": "sshpass", "ssh-keygen": "openssh-client",
	"sshd": "openssh-server",
	"wget": "wget", "git": "git", "telnet": "telnet", "nmap": "nmap", "ping": "iputils-ping",
	"arp": "net-tools", "ifconfig": "net-tools", "netstat": "net-tools", "route": "net-tools",
	"tcpdump": "tcpdump", "tshark": "tshark", "socat": "socat", "openssl": "openssl", "gpg": "gpg",
	"sqlite3": "sqlite3", "systemctl": "systemd", "systemd-run": "systemd", "journalctl": "systemd",
	"timedatectl": "systemd", "hostnamectl": "systemd", "loginctl": "systemd", "shutdown": "systemd-sysv",
	"reboot": "systemd-sysv", "halt": "systemd-sysv", "poweroff": "systemd-sysv", "init": "systemd-sysv",
	"at": "at", "atd": "at", "atq": "at", "lsof": "lsof", "sockstat": "-", "ldapsearch": "ldap-utils",
	"xclip": "xclip", "xsel": "xsel", "xwd": "x11-apps",
	"screencapture": "-", "pbpaste": "-", "dscl": "-", "dscacheutil": "-", "launchctl": "-", "kldload": "-",
	"zip2john": "john", "john": "john", "hashcat": "hashcat", "hydra": "hydra", "medusa": "medusa",
	"python2": "python2", "python": "python-is-python3", "ruby": "ruby", "php": "php-cli", "lua": "lua5.4",
	"node": "nodejs", "java": "default-jre", "gdb": "gdb", "strace": "strace", "ltrace": "ltrace",
	"mount": "mount", "umount": "mount", "losetup": "mount", "swapon": "mount", "swapoff": "mount",
	"iptables": "iptables", "ip6tables": "iptables", "ufw": "ufw", "firewall-cmd": "firewalld", "nft": "nftables",
	"auditctl": "auditd", "ausearch": "auditd", "setenforce": "selinux-utils", "getenforce": "selinux-utils",
	"sestatus": "policycoreutils", "aa-status": "apparmor", "apparmor_parser": "apparmor",
	"rsyslogd": "rsyslog", "logrotate": "logrotate", "chattr": "e2fsprogs", "lsattr": "e2fsprogs",
	"debugfs": "e2fsprogs", "srm": "secure-delete", "wipe": "wipe", "gpg2": "gpg",
	"7z": "p7zip-full", "7za": "p7zip-full", "rar": "rar", "zstd": "zstd", "lz4": "lz4",
	"mkisofs": "genisoimage", "genisoimage": "genisoimage", "vim": "vim", "vi": "vim", "nano": "nano", "less": "less",
	"mail": "mailutils", "sendmail": "sendmail", "ncat": "ncat", "nping": "nmap", "masscan": "masscan",
	"docker": "docker.io", "kubectl": "-", "aws": "awscli", "az": "-", "gcloud": "-", "stratus": "-",
	"tor": "tor", "proxychains": "proxychains4", "proxychains4": "proxychains4", "torsocks": "torsocks",
	"code": "-", "cloudflared": "-", "ngrok": "-", "devtunnel": "-", "rclone": "rclone", "gsutil": "-",
	"bpftrace": "bpftrace", "bpftool": "bpftool", "perf": "linux-perf", "dig": "bind9-dnsutils",
	"nslookup": "bind9-dnsutils", "host": "bind9-host", "whois": "whois", "ftp": "ftp", "tftp": "tftp-hpa",
	"xdotool": "xdotool", "xdg-open": "xdg-utils", "gsettings": "libglib2.0-bin", "dconf": "dconf-cli",
	"csrutil": "-", "spctl": "-", "defaults": "-", "osascript": "-", "sw_vers": "-", "system_profiler": "-",
	"pw": "-", "pkg": "-", "chkconfig": "-", "rc-update": "openrc", "chflags": "-", "kldstat": "-", "lastlogin": "-",
	"ldapadd": "ldap-utils", "ldapmodify": "ldap-utils", "b64encode": "-", "b64decode": "-", "rpm": "rpm",
	"psexec.py": "python3-impacket", "localectl": "systemd", "sysrc": "-", "mdatp": "-", "pfctl": "-",
	"realm": "realmd", "adcli": "adcli", "samba": "samba", "smbclient": "smbclient", "showmount": "nfs-common",
	"ccrypt": "ccrypt", "ccencrypt": "ccrypt", "ccdecrypt": "ccrypt", "sqlcmd": "-", "mysql": "default-mysql-client", "psql": "postgresql-client",
	"lshw": "lshw", "dmidecode": "dmidecode",
	"lspci": "pciutils", "lsusb": "usbutils", "hwinfo": "hwinfo", "inxi": "inxi", "virt-what": "virt-what",
	"tree": "tree", "locate": "plocate", "updatedb": "plocate", "mlocate": "mlocate",
}

// SkipCounts counts skips by the kind of their reason (one of the Reason*
// constants, details left out).
func SkipCounts(skips []Skip) map[string]int {
	n := map[string]int{}
	for _, s := range skips {
		n[reasonKind(s.Reason)]++
	}
	return n
}

func reasonKind(r string) string {
	for _, k := range []string{ReasonManual, ReasonExecutor, ReasonNetwork, ReasonPackage, ReasonProgram, ReasonAtomicsFile, ReasonPrereq, ReasonStopsGuest} {
		if strings.HasPrefix(r, k) {
			return k
		}
	}
	return r
}
