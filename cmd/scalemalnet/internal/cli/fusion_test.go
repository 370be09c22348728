package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	return code, out.String(), errb.String()
}

// oofFile writes an out-of-fold file of classifier name over n examples
// (half malicious, keys shared between calls): its P(malicious) is
// sigmoid(strength*(2y-1) + N(0,1)), so strength 0 is noise.
func oofFile(t *testing.T, dir, name string, n int, strength float64, seed uint64) string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	var lines []fusion.OOFLine
	for i := range n {
		y := i%2 == 1
		sign, label := -1.0, "benign"
		if y {
			sign, label = 1, "malware"
		}
		p := 1 / (1 + math.Exp(-(strength*sign + r.NormFloat64())))
		k := sha256.Sum256([]byte(fmt.Sprint("example", i)))
		lines = append(lines, fusion.OOFLine{Key: hex.EncodeToString(k[:]), Label: label, Fold: i % 5, Classifier: name,
			Stage: fusion.StageDetection, Scores: []fusion.ClassScore{{Class: "benign", Score: 1 - p}, {Class: "malware", Score: p}}})
	}
	var buf bytes.Buffer
	if err := fusion.WriteOOF(&buf, lines); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".oof.jsonl")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFusionCommands: train fusion and eval fusion on a good and a noise
// classifier. The fused detector does about as well as the good one alone
// (the noise gets little weight), and the model file loads and re-chooses
// its threshold.
func TestFusionCommands(t *testing.T) {
	dir := t.TempDir()
	good := oofFile(t, dir, "good", 600, 2, 1)
	noise := oofFile(t, dir, "noise", 600, 0, 2)
	out := filepath.Join(dir, "models", "fusion.json")
	code, stdout, stderr := runCLI("train", "fusion", "--oof", good, "--oof", noise, "--rule", "fpr", "--target-fpr", "0.05", "--out", out)
	if code != ExitOK {
		t.Fatalf("train fusion: %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "600 records with a detection vote (300 malicious)") || !strings.Contains(stderr, "600 joined another classifier (100.0%)") ||
		!strings.Contains(stdout, "soft-vote") || !strings.Contains(stdout, "fpr <= 0.05") {
		t.Errorf("train fusion output:\n%s\n%s", stdout, stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := fusion.Load(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if m.Method != fusion.MethodSoftVote || len(m.Detectors) != 2 || m.Detectors[0].Name != "good" ||
		m.Detectors[0].Weight < 0.85 || len(m.Validation) != 600 || m.Threshold.FPR > 0.05 {
		t.Errorf("model: method %s detectors %+v validation %d threshold %+v", m.Method, m.Detectors, len(m.Validation), m.Threshold)
	}
	if _, err := m.WithThreshold(fusion.ThresholdOptions{Rule: fusion.RuleYouden}); err != nil {
		t.Error(err)
	}

	code, stdout, stderr = runCLI("eval", "fusion", "--data", good, "--data", noise, "--folds", "4", "--seed", "3", "--json")
	if code != ExitOK {
		t.Fatalf("eval fusion: %d\n%s\n%s", code, stdout, stderr)
	}
	var res struct {
		Report fusion.EvalReport `json:"report"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	rep := res.Report
	g, nz := rep.Entry("good"), rep.Entry("noise")
	if rep.K != 4 || rep.N != 600 || g == nil || nz == nil || len(rep.Entries) != 2+len(fusion.Methods) {
		t.Fatalf("report: %+v", rep)
	}
	if g.AUC.Mean < 0.9 || nz.AUC.Mean > 0.6 {
		t.Errorf("single classifiers: good AUC %v, noise AUC %v", g.AUC, nz.AUC)
	}
	for _, method := range []string{fusion.MethodSoftVote, fusion.MethodStacking, fusion.MethodAUCVote} {
		e := rep.Entry(method)
		if e.Accuracy.Mean < g.Accuracy.Mean-0.02 || e.F1.Mean < g.F1.Mean-0.02 || e.AUC.Mean < g.AUC.Mean-0.01 {
			t.Errorf("%s: accuracy %v F1 %v AUC %v; good alone %v %v %v", method, e.Accuracy, e.F1, e.AUC, g.Accuracy, g.F1, g.AUC)
		}
	}
	// The text table lists every classifier and method.
	code, stdout, _ = runCLI("eval", "fusion", "--data", good, "--data", noise, "--methods", "soft-vote,mean", "--rule", "youden")
	if code != ExitOK || !strings.Contains(stdout, "good ") || !strings.Contains(stdout, "soft-vote") || strings.Contains(stdout, "stacking") ||
		!strings.Contains(stdout, "threshold rule youden") {
		t.Errorf("eval fusion table: %d\n%s", code, stdout)
	}
	code, stdout, _ = runCLI("eval", "fusion", "--data", good, "--data", noise, "--markdown")
	if code != ExitOK || !strings.HasPrefix(stdout, "| classifier / method |") || !strings.Contains(stdout, "| **fusion: stacking** |") {
		t.Errorf("eval fusion --markdown: %d\n%s", code, stdout)
	}
}

func TestFusionCommandsBadInput(t *testing.T) {
	dir := t.TempDir()
	good := oofFile(t, dir, "good", 40, 2, 1)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := strings.Repeat("ab", 32)
	line := func(label, c1, c2 string) string {
		return fmt.Sprintf(`{"key":%q,"label":%q,"fold":0,"classifier":"x","stage":"detection","scores":[{"class":%q,"score":0.3},{"class":%q,"score":0.7}]}`+"\n", key, label, c1, c2)
	}
	var oneClass strings.Builder
	for i := range 10 {
		k := sha256.Sum256([]byte{byte(i)})
		fmt.Fprintf(&oneClass, `{"key":%q,"label":"malware","fold":0,"classifier":"x","stage":"detection","scores":[{"class":"benign","score":0.3},{"class":"malware","score":0.7}]}`+"\n", hex.EncodeToString(k[:]))
	}
	cases := []struct {
		name, file, want string
	}{
		{"empty", write("empty.jsonl", ""), "no out-of-fold predictions"},
		{"malformed", write("bad.jsonl", line("benign", "benign", "malware")+"{\"key\": \n"), "bad.jsonl:2"},
		{"unknown class", write("cls.jsonl", line("benign", "benign", "spam")), "unknown detection class"},
		{"unknown label", write("lab.jsonl", line("goodware", "benign", "malware")), `label "goodware"`},
		{"bad key", write("key.jsonl", strings.Replace(line("benign", "benign", "malware"), key, "xyz", 1)), "not 64 hex digits"},
		{"duplicate", write("dup.jsonl", line("benign", "benign", "malware")+line("benign", "benign", "malware")), "seen twice"},
		{"one class", write("one.jsonl", oneClass.String()), "one class only"},
		{"missing file", filepath.Join(dir, "nope.jsonl"), "no such file"},
	}
	for _, c := range cases {
		for _, sub := range []string{"train", "eval"} {
			flagName := "--oof"
			if sub == "eval" {
				flagName = "--data"
			}
			code, _, stderr := runCLI(sub, "fusion", flagName, c.file, "--out", filepath.Join(dir, "f.json"))
			if sub == "eval" {
				code, _, stderr = runCLI(sub, "fusion", flagName, c.file)
			}
			if code != ExitFailure || !strings.Contains(stderr, c.want) {
				t.Errorf("%s fusion, %s: exit %d, stderr %q; want %q", sub, c.name, code, stderr, c.want)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "f.json")); err == nil {
		t.Error("a failed train fusion wrote a model")
	}
	for _, args := range [][]string{
		{"train", "fusion"},
		{"train", "fusion", "--oof", good, "--method", "boosting"},
		{"train", "fusion", "--oof", good, "--rule", "median"},
		{"train", "fusion", "--oof", good, "--calibration", "beta"},
		{"train", "fusion", "--oof", good, "--rule", "fpr", "--target-fpr", "2"},
		{"eval", "fusion"},
		{"eval", "fusion", "--data", good, "--methods", "soft-vote,boosting"},
		{"eval", "fusion", "--data", good, "--folds", "1"},
		{"train", "--model", "logreg", "--data", good, "--folds", "0", "--oof", "x.jsonl"},
	} {
		if code, _, stderr := runCLI(args...); code != ExitUsage {
			t.Errorf("%v: exit %d (%s), want usage", args, code, stderr)
		}
	}
}
