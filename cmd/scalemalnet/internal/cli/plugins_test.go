package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/host"
)

func TestPluginsList(t *testing.T) {
	h := newHarness(t)
	code, out, _ := h.run("plugins", "list")
	if code != 0 || out != "no plugins\n" {
		t.Fatalf("empty list: %d %q", code, out)
	}
	h.fake.PluginsVal = []host.Status{
		{Name: "clamp-raw", Source: "builtin", State: host.StateRunning, PID: 42, Calls: 12, Failures: 1,
			Info:      plugins.Info{Name: "clamp-raw", Kind: plugins.KindFeaturizer, Version: "1.2.0", Inputs: []plugins.Input{plugins.InputStatic, plugins.InputImage}},
			LastError: "plugin missed its deadline:\nno answer within 60s"},
		{Name: "stray", Source: "/var/lib/scalemalnet/plugins/stray", State: host.StateRefused, LastError: "plugin binary not registered: " + strings.Repeat("x", 100)},
	}
	code, out, _ = h.run("plugins", "list")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != 3 {
		t.Fatalf("list: %d\n%s", code, out)
	}
	for _, want := range []string{"NAME", "KIND", "VERSION", "STATE", "SOURCE", "INPUTS", "CALLS/FAILED", "LAST ERROR"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("header %q lacks %q", lines[0], want)
		}
	}
	if f := strings.Fields(lines[1]); strings.Join(f[:7], " ") != "clamp-raw featurizer 1.2.0 running builtin static,image 12/1" ||
		!strings.HasSuffix(lines[1], "plugin missed its deadline: no answer within 60s") {
		t.Errorf("row %q", lines[1])
	}
	if f := strings.Fields(lines[2]); strings.Join(f[:7], " ") != "stray - - refused /var/lib/scalemalnet/plugins/stray - 0/0" ||
		!strings.HasSuffix(lines[2], "x…") || len([]rune(lines[2])) > 200 {
		t.Errorf("row %q", lines[2])
	}

	code, out, _ = h.run("plugins", "list", "--json")
	var got []host.Status
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || len(got) != 2 || got[0].PID != 42 || got[0].Info.Version != "1.2.0" {
		t.Fatalf("list --json: %d %s", code, out)
	}
	h.env[defaults.EnvToken] = "wrong"
	if code, _, e := h.run("plugins", "list"); code != ExitFailure || !strings.Contains(e, "hint: the token") {
		t.Fatalf("bad token: %d %s", code, e)
	}
}

func TestPluginsUsage(t *testing.T) {
	h := newHarness(t)
	if code, out, _ := h.run("help"); code != 0 || !strings.Contains(out, "plugins  list, register, reload or create plugins") {
		t.Fatalf("help: %s", out)
	}
	if code, _, e := h.run("help", "plugins"); code != 0 || !strings.Contains(e, "scalemalnet plugins new KIND NAME") {
		t.Fatalf("help plugins: %d %s", code, e)
	}
	if code, _, e := h.run("plugins"); code != ExitUsage || !strings.Contains(e, "plugins register PATH") {
		t.Fatalf("plugins: %d %s", code, e)
	}
	if code, _, e := h.run("plugins", "frob"); code != ExitUsage || !strings.Contains(e, `unknown subcommand "frob"`) {
		t.Fatalf("plugins frob: %d %s", code, e)
	}
	if code, _, e := h.run("plugins", "register", "-h"); code != 0 || !strings.Contains(e, "-config") {
		t.Fatalf("register -h: %d %s", code, e)
	}
	if code, _, e := h.run("plugins", "new", "classifier"); code != ExitUsage || !strings.Contains(e, "want 2 argument") {
		t.Fatalf("new with one arg: %d %s", code, e)
	}
}

func compact(b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return err.Error()
	}
	return buf.String()
}

func writeExec(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPluginsRegister(t *testing.T) {
	h := newHarness(t)
	data := t.TempDir()
	h.env[defaults.EnvDataDir] = data
	bin := writeExec(t, filepath.Join(t.TempDir(), "my-plugin"), "#!/bin/sh\necho v1\n")

	code, out, e := h.run("plugins", "register", bin, "--config", `{"bias": 2}`)
	dir := filepath.Join(data, host.DirName)
	if code != 0 || !strings.HasPrefix(out, "registered my-plugin: "+filepath.Join(dir, "my-plugin")+" (sha256 ") || !strings.Contains(e, "plugins reload") {
		t.Fatalf("register: %d %s %s", code, out, e)
	}
	m, err := host.ReadManifest(dir)
	if err != nil || len(m.Plugins) != 1 || m.Plugins[0].Path != "my-plugin" || compact(m.Plugins[0].Config) != `{"bias":2}` {
		t.Fatalf("manifest %+v %v", m, err)
	}
	sum1 := m.Plugins[0].SHA256
	if s, _ := host.FileSHA256(bin); s != sum1 {
		t.Fatalf("registered sum %s, binary %s", sum1, s)
	}

	// Re-registering a rebuilt binary updates the checksum and keeps the configuration.
	writeExec(t, bin, "#!/bin/sh\necho v2\n")
	if code, _, e := h.run("plugins", "register", bin); code != 0 {
		t.Fatalf("re-register: %s", e)
	}
	m, _ = host.ReadManifest(dir)
	if len(m.Plugins) != 1 || m.Plugins[0].SHA256 == sum1 || compact(m.Plugins[0].Config) != `{"bias":2}` {
		t.Fatalf("after re-register %+v", m)
	}

	// A binary already in --dir is registered in place under --name.
	other := t.TempDir()
	inPlace := writeExec(t, filepath.Join(other, "build-output"), "#!/bin/sh\n")
	if code, out, e := h.run("plugins", "register", inPlace, "--name", "other-plugin", "--dir", other); code != 0 || !strings.Contains(out, filepath.Join(other, "build-output")) {
		t.Fatalf("in place: %d %s %s", code, out, e)
	}
	if m, _ := host.ReadManifest(other); len(m.Plugins) != 1 || m.Plugins[0].Name != "other-plugin" || m.Plugins[0].Path != "build-output" {
		t.Fatalf("in-place manifest %+v", m)
	}

	if code, _, e := h.run("plugins", "register", inPlace, "--name", "Bad Name"); code != ExitUsage || !strings.Contains(e, "use --name") {
		t.Fatalf("bad name: %d %s", code, e)
	}
	if code, _, e := h.run("plugins", "register", bin, "--config", "{"); code != ExitUsage || !strings.Contains(e, "not valid JSON") {
		t.Fatalf("bad config: %d %s", code, e)
	}
	notExec := filepath.Join(t.TempDir(), "data")
	os.WriteFile(notExec, []byte("x"), 0o644)
	if code, _, e := h.run("plugins", "register", notExec); code != ExitFailure || !strings.Contains(e, "not an executable") {
		t.Fatalf("not executable: %d %s", code, e)
	}
}

func TestPluginsNew(t *testing.T) {
	h := newHarness(t)
	root, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "det")
	code, out, e := h.run("plugins", "new", "classifier", "my-detector", "--dir", dir, "--sdk", root, "--module", "example.org/det")
	if code != 0 || strings.Count(out, "\n") != 4 || !strings.Contains(e, "go build -o my-detector .") {
		t.Fatalf("new: %d %s %s", code, out, e)
	}
	gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	main, _ := os.ReadFile(filepath.Join(dir, "main.go"))
	if !strings.HasPrefix(string(gomod), "module example.org/det\n") || !strings.Contains(string(main), `name    = "my-detector"`) {
		t.Fatalf("go.mod:\n%s\nmain.go:\n%s", gomod, main)
	}
	if code, _, e := h.run("plugins", "new", "classifier", "my-detector", "--dir", dir, "--sdk", root); code != ExitFailure || !strings.Contains(e, "not empty") {
		t.Fatalf("into a non-empty dir: %d %s", code, e)
	}
	if code, _, e := h.run("plugins", "new", "detector", "x", "--sdk", root); code != ExitUsage || !strings.Contains(e, "unknown plugin kind") {
		t.Fatalf("bad kind: %d %s", code, e)
	}
	if code, _, e := h.run("plugins", "new", "featurizer", "-bad", "--sdk", root, "--dir", t.TempDir()); code != ExitUsage {
		t.Fatalf("bad name: %d %s", code, e)
	}
	if code, _, e := h.run("plugins", "new", "featurizer", "x", "--sdk", t.TempDir(), "--dir", t.TempDir()); code != ExitFailure || !strings.Contains(e, "no ScaleMalNet checkout") {
		t.Fatalf("bad sdk: %d %s", code, e)
	}
}

// TestPluginsReload: `plugins reload` says what changed; a plugin refused
// or failed after the reload makes it exit 1 with the reason; a broken
// plugins.json is an error; a pending re-registration shows in the list.
func TestPluginsReload(t *testing.T) {
	h := newHarness(t)
	h.fake.ReloadVal = host.ReloadReport{Added: []string{"my-featurizer"}, Replaced: []string{"my-classifier"}, Kept: []string{"callseq", "pe-header"}}
	code, out, e := h.run("plugins", "reload")
	if code != 0 || !strings.Contains(out, "added     my-featurizer") || !strings.Contains(out, "replaced  my-classifier") ||
		!strings.Contains(out, "kept      2 plugins unchanged") {
		t.Fatalf("reload: %d %q %q", code, out, e)
	}
	h.fake.ReloadVal.Problems = []string{"my-classifier: refused: checksum mismatch"}
	if code, out, _ := h.run("plugins", "reload"); code != ExitFailure || !strings.Contains(out, "problem   my-classifier: refused: checksum mismatch") {
		t.Fatalf("reload with a refused plugin: %d %q", code, out)
	}
	h.fake.ReloadErr = fmt.Errorf("%w: invalid plugin manifest: plugins.json: unexpected end of JSON input", api.ErrConflict)
	if code, _, e := h.run("plugins", "reload"); code != ExitFailure || !strings.Contains(e, "plugins.json") {
		t.Fatalf("reload of a broken manifest: %d %q", code, e)
	}
	h.fake.PluginsVal = []host.Status{{Name: "my-classifier", Source: "/p/my-classifier", State: host.StateRunning,
		Pending: "registered again with SHA-256 0123456789ab… (loaded: ba9876543210…); `scalemalnet plugins reload` loads it"},
		{Name: "late", Source: "/p/late", State: host.StateNotLoaded, LastError: "registered after the orchestrator loaded its plugins"}}
	code, out, _ = h.run("plugins", "list")
	if code != 0 || !strings.Contains(out, "pending: registered again") || !strings.Contains(out, "not-loaded") {
		t.Fatalf("list: %d\n%s", code, out)
	}
}
