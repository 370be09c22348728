package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/featurizers/datasets"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
)

// buildBinary builds this command: the features command re-executes it to
// serve the built-in featurizers, so the test must run the real binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "scalemalnet")
	if out, err := runGoBuild(bin); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runGoBuild(bin string) ([]byte, error) {
	return exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
}

func runJSON(t *testing.T, bin string, args ...string) []features.Set {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"features", "--json"}, args...)...)
	cmd.Env = append(os.Environ(), "SCALEMALNET_DATA_DIR="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scalemalnet features %v: %v", args, err)
	}
	var sets []features.Set
	if err := json.Unmarshal(out, &sets); err != nil {
		t.Fatalf("output is not JSON feature sets: %v\n%s", err, out)
	}
	return sets
}

func TestFeaturesCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)

	sets := runJSON(t, bin, "--featurizer", "elf-header", "/bin/true")
	if len(sets) != 1 || sets[0].Name != "elf-header" || len(sets[0].Vector) != len(sets[0].Schema) || len(sets[0].Vector) == 0 {
		t.Fatalf("elf-header: %+v", sets)
	}

	out, err := exec.Command(bin, "features", "--featurizer", "pe-header", "/bin/true").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "does not apply") {
		t.Fatalf("pe-header on ELF: %v %s", err, out)
	}

	// An imported ADFA-LD trace goes through the same callseq featurizer as
	// the agent's own traces.
	dir, err := datasets.Dir()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("datasets not found: %v", err)
	}
	adfa := filepath.Join(dir, "adfa-ld", "Attack_Data_Master", "Adduser_1", "UAD-Adduser-1-1371.txt")
	sets = runJSON(t, bin, "--featurizer", "callseq", "--trace", adfa, "--trace-format", "adfa")
	var seq, ng *features.Set
	for i := range sets {
		switch sets[i].Name {
		case "callseq":
			seq = &sets[i]
		case "callseq-ngram":
			ng = &sets[i]
		}
	}
	if seq == nil || ng == nil || seq.Meta["calls"] != "279" {
		t.Fatalf("callseq on ADFA-LD: %+v", sets)
	}
	total := 0.0
	for _, v := range ng.Vector {
		total += v
	}
	if int(total)+mustAtoi(t, seq.Meta["unknown"]) != 279 {
		t.Fatalf("n-gram counts (%v) + unknown (%s) != 279 calls", total, seq.Meta["unknown"])
	}

	// A dynamic featurizer without --trace: the command says to give one
	// (it used to ask whether the plugin declares the dynamic input).
	out, err = exec.Command(bin, "features", "--featurizer", "callseq", "/bin/true").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "give one with --trace") || strings.Contains(string(out), "does the plugin declare") {
		t.Fatalf("callseq without --trace: %v %s", err, out)
	}
	if out, err := exec.Command(bin, "features", "--featurizer", "nope", "/bin/true").CombinedOutput(); err == nil {
		t.Fatalf("unknown featurizer accepted: %s", out)
	}
	if out, err := exec.Command(bin, "features", "--featurizer", "callseq", "--trace", "/bin/true").CombinedOutput(); err == nil {
		t.Fatalf("garbage trace accepted: %s", out)
	}
}

func mustAtoi(t *testing.T, s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}
