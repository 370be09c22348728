package analysis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// FusionConfig selects the fusion model and the stage-1 operating point.
type FusionConfig struct {
	// Model is a fusion model file written by `scalemalnet train fusion`;
	// default <ModelDir>/fusion.json when it exists. "none" disables the
	// verdict. The method (soft-vote, stacking, ...) is the model's.
	Model string
	// Rule overrides the model's threshold rule: "fpr" (with TargetFPR),
	// "f1", "youden" or "fixed" (with Threshold). Empty keeps the
	// threshold chosen at training. The threshold is re-selected on the
	// validation scores kept in the model file.
	Rule      string
	TargetFPR float64
	Threshold float64
	// UnfittedWeight counts the votes of classifiers the fusion model was
	// not fitted on (a plugin installed after `train fusion`) with this
	// prior weight, uncalibrated, marked "counted with a prior weight, not
	// fitted" in the verdict (fusion.Prior); 0 (the default) lists them
	// as ignored. Refit with `scalemalnet plugins oof` and `train fusion`
	// to replace the prior with a fitted weight.
	UnfittedWeight float64
	// Decisive is the severity at and above which one matched signature
	// makes the verdict malware whatever the fused probability
	// (verdict.Decide): "critical" (also ""), "high", "medium" or "off"
	// (verdict.ParseDecisive).
	Decisive string
}

// Fuser is the loaded fusion model with its operating point applied.
type Fuser struct {
	model  *fusion.Model
	path   string
	sha256 string
	rule   string // the threshold rule in words
	// decisive: the lowest severity of a signature that decides the
	// verdict alone; 0 none (FusionConfig.Decisive).
	decisive int
}

// LoadFusion loads the fusion model named by fc (default: modelDir's
// fusion.json). It returns nil and a
// reason (for reports) when none is configured or the default file does not
// exist; a model named explicitly that cannot be loaded is an error, so a
// misconfigured deployment does not start without verdicts.
func LoadFusion(fc FusionConfig, modelDir string, log *slog.Logger) (*Fuser, string, error) {
	path, explicit := fc.Model, fc.Model != ""
	switch {
	case path == "none":
		return nil, "fusion disabled in the configuration", nil
	case path == "":
		dir := modelDir
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
		log.Error("fusion model not usable; reports will have no verdict", "file", path, "err", err)
		return nil, fmt.Sprintf("fusion model %s not usable: %v", path, err), nil
	}
	return f, "", nil
}

func openFusion(path string, fc FusionConfig) (*Fuser, error) {
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
	decisive, ok := verdict.ParseDecisive(fc.Decisive)
	if !ok {
		return nil, fmt.Errorf("%w: decisive %q: want critical, high, medium or off", ErrFusionConfig, fc.Decisive)
	}
	sum, err := host.FileSHA256(abs)
	if err != nil {
		return nil, err
	}
	return &Fuser{model: m, path: abs, sha256: sum, rule: thresholdRule(m.Threshold), decisive: decisive}, nil
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

// Describe names the model for the start-up log: file, method, threshold
// and the rule that chose it.
func (f *Fuser) Describe() []any {
	return []any{"file", f.path, "method", f.model.Method, "threshold", f.model.Threshold.Value, "rule", f.rule}
}

// fuse is the fuse step: it never fails the job; a verdict that cannot be
// reached says why.
func (r *jobRun) fuse(ctx context.Context) error {
	f := r.a.Fusion
	if f == nil {
		return nil
	}
	start := time.Now()
	fv, err := f.model.Predict(r.votes) // a report vote is a fusion vote (plugins/vote)
	v := verdict.FromFusion(fv, verdict.Model{Path: f.path, SHA256: f.sha256, Rule: f.rule})
	if err != nil {
		v.Label, v.Error = report.VerdictUnknown, err.Error()
		if !errors.Is(err, fusion.ErrNoVotes) {
			r.a.Log.Warn("fusion failed", "job", r.job.ID, "err", err)
		}
	}
	verdict.Decide(v, r.signatures, f.decisive)
	v.Duration = time.Since(start)
	r.verdict = v
	return nil
}
