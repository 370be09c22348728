package corpus

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// TestDebianManifestInRootFS runs every item of debian.yaml inside the
// guest's root filesystem on this host (scripts/corpus-check.sh: read-only
// squashfs, tmpfs overlay, private mount, network and PID namespaces,
// chroot, time limit) and fails if more than a few exit non-zero. It needs
// root, the built image ($SCALEMALNET_IMAGE_DIR) and, as it takes minutes,
// SCALEMALNET_CORPUS_CHECK=1. Only benign items ever run here: Atomic Red Team's and
// the project's malicious ones are for disposable VMs only.
func TestDebianManifestInRootFS(t *testing.T) {
	if testing.Short() || os.Getenv("SCALEMALNET_CORPUS_CHECK") != "1" {
		t.Skip("set SCALEMALNET_CORPUS_CHECK=1 (and SCALEMALNET_IMAGE_DIR) to run the benign corpus in the root filesystem: it takes minutes")
	}
	dir := os.Getenv("SCALEMALNET_IMAGE_DIR")
	if dir == "" {
		t.Skip("SCALEMALNET_IMAGE_DIR not set: the guest's root filesystem is not at hand")
	}
	rootfs := filepath.Join(dir, "rootfs.squashfs")
	if _, err := os.Stat(rootfs); err != nil {
		t.Skipf("no root filesystem in the image: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (mount, unshare, chroot)")
	}
	m, err := Load(filepath.Join("manifests", "debian.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	scripts := t.TempDir()
	byFile := map[string]string{}
	for i, it := range m.Items {
		if it.Label != LabelBenign || it.Script == "" {
			t.Fatalf("%s: not a benign script: never run on the host", it.ID)
		}
		name := strconv.Itoa(i + 1000)
		byFile[name] = it.ID
		if err := os.WriteFile(filepath.Join(scripts, name), []byte(it.Script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	logs := t.TempDir()
	cmd := exec.CommandContext(t.Context(), filepath.Join("..", "..", "scripts", "corpus-check.sh"), rootfs, scripts, "20", logs)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("corpus-check.sh: %v\n%s", err, out)
	}
	ran, failed := 0, 0
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			continue
		}
		ran++
		if f[0] != "0" {
			failed++
			b, _ := os.ReadFile(filepath.Join(logs, f[2]+".log"))
			t.Logf("%s: exit %s after %ss:\n%s", byFile[f[2]], f[0], f[1], tail(string(b), 600))
		}
	}
	t.Logf("%d items run in the root filesystem, %d exited non-zero", ran, failed)
	if ran != len(m.Items) {
		t.Errorf("%d of %d items ran", ran, len(m.Items))
	}
	if failed > len(m.Items)/50 {
		t.Errorf("%d items failed (more than 2%%)", failed)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
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
