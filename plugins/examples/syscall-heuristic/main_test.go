package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/sdk"
)

func ngrams(cols map[string]float64) *features.Set {
	s := &features.Set{Name: FeatureSet, Version: "test", Kind: features.KindVector}
	for k, v := range cols {
		s.Schema = append(s.Schema, k)
		s.Vector = append(s.Vector, v)
	}
	return s
}

func malwareScore(t *testing.T, v plugins.Vote) float64 {
	t.Helper()
	if len(v.Scores) != 2 || v.Scores[1].Class != "malware" {
		t.Fatalf("vote %+v", v)
	}
	return v.Scores[1].Score
}

func TestInfoAndSchema(t *testing.T) {
	h := sdk.NewClassifierHarness(t, newClassifier())
	if i := h.Info(); i.Name != Name || i.Stage != plugins.StageDetection || i.Consumes[0] != FeatureSet {
		t.Fatalf("info %+v", i)
	}
	if s, _ := newClassifier().ConfigSchema(t.Context()); !strings.Contains(s, `"additionalProperties": false`) {
		t.Fatalf("schema %s", s)
	}
}

func TestScores(t *testing.T) {
	h := sdk.NewClassifierHarness(t, newClassifier())
	s := plugins.Sample{Name: "x"}

	benign, err := h.Classify(s, []*features.Set{ngrams(map[string]float64{"openat": 12, "read": 40, "openat|read": 10, "write": 3})})
	if err != nil || benign.Label != "benign" || malwareScore(t, benign) > 0.1 {
		t.Fatalf("benign run: %+v %v", benign, err)
	}
	if !strings.Contains(benign.Explanation, "no suspicious calls") {
		t.Fatalf("explanation %q", benign.Explanation)
	}

	// connect 1 × 0.5 + execve after connect 1 × 3 + dup2 2 × 0.5 + dup2→execve 1 × 2 = 6.5; p = σ(3.5)
	shell, err := h.Classify(s, []*features.Set{ngrams(map[string]float64{"connect": 1, "execve": 1, "dup2": 2, "connect|execve": 1, "dup2 execve": 1})})
	if err != nil || shell.Label != "malware" {
		t.Fatalf("reverse shell: %+v %v", shell, err)
	}
	if p := malwareScore(t, shell); p < 0.96 || p > 0.98 {
		t.Fatalf("P(malware) = %v, want σ(3.5) ≈ 0.971", p)
	}
	if !strings.HasPrefix(shell.Explanation, `score 6.50: "connect execve" +3.00`) {
		t.Fatalf("explanation %q", shell.Explanation)
	}

	// Counts are capped: 1000 ptrace calls count as 3.
	capped, _ := h.Classify(s, []*features.Set{ngrams(map[string]float64{"ptrace": 1000})})
	if !strings.HasPrefix(capped.Explanation, "score 6.00") {
		t.Fatalf("capped: %q", capped.Explanation)
	}
}

func TestAbstains(t *testing.T) {
	h := sdk.NewClassifierHarness(t, newClassifier())
	v, err := h.Classify(plugins.Sample{}, []*features.Set{{Name: "other", Version: "1", Kind: features.KindVector}})
	if err != nil || !v.Abstained || !strings.Contains(v.Reason, "no callseq-ngram") {
		t.Fatalf("missing set: %+v %v", v, err)
	}
	v, err = h.Classify(plugins.Sample{}, []*features.Set{ngrams(map[string]float64{"ngram2#hash0": 1, "ngram2#hash1": 0})})
	if err != nil || !v.Abstained || !strings.Contains(v.Reason, "hashed") {
		t.Fatalf("hashed set: %+v %v", v, err)
	}
	_, err = h.Classify(plugins.Sample{}, []*features.Set{{Name: FeatureSet, Version: "1", Kind: features.KindSequence, Tokens: []int32{1}}})
	if !errors.Is(err, plugins.ErrPlugin) || !strings.Contains(err.Error(), "want a vector") {
		t.Fatalf("sequence set: %v", err)
	}
}

func TestConfigure(t *testing.T) {
	h := sdk.NewClassifierHarness(t, newClassifier())
	if err := h.Configure(`{"calls": {"openat": 1}, "sequences": {"connect|execve": 0}, "bias": 2}`); err != nil {
		t.Fatal(err)
	}
	v, err := h.Classify(plugins.Sample{}, []*features.Set{ngrams(map[string]float64{"openat": 2, "connect execve": 5})})
	if err != nil || !strings.HasPrefix(v.Explanation, `score 2.00: "openat" +2.00`) || v.Scores[1].Score != 0.5 {
		t.Fatalf("configured: %+v %v", v, err)
	}
	for _, bad := range []string{`{"weights": {}}`, `{"calls": {"x": -1}}`, `{"cap": -1}`, `[1]`} {
		if err := h.Configure(bad); err == nil || !errors.Is(err, plugins.ErrPlugin) {
			t.Errorf("Configure(%s) = %v, want a plugin error", bad, err)
		}
	}
}
