package analysis

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
	"github.com/scalemalnet/scalemalnet/classifiers/fusion/fusiontest"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

// fusionFixture fits a soft-vote model on two detection classifiers ("good"
// separates the classes, "weak" barely) and one family classifier, and
// writes it to a file.
func fusionFixture(t *testing.T) string {
	t.Helper()
	return fusiontest.ModelFile(t, "good", []string{"weak"}, "kind")
}

func detVote(name string, p float64) report.Vote {
	return report.Vote{Classifier: name, Stage: "detection", Label: "malware",
		Scores: []report.ClassScore{{Class: "benign", Score: 1 - p}, {Class: "malware", Score: p}}}
}

func TestFuseStep(t *testing.T) {
	path := fusionFixture(t)
	log := slog.New(slog.DiscardHandler)
	f, why, err := LoadFusion(FusionConfig{Model: path}, "", log)
	if err != nil || f == nil {
		t.Fatalf("load: %v %q", err, why)
	}
	d := New(Config{Fusion: f, Log: log})
	run := func(votes ...report.Vote) *report.Verdict {
		r := &jobRun{a: d, job: jobs.Job{ID: "j"}, votes: votes}
		if err := r.fuse(context.Background()); err != nil {
			t.Fatal(err)
		}
		return r.verdict
	}

	// Both detection votes high plus a family vote: malware, family SSH,
	// two contributions, nothing missing.
	v := run(detVote("good", 0.85), detVote("weak", 0.65),
		report.Vote{Classifier: "kind", Stage: "family", Scores: []report.ClassScore{{Class: "normal", Score: 0.1}, {Class: "SSH", Score: 0.7}, {Class: "FTP", Score: 0.2}}})
	if v.Label != report.VerdictMalware || v.Family != "SSH" || len(v.Contributions) != 2 || len(v.Missing) != 0 {
		t.Fatalf("verdict %+v", v)
	}
	if v.Probability < v.Threshold || v.Model != path || len(v.ModelSHA256) != 64 || !strings.Contains(v.ThresholdRule, "validation FPR") {
		t.Errorf("verdict fields %+v", v)
	}

	// The good classifier's plugin failed: the verdict comes from the
	// other, renormalised, and the report says which vote was missing.
	failed := report.Vote{Classifier: "good", Stage: "detection", Error: "plugin crashed: EOF"}
	v = run(failed, detVote("weak", 0.2))
	if v.Label != report.VerdictBenign || len(v.Contributions) != 1 || v.Contributions[0].Classifier != "weak" ||
		v.Contributions[0].Weight != 1 {
		t.Fatalf("verdict with a failed vote %+v", v)
	}
	var sawFailed bool
	for _, m := range v.Missing {
		sawFailed = sawFailed || m.Classifier == "good" && m.Status == fusion.StatusFailed && strings.Contains(m.Reason, "crashed")
	}
	if !sawFailed {
		t.Errorf("failed vote not listed as missing: %+v", v.Missing)
	}

	// No usable detection vote: unknown, with the reason; an unknown
	// classifier's vote is ignored.
	v = run(report.Vote{Classifier: "good", Stage: "detection", Abstained: true, Reason: "not a PE"}, detVote("stranger", 0.9))
	if v.Label != report.VerdictUnknown || !strings.Contains(v.Error, "no usable detection vote") || len(v.Ignored) != 1 {
		t.Fatalf("verdict without votes %+v", v)
	}
}

func TestFusionOperatingPoint(t *testing.T) {
	path := fusionFixture(t)
	log := slog.New(slog.DiscardHandler)
	base, _, err := LoadFusion(FusionConfig{Model: path}, "", log)
	if err != nil {
		t.Fatal(err)
	}
	strict, _, err := LoadFusion(FusionConfig{Model: path, Rule: "fpr", TargetFPR: 0}, "", log)
	if err != nil {
		t.Fatal(err)
	}
	// FPR 0 on validation needs a threshold at least as high as max-F1's.
	if strict.model.Threshold.Value < base.model.Threshold.Value || strict.model.Threshold.FPR != 0 {
		t.Errorf("fpr<=0 threshold %+v vs default %+v", strict.model.Threshold, base.model.Threshold)
	}
	fixed, _, err := LoadFusion(FusionConfig{Model: path, Rule: "fixed", Threshold: 0.9}, "", log)
	if err != nil || fixed.model.Threshold.Value != 0.9 || fixed.rule != "fixed by the operator" {
		t.Fatalf("fixed: %v %+v", err, fixed)
	}
	// A bad rule in the configuration stops the start, clearly.
	if _, _, err := LoadFusion(FusionConfig{Model: path, Rule: "fpr", TargetFPR: 2}, "", log); !errors.Is(err, ErrFusionConfig) {
		t.Errorf("bad target: %v", err)
	}
}

func TestLoadFusionDefaults(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	// No file in the model directory: no verdict, and the report will say why.
	f, why, err := LoadFusion(FusionConfig{}, dir, log)
	if err != nil || f != nil || !strings.Contains(why, "make models") {
		t.Fatalf("default without file: %v %v %q", f, err, why)
	}
	// A broken default file: logged, no verdict, the daemon still starts.
	os.WriteFile(filepath.Join(dir, FusionModelFile), []byte("{garbage"), 0o644)
	f, why, err = LoadFusion(FusionConfig{}, dir, log)
	if err != nil || f != nil || !strings.Contains(why, "not usable") {
		t.Fatalf("broken default: %v %v %q", f, err, why)
	}
	// The same file named explicitly: an error.
	if _, _, err := LoadFusion(FusionConfig{Model: filepath.Join(dir, FusionModelFile)}, "", log); !errors.Is(err, ErrFusionConfig) {
		t.Fatalf("explicit broken: %v", err)
	}
	if f, why, err := LoadFusion(FusionConfig{Model: "none"}, "", log); f != nil || err != nil || why == "" {
		t.Fatalf("none: %v %v %q", f, err, why)
	}
}

// TestFuseStepUnfittedWeight: with fusion.unfitted_weight, a vote from a
// classifier the model was not fitted on (a new plugin) is counted with
// the prior weight, marked in the verdict and its rendering, and moves
// the verdict; without it the vote is ignored.
func TestFuseStepUnfittedWeight(t *testing.T) {
	path := fusionFixture(t)
	log := slog.New(slog.DiscardHandler)
	verdictWith := func(weight float64) *report.Verdict {
		f, _, err := LoadFusion(FusionConfig{Model: path, UnfittedWeight: weight}, "", log)
		if err != nil {
			t.Fatal(err)
		}
		r := &jobRun{a: New(Config{Fusion: f, Log: log}), job: jobs.Job{ID: "j"},
			votes: []report.Vote{detVote("good", 0.3), detVote("weak", 0.4), detVote("my-classifier", 0.99)}}
		if err := r.fuse(context.Background()); err != nil {
			t.Fatal(err)
		}
		return r.verdict
	}
	off := verdictWith(0)
	if off.Label != report.VerdictBenign || len(off.Ignored) != 1 || len(off.Unfitted) != 0 {
		t.Fatalf("without a prior: %+v", off)
	}
	on := verdictWith(2)
	if on.Probability < off.Probability+0.3 || len(on.Ignored) != 0 || len(on.Unfitted) != 1 || on.Unfitted[0] != "my-classifier" {
		t.Fatalf("with prior weight 2: %+v (P %.3f, threshold %.3f)", on, on.Probability, on.Threshold)
	}
	var buf strings.Builder
	if err := report.Render(&buf, &report.Report{JobID: "j", Verdict: on}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "counted with a prior weight, not fitted") {
		t.Fatalf("rendered verdict does not say the vote was counted with a prior weight:\n%s", buf.String())
	}
	if _, _, err := LoadFusion(FusionConfig{Model: path, UnfittedWeight: -1}, "", log); !errors.Is(err, ErrFusionConfig) {
		t.Fatalf("negative weight: %v", err)
	}
}
