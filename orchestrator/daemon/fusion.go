package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/verdict"
	"github.com/scalemalnet/scalemalnet/plugins/host"
)

// FusionModelFile is the fusion model's name in the model directory
// (written by `make models`).
const FusionModelFile = "fusion.json"

// ErrFusionConfig is wrapped when the configured fusion model cannot be used.
var ErrFusionConfig = errors.New("fusion config")

// fuser is the loaded fusion model with its operating point applied.
type fuser struct {
	model  *fusion.Model
	path   string
	sha256 string
	rule   string // the threshold rule in words
}

// loadFusion loads the fusion model named by cfg. It returns nil and a
// reason (for reports) when none is configured or the default file does not
// exist; a model named explicitly that cannot be loaded is an error, so a
// misconfigured deployment does not start without verdicts.
func loadFusion(cfg Config) (*fuser, string, error) {
	fc := cfg.Fusion
	path, explicit := fc.Model, fc.Model != ""
	switch {
	case path == "none":
		return nil, "fusion disabled in the configuration", nil
	case path == "":
		dir := cfg.ModelDir
		if dir == "" {
			dir = filepath.Join("build", "models")
		}
		path = filepath.Join(dir, FusionModelFile)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Sprintf("no fusion model (%s does not exist; `make models` trains one)", path), nil
		}
	}
	f, err := openFusion(path, fc)
	if err != nil {
		if explicit {
			return nil, "", err
		}
		cfg.Logger.Error("fusion model not usable; reports will have no verdict", "file", path, "err", err)
		return nil, fmt.Sprintf("fusion model %s not usable: %v", path, err), nil
	}
	return f, "", nil
}

func openFusion(path string, fc FusionConfig) (*fuser, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	file, err := os.Open(abs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFusionConfig, err)
	}
	defer file.Close()
	m, err := fusion.Load(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrFusionConfig, abs, err)
	}
	if fc.Rule != "" {
		m, err = m.WithThreshold(fusion.ThresholdOptions{Rule: fc.Rule, TargetFPR: fc.TargetFPR, Fixed: fc.Threshold})
		if err != nil {
			return nil, fmt.Errorf("%w: operating point: %w", ErrFusionConfig, err)
		}
	}
	if fc.UnfittedWeight != 0 {
		if m, err = m.WithPrior(fusion.Prior{Weight: fc.UnfittedWeight}); err != nil {
			return nil, fmt.Errorf("%w: unfitted_weight: %w", ErrFusionConfig, err)
		}
	}
	sum, err := host.FileSHA256(abs)
	if err != nil {
		return nil, err
	}
	return &fuser{model: m, path: abs, sha256: sum, rule: thresholdRule(m.Threshold)}, nil
}

// thresholdRule says how the threshold was chosen, with its validation
// figures.
func thresholdRule(t fusion.Threshold) string {
	var rule string
	switch t.Rule {
	case fusion.RuleFPR:
		rule = fmt.Sprintf("chosen for validation FPR <= %.3g", t.TargetFPR)
	case fusion.RuleF1:
		rule = "chosen for the best validation F1"
	case fusion.RuleYouden:
		rule = "chosen for the best validation TPR-FPR"
	case fusion.RuleFixed:
		return "fixed by the operator"
	default:
		rule = "rule " + t.Rule
	}
	return fmt.Sprintf("%s: validation FPR %.3f, TPR %.3f", rule, t.FPR, t.TPR)
}

// fuse is the fuse step: it never fails the job; a verdict that cannot be
// reached says why.
func (r *jobRun) fuse(ctx context.Context) error {
	f := r.d.fusion
	if f == nil {
		return nil
	}
	start := time.Now()
	fv, err := f.model.Predict(verdict.FusionVotes(r.votes))
	v := verdict.FromFusion(fv, verdict.Model{Path: f.path, SHA256: f.sha256, Rule: f.rule})
	if err != nil {
		v.Label, v.Error = report.VerdictUnknown, err.Error()
		if !errors.Is(err, fusion.ErrNoVotes) {
			r.d.log.Warn("fusion failed", "job", r.job.ID, "err", err)
		}
	}
	min, _ := verdict.ParseDecisive(r.d.cfg.Fusion.Decisive) // checked at start
	verdict.Decide(v, r.signatures, min)
	v.Duration = time.Since(start)
	r.verdict = v
	return nil
}
