package corpus

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// datasetsDir locates a shared data set: $SCALEMALNET_DATASETS/sub, or
// ../shared/datasets/sub next to the directory holding go.mod. Missing data
// fails the test under CI=true and skips it otherwise.
func datasetsDir(t testing.TB, sub string) string {
	t.Helper()
	var base string
	if env := os.Getenv("SCALEMALNET_DATASETS"); env != "" {
		base = env
	} else if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				base = filepath.Join(d, "..", "shared", "datasets")
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	dir := filepath.Join(base, sub)
	if st, err := os.Stat(dir); base == "" || err != nil || !st.IsDir() {
		msg := "data set " + sub + " not found (looked in " + dir + "; set SCALEMALNET_DATASETS to the datasets folder)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

func atomicDir(t testing.TB) string {
	return datasetsDir(t, filepath.Join("atomic-red-team", "atomics"))
}

func TestSubstitute(t *testing.T) {
	args := map[string]string{
		"output_file": "/tmp/out.txt",
		"script":      GuestAtomicsDir + "/T1/src/x.sh",
		"nested":      "#{output_file}.bak",
		"empty":       "",
	}
	for _, c := range []struct{ in, want string }{
		{"cat /etc/passwd > #{output_file}", "cat /etc/passwd > /tmp/out.txt"},
		{"cp #{OUTPUT_FILE} x", "cp /tmp/out.txt x"}, // names match case-insensitively
		{"sh #{script}", "sh " + GuestAtomicsDir + "/T1/src/x.sh"},
		{"mv #{nested} y", "mv /tmp/out.txt.bak y"}, // a default may use another argument
		{"echo '#{unknown}'", "echo '#{unknown}'"},  // unknown names stay
		{"echo [#{empty}]", "echo []"},
		{"cp $PathToAtomicsFolder/T1/a /tmp", "cp " + GuestAtomicsDir + "/T1/a /tmp"},
		{"ls PathToAtomicsFolder/../ExternalPayloads", "ls " + GuestAtomicsDir + "/../ExternalPayloads"},
		{"echo ${HOME} #{output_file}", "echo ${HOME} /tmp/out.txt"}, // shell ${} untouched
		{"a\n#{output_file}\nb", "a\n/tmp/out.txt\nb"},
	} {
		if got := substitute(c.in, args); got != c.want {
			t.Errorf("substitute(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestExecutorMapping(t *testing.T) {
	for _, c := range []struct{ exe, shebang, reason string }{
		{"sh", "#!/bin/sh", ""},
		{"bash", "#!/bin/bash", ""},
		{"Bash", "#!/bin/bash", ""},
		{"manual", "", ReasonManual},
		{"powershell", "", "executor powershell"},
		{"command_prompt", "", "executor command_prompt"},
	} {
		var tst atomicTest
		tst.Executor.Name = c.exe
		tst.Executor.Command = "id"
		script, reason := atomicScript(&tst)
		if reason != c.reason {
			t.Errorf("executor %s: reason %q, want %q", c.exe, reason, c.reason)
		}
		if c.shebang != "" && !strings.HasPrefix(script, c.shebang+"\n") {
			t.Errorf("executor %s: script %q does not start with %s", c.exe, script, c.shebang)
		}
		if c.shebang == "" && script != "" {
			t.Errorf("executor %s: a script %q for a test that cannot run", c.exe, script)
		}
	}
}

func TestCommandWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"sudo cat /etc/shadow > /tmp/x", []string{"sudo", "cat"}},
		{"ps aux | grep -v grep; id && whoami", []string{"ps", "grep", "id", "whoami"}},
		{"X=1 Y=2 env -i nohup ed file", []string{"env", "nohup", "ed"}},
		{"if [ -x \"$(command -v arp)\" ]; then arp -a; fi", []string{"command", "arp"}},
		{"echo $(uname -r) `hostname`", []string{"echo", "uname", "hostname"}},
		{"ls >/dev/null 2>&1 && ping -c 1 localhost", []string{"ls", "ping"}},
		{"bash -c 'gcc x.c'", []string{"bash", "gcc"}},
		{"timeout 5 nc -l 4444 # nmap in a comment", []string{"timeout", "nc"}},
		{"for i in 1 2; do tcpdump -c1; done", []string{"for", "tcpdump"}},
		{"/usr/bin/id\n./a.out", nil}, // paths are not looked up
	} {
		if got := commandWords(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("commandWords(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNeeds(t *testing.T) {
	for _, c := range []struct{ cmd, want string }{
		{"cat /etc/passwd", ""},
		{"curl -s http://127.0.0.1:8080/x", ""},
		{"echo > /dev/tcp/127.0.0.1/4444", ""},
		{"curl -O https://raw.githubusercontent.com/a/b", ReasonNetwork},
		{"sudo apt-get install -y gcc", ReasonNetwork},
		{"pip3 install impacket", ReasonNetwork},
		{"git clone https://example.com/x", ReasonNetwork},
		{"echo >/dev/tcp/192.168.1.1/80", ReasonNetwork},
		{"cp " + GuestAtomicsDir + "/T1/src/a.c /tmp", ReasonAtomicsFile},
		{"echo x | ed", ReasonPackage + " ed"},
		{"dscl . -list /Users", ReasonProgram + " dscl"},
		{"if [ -x \"$(command -v lsof)\" ]; then lsof -i; fi", ""}, // checked before use
		{"python3 -c 'import os'", ""},
		{"import -window root /tmp/s.png", ReasonPackage + " imagemagick"},
		{"sh /tmp/evil.sh", ""}, // a file name is not a domain
	} {
		got := needs(c.cmd)
		if (c.want == "") != (got == "") || !strings.HasPrefix(got, c.want) {
			t.Errorf("needs(%q) = %q, want prefix %q", c.cmd, got, c.want)
		}
	}
}

// TestFromAtomicRealTests checks the conversion of chosen tests of the
// dataset: scripts, substitution, prerequisites and skip reasons.
func TestFromAtomicRealTests(t *testing.T) {
	m, err := FromAtomic(atomicDir(t))
	if err != nil {
		t.Fatal(err)
	}
	items := map[string]Item{}
	for _, it := range m.Items {
		items[it.ID] = it
	}
	skips := map[string]Skip{}
	for _, s := range m.Skipped {
		skips[s.ID] = s
	}
	runs := []struct {
		id       string
		contains []string
		lacks    []string
	}{
		// bash executor, output_file substituted, cleanup_command not run.
		{"art/T1003.008/1", []string{"#!/bin/bash\n", "sudo cat /etc/shadow > /tmp/T1003.008.txt\ncat /tmp/T1003.008.txt\n"}, []string{"#{", "rm -f"}},
		// sh executor; a function defined and used.
		{"art/T1003.008/5", []string{"#!/bin/sh\n", "testcat /etc/shadow"}, []string{"#{"}},
		// An offline prerequisite: checked, then met, before the command.
		{"art/T1027.001/1", []string{"#!/bin/sh\n", "if ! ( if [ -f /tmp/evil-binary ]", "cp /bin/ls /tmp/evil-binary", "dd if=/dev/zero bs=1 count=1 >> /tmp/evil-binary"}, nil},
		// A prerequisite met in the guest (ip is there): only its check runs,
		// not its apt-get install.
		{"art/T1018/13", []string{"command -v ip", "ip route show"}, []string{"apt-get"}},
	}
	for _, c := range runs {
		it, ok := items[c.id]
		if !ok {
			t.Errorf("%s: not an item (skip: %q)", c.id, skips[c.id].Reason)
			continue
		}
		if it.Label != LabelMalware || it.Source != SourceAtomic || it.Name == "" {
			t.Errorf("%s: label %q source %q name %q", c.id, it.Label, it.Source, it.Name)
		}
		tech := strings.Split(c.id, "/")[1]
		if it.Group != tech || !reflect.DeepEqual(it.Techniques, []string{tech}) {
			t.Errorf("%s: group %q techniques %v, want %s", c.id, it.Group, it.Techniques, tech)
		}
		for _, s := range c.contains {
			if !strings.Contains(it.Script, s) {
				t.Errorf("%s: script lacks %q:\n%s", c.id, s, it.Script)
			}
		}
		for _, s := range c.lacks {
			if strings.Contains(it.Script, s) {
				t.Errorf("%s: script has %q:\n%s", c.id, s, it.Script)
			}
		}
	}
	for _, c := range []struct{ id, reason string }{
		{"art/T1048.003/1", ReasonManual},
		{"art/T1595.003/1", "executor powershell"},
		{"art/T1003.008/4", "needs package ed (ed)"},
		{"art/T1005/2", ReasonNetwork},                          // curl from GitHub
		{"art/T1014/2", ReasonNetwork + " (apt) (prereq: "},     // apt install make
		{"art/T1555.003/9", ReasonNetwork + " (git) (prereq: "}, // git clone
		{"art/T1048/1", ReasonNetwork + " (ssh)"},
		{"art/T1027.002/1", ReasonAtomicsFile + " (T1027.002/bin/linux/test_upx"},
		{"art/T1053.006/1", "needs package systemd (systemctl)"},
		{"art/T1049/6", ReasonProgram + " sockstat"},
		{"art/T1686/13", ReasonPrereq},     // ufw's files are not there
		{"art/T1529/16", ReasonStopsGuest}, // echo b > /proc/sysrq-trigger
		{"art/T1529/3", ReasonStopsGuest},  // shutdown
	} {
		s, ok := skips[c.id]
		if !ok {
			t.Errorf("%s: not skipped", c.id)
			continue
		}
		if !strings.HasPrefix(s.Reason, c.reason) {
			t.Errorf("%s: reason %q, want prefix %q", c.id, s.Reason, c.reason)
		}
		if s.Group != strings.Split(c.id, "/")[1] || s.Name == "" {
			t.Errorf("%s: group %q name %q", c.id, s.Group, s.Name)
		}
	}
}

// TestFromAtomicWholeDataset converts every Linux test of the dataset: no
// error, every test either an item or a skip with a known reason, a
// manifest that validates, the same output twice. It prints the counts.
func TestFromAtomicWholeDataset(t *testing.T) {
	dir := atomicDir(t)
	m, err := FromAtomic(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	// SOURCE.md: 340 Linux tests in 102 techniques.
	if n := len(m.Items) + len(m.Skipped); n != 340 {
		t.Errorf("%d items + %d skipped = %d tests, want 340", len(m.Items), len(m.Skipped), n)
	}
	techs := map[string]bool{}
	for _, it := range m.Items {
		techs[it.Group] = true
		if strings.Contains(it.Script, "#{") && !strings.Contains(it.Script, "'#{") {
			t.Errorf("%s: an argument left unsubstituted:\n%s", it.ID, it.Script)
		}
		if strings.Contains(it.Script, GuestAtomicsDir) {
			t.Errorf("%s: runs a file of the atomics folder", it.ID)
		}
	}
	kinds := SkipCounts(m.Skipped)
	known := map[string]bool{ReasonManual: true, ReasonExecutor: true, ReasonNetwork: true, ReasonPackage: true,
		ReasonProgram: true, ReasonAtomicsFile: true, ReasonPrereq: true, ReasonStopsGuest: true}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		if !known[k] {
			t.Errorf("unknown skip reason %q", k)
		}
		names = append(names, k)
	}
	sort.Strings(names)
	t.Logf("Atomic Red Team Linux tests: %d runnable (%d techniques), %d skipped", len(m.Items), len(techs), len(m.Skipped))
	for _, k := range names {
		t.Logf("  skipped, %s: %d", k, kinds[k])
	}
	if len(m.Items) < 100 {
		t.Errorf("only %d runnable tests", len(m.Items))
	}
	again, err := FromAtomic(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, again) {
		t.Error("two conversions differ")
	}
}

func TestFromAtomicErrors(t *testing.T) {
	if _, err := FromAtomic(t.TempDir()); !errors.Is(err, ErrAtomic) {
		t.Errorf("empty folder: %v, want ErrAtomic", err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "T1000"), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "T1000", "T1000.yaml")
	for _, body := range []string{
		"attack_technique: T1000\natomic_tests:\n- name: [unclosed\n", // YAML syntax
		"attack_technique: not-an-id\natomic_tests: []\n",             // technique id
	} {
		if err := os.WriteFile(bad, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := FromAtomic(dir)
		if !errors.Is(err, ErrAtomic) || !strings.Contains(err.Error(), "T1000.yaml") {
			t.Errorf("%q: %v, want ErrAtomic naming the file", body, err)
		}
	}
	// A file with no Linux test gives an empty, error-free result.
	if err := os.WriteFile(bad, []byte("attack_technique: T1000\natomic_tests:\n- name: w\n  supported_platforms: [windows]\n  executor: {name: command_prompt, command: dir}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := FromAtomic(dir)
	if err != nil || len(m.Items)+len(m.Skipped) != 0 {
		t.Errorf("windows-only file: %v, %d items, %d skips", err, len(m.Items), len(m.Skipped))
	}
}

// rootfsPrograms lists the programs on the guest's PATH from the built
// image ($SCALEMALNET_IMAGE_DIR/rootfs.squashfs), or skips.
func rootfsPrograms(t *testing.T) map[string]bool {
	t.Helper()
	dir := os.Getenv("SCALEMALNET_IMAGE_DIR")
	if dir == "" {
		t.Skip("SCALEMALNET_IMAGE_DIR not set: the guest's root filesystem is not at hand (make image; or run through make test)")
	}
	img := filepath.Join(dir, "rootfs.squashfs")
	if _, err := os.Stat(img); err != nil {
		t.Skipf("no root filesystem in the image (%v)", err)
	}
	if _, err := exec.LookPath("unsquashfs"); err != nil {
		t.Skip("unsquashfs (squashfs-tools) not installed")
	}
	out, err := exec.Command("unsquashfs", "-l", "-d", "", img).Output()
	if err != nil {
		t.Fatalf("unsquashfs -l %s: %v", img, err)
	}
	re := regexp.MustCompile(`^/?(usr/)?s?bin/([^/]+)$`)
	progs := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if m := re.FindStringSubmatch(strings.TrimPrefix(l, "squashfs-root")); m != nil {
			progs[m[2]] = true
		}
	}
	if len(progs) < 100 {
		t.Fatalf("only %d programs found in %s", len(progs), img)
	}
	return progs
}

// TestGuestLacksMatchesRootFS checks the list of programs the guest lacks
// against the built root filesystem: none of them may be there (or a test
// would be skipped for nothing), and every program the runnable items check
// for with command -v / which must be there or in the list.
func TestGuestLacksMatchesRootFS(t *testing.T) {
	progs := rootfsPrograms(t)
	for p := range guestLacks {
		if progs[p] {
			t.Errorf("guestLacks has %s, but the root filesystem has it", p)
		}
	}
	m, err := FromAtomic(atomicDir(t))
	if err != nil {
		t.Fatal(err)
	}
	var unknown []string
	for _, it := range m.Items {
		for _, w := range commandWords(it.Script) {
			if !progs[w] && !shellBuiltins[w] {
				unknown = append(unknown, it.ID+":"+w)
			}
		}
	}
	// Words in command position the heuristic found that are neither
	// programs of the guest nor builtins: mostly Python or awk text, and
	// programs run only after a check for them. Logged for review.
	t.Logf("%d command words not in the root filesystem: %v", len(unknown), unknown)
}

var shellBuiltins = map[string]bool{}

func init() {
	for _, w := range strings.Fields("echo cd export set unset read test [ [[ true false exit return local alias unalias trap kill printf type hash command source . eval exec shift wait ulimit umask history declare typeset let break continue shopt pwd getopts readonly jobs bg fg disown builtin enable : case for function select") {
		shellBuiltins[w] = true
	}
}

func TestStopsGuest(t *testing.T) {
	for _, c := range []struct {
		cmd  string
		want bool
	}{
		{`echo "b" > /proc/sysrq-trigger`, true},
		{"echo 1> /proc/sys/kernel/sysrq\necho b> /proc/sysrq-trigger", true},
		{"echo h > /proc/sysrq-trigger", false}, // help: harmless
		{"sudo shutdown -r now", true},
		{"init 6", true},
		{"init 3", false},
		{"echo reboot later; ls", false}, // a word, not a command
		{"systemctl status", false},
	} {
		if got := stopsGuest(c.cmd); got != c.want {
			t.Errorf("stopsGuest(%q) = %v, want %v", c.cmd, got, c.want)
		}
	}
}
