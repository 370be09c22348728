package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
)

// adfaLike writes a small ADFA-LD-format folder: normal traces of 20-160
// calls and attack traces of 80-300 calls over the same five calls, so the
// classes differ in length only, and overlap (what the scaffolded
// classifier's placeholder reads; the built-in n-gram model reads it less
// directly, through log counts of 30 n-grams learnt from 30 examples).
func adfaLike(t *testing.T, n int) string {
	dir := t.TempDir()
	tsv := "i386_nr\ti386_name\tcount\tx86_64_name\tx86_64_nr\tnote\n" +
		"3\tread\t0\tread\t0\t\n4\twrite\t0\twrite\t1\t\n6\tclose\t0\tclose\t3\t\n20\tgetpid\t0\tgetpid\t39\t\n45\tbrk\t0\tbrk\t12\t\n"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "syscall_numbers_i386_to_x86_64.tsv"), []byte(tsv), 0o644))
	for _, d := range []string{"Training_Data_Master", "Validation_Data_Master", "Attack_Data_Master/Adduser_1"} {
		must(os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	rng := rand.New(rand.NewPCG(17, 4))
	nrs := []string{"3", "4", "6", "20", "45"}
	trace := func(length int) string {
		var b strings.Builder
		for i := 0; i < length; i++ {
			b.WriteString(nrs[rng.IntN(len(nrs))] + " ")
		}
		return b.String() + "\n"
	}
	for i := 0; i < n; i++ {
		must(os.WriteFile(filepath.Join(dir, "Training_Data_Master", fmt.Sprintf("UTD-%04d.txt", i)), []byte(trace(20+rng.IntN(141))), 0o644))
		must(os.WriteFile(filepath.Join(dir, "Attack_Data_Master/Adduser_1", fmt.Sprintf("UAD-Adduser-1-%04d.txt", i)), []byte(trace(80+rng.IntN(221))), 0o644))
	}
	return dir
}

// TestPluginAuthorWalkthrough follows docs/plugins.md from scaffold to "my
// vote moves the verdict" with the real binary and a real plugin process:
// scaffold a classifier, test and build it, register it, run it over a
// labelled dataset with `plugins oof`, fit the fusion model with and
// without its out-of-fold file, and check the refitted model weighs its
// vote (before: its vote was ignored).
func TestPluginAuthorWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and a plugin module")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := buildBinary(t)
	work := t.TempDir()
	data := filepath.Join(work, "data")
	run := func(dir string, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "SCALEMALNET_DATA_DIR="+data, "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// 1-4: scaffold, test, build.
	run(work, bin, "plugins", "new", "classifier", "my-classifier", "--sdk", root)
	pdir := filepath.Join(work, "my-classifier")
	run(pdir, "go", "mod", "tidy")
	run(pdir, "go", "test", "./...")
	run(pdir, "go", "build", "-o", "my-classifier", ".")
	// 5: register.
	if out := run(pdir, bin, "plugins", "register", "./my-classifier"); !strings.Contains(out, "registered my-classifier") {
		t.Fatalf("register: %s", out)
	}
	// 7: a built-in model's out-of-fold predictions and the plugin's, on the same data.
	adfa := adfaLike(t, 20)
	run(work, bin, "train", "--model", "naive-bayes", "--data", adfa, "--folds", "4", "--out", "nb.smnmodel", "--oof", "nb.oof.jsonl")
	out := run(work, bin, "plugins", "oof", "--plugin", "my-classifier", "--data", adfa, "--out", "my.oof.jsonl")
	if !strings.Contains(out, "wrote my.oof.jsonl: 40 detection votes of my-classifier") {
		t.Fatalf("plugins oof: %s", out)
	}
	if n := countLines(t, filepath.Join(work, "nb.oof.jsonl")); n != 40 {
		t.Fatalf("train --oof wrote %d lines, want 40", n)
	}
	// 8: fusion without and with the plugin.
	run(work, bin, "train", "fusion", "--oof", "nb.oof.jsonl", "--out", "before.json")
	out = run(work, bin, "train", "fusion", "--oof", "nb.oof.jsonl", "--oof", "my.oof.jsonl", "--out", "after.json")
	t.Logf("train fusion:\n%s", out)
	before, after := loadModel(t, filepath.Join(work, "before.json")), loadModel(t, filepath.Join(work, "after.json"))
	var nb string
	for _, d := range after.Detectors {
		if d.Name != "my-classifier" {
			nb = d.Name
		}
	}
	if len(after.Detectors) != 2 || nb == "" || after.NRecords != 40 {
		t.Fatalf("refitted model: %d detectors %+v, %d records (the files did not join)", len(after.Detectors), after.Detectors, after.NRecords)
	}
	votes := []fusion.Vote{
		{Classifier: nb, Stage: "detection", Scores: []fusion.ClassScore{{Class: "normal", Score: 0.5}, {Class: "attack", Score: 0.5}}},
		{Classifier: "my-classifier", Stage: "detection", Scores: []fusion.ClassScore{{Class: "benign", Score: 0.2}, {Class: "malware", Score: 0.8}}},
	}
	vb, err := before.Predict(votes)
	if err != nil {
		t.Fatal(err)
	}
	va, err := after.Predict(votes)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(vb.Ignored, "my-classifier") {
		t.Fatalf("before: the plugin's vote should be ignored: %+v", vb)
	}
	var mine *fusion.Contribution
	for i := range va.Contributions {
		if va.Contributions[i].Classifier == "my-classifier" {
			mine = &va.Contributions[i]
		}
	}
	if mine == nil || mine.Weight <= 0.05 || mine.Delta <= 0.05 || len(va.Ignored) != 0 {
		t.Fatalf("after: the plugin's vote does not move the verdict: %+v", va)
	}
	t.Logf("verdict before: %s P=%.3f (plugin ignored); after: %s P=%.3f, my-classifier weight %.2f delta %+.3f",
		vb.Label, vb.Probability, va.Label, va.Probability, mine.Weight, mine.Delta)
}

func countLines(t *testing.T, path string) int {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); n++ {
	}
	return n
}

func loadModel(t *testing.T, path string) *fusion.Model {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := fusion.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
