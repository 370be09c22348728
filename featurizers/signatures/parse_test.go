package signatures

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

const goodRule = `rules:
  - id: good
    description: ok
    severity: 3
    techniques: [T1059]
    match:
      any:
        - calls: [openat]
          path: ["/etc/x"]
`

// Every malformed rule file is refused with its file and the line of the
// mistake.
func TestParseRefusesWithFileAndLine(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"yaml error", "rules:\n  - id: x\n    description: a: b\n", "bad.yaml:3: YAML"},
		{"unknown field", strings.Replace(goodRule, "    severity: 3\n", "    severity: 3\n    sevrity: 3\n", 1), `bad.yaml:5: unknown field "sevrity"`},
		{"unknown clause field", strings.Replace(goodRule, `path: ["/etc/x"]`, `paths: ["/etc/x"]`, 1), `bad.yaml:9: unknown field "paths"`},
		{"bad regex", strings.Replace(goodRule, `path: ["/etc/x"]`, `argv: '(unclosed'`, 1), "bad.yaml:9: argv: error parsing regexp"},
		{"unknown syscall", strings.Replace(goodRule, "[openat]", "[opne]", 1), `bad.yaml:8: unknown system call "opne"`},
		{"missing description", strings.Replace(goodRule, "    description: ok\n", "", 1), `bad.yaml:2: rule without "description"`},
		{"missing severity", strings.Replace(goodRule, "    severity: 3\n", "", 1), `bad.yaml:2: rule without "severity"`},
		{"missing techniques", strings.Replace(goodRule, "    techniques: [T1059]\n", "", 1), `bad.yaml:2: rule without "techniques"`},
		{"bad severity", strings.Replace(goodRule, "severity: 3", "severity: 9", 1), `bad.yaml:4: severity "9"`},
		{"bad technique", strings.Replace(goodRule, "[T1059]", "[T59]", 1), `bad.yaml:5: technique "T59"`},
		{"bad id", strings.Replace(goodRule, "id: good", "id: Good Rule", 1), `bad.yaml:2: id "Good Rule"`},
		{"bad glob", strings.Replace(goodRule, `"/etc/x"`, `"/etc/{x"`, 1), "bad.yaml:9: path: glob"},
		{"unknown flag", strings.Replace(goodRule, `path: ["/etc/x"]`, `flags: [O_WRITE]`, 1), `bad.yaml:9: unknown open flag "O_WRITE"`},
		{"empty condition", strings.Replace(goodRule, "        - calls: [openat]\n          path: [\"/etc/x\"]\n", "        - result: any\n", 1), "bad.yaml:8: a condition needs"},
		{"alias", goodRule + "x: &a 1\n", "bad.yaml:10: YAML anchors"},
		{"no rules", "other: 1\n", `bad.yaml:1: unknown field "other"`},
		{"empty file", "", "bad.yaml:1: empty file"},
		{"duplicate id", goodRule + strings.TrimPrefix(goodRule, "rules:\n"), `bad.yaml:10: rule id "good" already defined at line 2`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(c.src))
			if err == nil {
				t.Fatalf("accepted:\n%s", c.src)
			}
			if !errors.Is(err, ErrRule) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want ErrRule containing %q", err, c.want)
			}
		})
	}
	if _, err := Parse("good.yaml", []byte(goodRule)); err != nil {
		t.Fatalf("good rule refused: %v", err)
	}
}

// A directory with one bad file among good ones is refused whole, naming
// the file; duplicate ids across files are refused too.
func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(goodRule), 0o600)
	set, err := Load(os.DirFS(dir))
	if err != nil || len(set.Rules) != 1 {
		t.Fatalf("load: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(goodRule), 0o600)
	if _, err := Load(os.DirFS(dir)); err == nil || !strings.Contains(err.Error(), `b.yaml:2: rule id "good" already defined at a.yaml:2`) {
		t.Fatalf("duplicate across files: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("rules: [1"), 0o600)
	if _, err := Load(os.DirFS(dir)); err == nil || !strings.Contains(err.Error(), "b.yaml:") {
		t.Fatalf("bad file: %v", err)
	}
	if _, err := Load(fstest.MapFS{}); err == nil {
		t.Fatal("empty directory accepted")
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		glob, path string
		want       bool
	}{
		{"/etc/*", "/etc/passwd", true},
		{"/etc/*", "/etc/a/b", false},
		{"/etc/**", "/etc/a/b", true},
		{"**/.ssh/authorized_keys*", "/root/.ssh/authorized_keys2", true},
		{"**/x", "x", true},
		{"~/.bashrc", "/home/u/.bashrc", true},
		{"~/.bashrc", "/root/.bashrc", true},
		{"~/.bashrc", "/home/u/v/.bashrc", false},
		{"/proc/[0-9]*/mem", "/proc/12/mem", true},
		{"/proc/[0-9]*/mem", "/proc/self/mem", false},
		{"/proc/[!s]*/mem", "/proc/self/mem", false},
		{"{/tmp,/dev/shm}/*.sh", "/dev/shm/a.sh", true},
		{"/a.b", "/aXb", false},
	}
	cases = append(cases, []struct {
		glob, path string
		want       bool
	}{
		{"**/sh", "sh", true}, {"**/sh", "/bin/sh", true}, {"**/sh", "/bin/bash", false},
		{"{/etc,/lib}/systemd/**.service", "/lib/systemd/system/a.service", true},
		{"~/.ssh/id_*", "/root/.ssh/id_rsa", true}, {"/var/log/**", "/var/log", false},
	}...)
	for _, c := range cases {
		p, err := compileGlob(c.glob)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.match(c.path); got != c.want {
			t.Errorf("glob %q on %q: %v, want %v (%s, prefix %q, suffix %q)", c.glob, c.path, got, c.want, p.re, p.prefix, p.suffix)
		}
	}
}

func BenchmarkLoadShipped(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := Load(Rules()); err != nil {
			b.Fatal(err)
		}
	}
}
