package corpus

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkScriptOffline fails the test if a script reaches for another
// machine or for a program the guest lacks.
func checkScriptOffline(t *testing.T, it Item) {
	t.Helper()
	if r := needsFetch(it.Script); r != "" {
		t.Errorf("%s: %s", it.ID, r)
	}
	if r := needsRemote(it.Script); r != "" {
		t.Errorf("%s: %s", it.ID, r)
	}
	if prog, pkg := missingProgram(it.Script); prog != "" {
		t.Errorf("%s: runs %s, which the guest lacks (%s)", it.ID, prog, pkg)
	}
	if strings.Contains(it.Script, GuestAtomicsDir) {
		t.Errorf("%s: uses the atomics folder", it.ID)
	}
}

func TestDebianManifest(t *testing.T) {
	m, err := Load(filepath.Join("manifests", "debian.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Items) < 300 {
		t.Errorf("%d items, want at least 300", len(m.Items))
	}
	groups := map[string]int{}
	for _, it := range m.Items {
		groups[it.Group]++
		if it.Label != LabelBenign || it.Source != SourceDebian {
			t.Errorf("%s: label %q source %q", it.ID, it.Label, it.Source)
		}
		if !strings.HasPrefix(it.ID, "debian/"+it.Group+"/") {
			t.Errorf("%s: id not under debian/%s/", it.ID, it.Group)
		}
		if !strings.HasPrefix(it.Script, "#!/bin/sh\n") && !strings.HasPrefix(it.Script, "#!/bin/bash\n") {
			t.Errorf("%s: not a sh or bash script", it.ID)
		}
		if it.Name == "" || len(it.Techniques) != 0 || it.File != "" {
			t.Errorf("%s: name %q techniques %v file %q", it.ID, it.Name, it.Techniques, it.File)
		}
		checkScriptOffline(t, it)
	}
	if len(groups) < 20 {
		t.Errorf("%d groups, want at least 20", len(groups))
	}
	for g, n := range groups {
		if float64(n) > 0.16*float64(len(m.Items)) {
			t.Errorf("group %s has %d of %d items (over 16%%)", g, n, len(m.Items))
		}
	}
	t.Logf("%d benign items in %d groups", len(m.Items), len(groups))
}

func TestProjectManifest(t *testing.T) {
	m, err := Load(filepath.Join("manifests", "project.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ // the bundled attack imitations and their technique
		"samples:test-adduser":    "T1136.001",
		"samples:test-bruteforce": "T1110.001",
		"samples:test-revshell":   "T1059.004",
		"samples:test-miner":      "T1496",
	}
	malware, benign := 0, 0
	for _, it := range m.Items {
		if it.Source != SourceProject {
			t.Errorf("%s: source %q", it.ID, it.Source)
		}
		if it.Label == LabelMalware {
			malware++
			if len(it.Techniques) == 0 || it.Techniques[0] != it.Group {
				t.Errorf("%s: techniques %v do not start with the group %s", it.ID, it.Techniques, it.Group)
			}
		} else {
			benign++
		}
		if tech, ok := want[it.File]; ok {
			if it.Label != LabelMalware || it.Group != tech {
				t.Errorf("%s: label %q group %q, want malware %s", it.ID, it.Label, it.Group, tech)
			}
			delete(want, it.File)
		}
		if it.File != "" {
			// The program's source is in samples/ or samples/guest/.
			name := strings.TrimPrefix(it.File, "samples:")
			src := filepath.Join("..", "..", "samples", name)
			found := false
			for _, p := range []string{src, src + ".c"} {
				if _, err := os.Stat(p); err == nil {
					found = true
				}
			}
			if !strings.HasPrefix(it.File, "samples:") || !found {
				t.Errorf("%s: file %q has no source in samples/", it.ID, it.File)
			}
		}
		if it.Script != "" {
			checkScriptOffline(t, it)
		}
	}
	for f := range want {
		t.Errorf("no item for %s", f)
	}
	if malware < 15 || benign < 4 {
		t.Errorf("%d malicious and %d benign items", malware, benign)
	}
}

func TestBuiltinAndStandard(t *testing.T) {
	for _, name := range []string{BuiltinDebian, BuiltinProject} {
		m, err := Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		onDisk, err := Load(filepath.Join("manifests", name+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Items) != len(onDisk.Items) || m.Timeout != onDisk.Timeout {
			t.Errorf("built-in %s: %d items, file: %d", name, len(m.Items), len(onDisk.Items))
		}
	}
	if _, err := Builtin("nope"); !errors.Is(err, ErrManifest) {
		t.Errorf("unknown built-in: %v", err)
	}
	all, err := Standard(atomicDir(t))
	if err != nil {
		t.Fatal(err)
	}
	art, _ := FromAtomic(atomicDir(t))
	deb, _ := Builtin(BuiltinDebian)
	proj, _ := Builtin(BuiltinProject)
	if n := len(art.Items) + len(deb.Items) + len(proj.Items); len(all.Items) != n {
		t.Errorf("standard corpus: %d items, want %d", len(all.Items), n)
	}
	if len(all.Skipped) != len(art.Skipped) {
		t.Errorf("standard corpus: %d skips, want %d", len(all.Skipped), len(art.Skipped))
	}
	labels := map[string]int{}
	for i := range all.Items {
		it := &all.Items[i]
		labels[it.Label]++
		if all.ItemTimeout(it) <= 0 {
			t.Errorf("%s: no timeout", it.ID)
		}
	}
	// The project's miner keeps its own 15s; Debian items get their manifest's 10s.
	for _, it := range all.Items {
		if it.ID == "project/test-miner" && time.Duration(it.Timeout) != 15*time.Second {
			t.Errorf("%s: timeout %v", it.ID, time.Duration(it.Timeout))
		}
		if it.ID == "debian/coreutils/ls-etc" && time.Duration(it.Timeout) != 10*time.Second {
			t.Errorf("%s: timeout %v", it.ID, time.Duration(it.Timeout))
		}
	}
	t.Logf("standard corpus: %d malicious, %d benign items, %d tests skipped", labels[LabelMalware], labels[LabelBenign], len(all.Skipped))
}
