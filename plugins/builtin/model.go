package builtin

import (
	"context"
	"fmt"

	"github.com/scalemalnet/scalemalnet/classifiers/train"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/sdk"
)

// MaxUnknownShare is the share of a trace's calls a sequence model may never
// have seen before it abstains: past it the trace is not of the kind the
// model was trained on (a Windows API model given Linux system calls).
const MaxUnknownShare = 0.5

// MinKnownCalls is the fewest known calls a model of hooked calls (the
// Windows API models, train.HooksOnly) needs to vote: it leaves unknown
// calls out instead of abstaining on their share.
const MinKnownCalls = 3

// ModelClassifier serves a trained model file as a classifier plugin.
type ModelClassifier struct {
	sdk.NoConfig
	p *train.Predictor
}

// NewModelClassifier loads a model file.
func NewModelClassifier(path string) (*ModelClassifier, error) {
	p, err := train.Open(path)
	if err != nil {
		return nil, err
	}
	return &ModelClassifier{p: p}, nil
}

// ServeModel runs a model file as a plugin process (`scalemalnet plugin
// serve-model PATH`).
func ServeModel(path string) error {
	c, err := NewModelClassifier(path)
	if err != nil {
		return err
	}
	sdk.ServeClassifier(c)
	return nil
}

func (c *ModelClassifier) Info(context.Context) (plugins.Info, error) {
	h := c.p.Header
	return plugins.Info{
		Name: h.Name, Kind: plugins.KindClassifier, Version: "1+" + h.Weights[:12], APIVersions: []uint32{plugins.APIVersion},
		Inputs: []plugins.Input{plugins.Input(h.InputKind)}, Consumes: []string{h.FeatureSet},
		Stage: plugins.Stage(h.Stage), Classes: h.Classes,
		Description: fmt.Sprintf("%s model trained on %s (%d examples)", h.Model, h.Data.Source, h.Data.Examples),
	}, nil
}

func (c *ModelClassifier) Classify(_ context.Context, _ plugins.Sample, sets []*features.Set) (plugins.Vote, error) {
	h := c.p.Header
	var set *features.Set
	for _, s := range sets {
		if s.Name == h.FeatureSet {
			set = s
		}
	}
	if set == nil {
		return plugins.Vote{}, fmt.Errorf("%w: no %s feature set", plugins.ErrNotApplicable, h.FeatureSet)
	}
	cov, isSeq := c.p.Coverage(set)
	explain := ""
	if isSeq {
		explain = cov.String()
		switch {
		case cov.Calls == 0:
			return plugins.Vote{Abstained: true, Reason: fmt.Sprintf("no calls in its input %s (the run recorded none of this kind)", h.FeatureSet)}, nil
		case c.p.HooksOnly():
			// A recorder of hooked calls (Cuckoo's monitor) would not have
			// logged the unknown ones: they are left out, and only a trace
			// with none of the model's calls is outside its domain.
			if cov.Known < MinKnownCalls {
				return plugins.Vote{Abstained: true, Reason: fmt.Sprintf("%d of the %d calls are known to this model (trained on %s); it needs %d",
					cov.Known, cov.Calls, h.Data.Source, MinKnownCalls)}, nil
			}
			explain += "; the others left out, as Cuckoo's monitor would not have recorded them"
		case 1-cov.Share() > MaxUnknownShare:
			return plugins.Vote{Abstained: true, Reason: fmt.Sprintf("%.0f%% of the calls are unknown to this model (trained on %s)", 100*(1-cov.Share()), h.Data.Source)}, nil
		}
	}
	proba, err := c.p.PredictSet(set)
	if err != nil {
		return plugins.Vote{}, err
	}
	v, err := sdk.NewVote(h.Classes, proba, h.Model, "1+"+h.Weights[:12])
	if err == nil && explain != "" {
		v.Explanation = explain
	}
	return v, err
}
