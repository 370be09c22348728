package fusion

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// PriorNote is the note of a classifier counted with a prior weight.
const PriorNote = "counted with a prior weight, not fitted"

// Prior counts the votes of classifiers a model was not fitted on (an
// external classifier plugin installed after `train fusion`) instead of
// ignoring them, until the model is refitted with their out-of-fold
// predictions (`scalemalnet plugins oof`, then `train fusion`).
//
// Such a vote is used uncalibrated (the default calibration: its
// P(malicious) as it is) with a prior weight: for the soft-voting methods
// the weight sits beside the fitted weights (which sum to 1), so a prior
// of 0.25 next to a full set of fitted votes is 0.25/1.25 = 20% of the
// fused probability; for stacking it is the coefficient of the vote's
// log-odds (the fitted intercept and coefficients stay). A family
// classifier's vote gets the weight as its stage-2 weight (a fitted one
// has its validation accuracy, about 0.5-1). Verdicts list these
// classifiers in Verdict.Unfitted and mark their contributions Prior.
type Prior struct {
	// Weight applies to every unfitted classifier; 0 leaves them ignored.
	Weight float64 `json:"weight"`
	// Weights overrides Weight per classifier name (0 ignores that one).
	Weights map[string]float64 `json:"weights,omitempty"`
}

// weight is the prior weight of classifier name.
func (p *Prior) weight(name string) float64 {
	if p == nil {
		return 0
	}
	if w, ok := p.Weights[name]; ok {
		return w
	}
	return p.Weight
}

// Validate checks every weight is finite and in [0, 10].
func (p Prior) Validate() error {
	check := func(what string, w float64) error {
		if math.IsNaN(w) || w < 0 || w > 10 {
			return fmt.Errorf("%w: prior weight %s %v (want 0 to 10)", ErrOptions, what, w)
		}
		return nil
	}
	if err := check("", p.Weight); err != nil {
		return err
	}
	for n, w := range p.Weights {
		if err := check("of "+n, w); err != nil {
			return err
		}
	}
	return nil
}

// WithPrior returns a copy of m that counts unfitted classifiers' votes
// with p's prior weights. m is not changed.
func (m *Model) WithPrior(p Prior) (*Model, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	c := *m
	c.Prior = &p
	return &c, nil
}

// withUnfitted returns the model extended by the unfitted classifiers of
// pv that have a prior weight (m itself when there are none) and their
// names.
func (m *Model) withUnfitted(pv parsedVotes, known map[string]bool) (*Model, []string) {
	if m.Prior == nil {
		return m, nil
	}
	var dets []Detector
	var fams []FamilyVoter
	var names []string
	for name := range pv.det {
		if w := m.Prior.weight(name); !known[name] && w > 0 {
			d := Detector{Name: name, Calibrator: Calibrator{Kind: CalibrationNone}, Weight: w, Note: PriorNote}
			if m.Method == MethodStacking {
				d.Coef = w
			}
			dets = append(dets, d)
			names = append(names, name)
		}
	}
	for name := range pv.fam {
		if w := m.Prior.weight(name); !known[name] && w > 0 {
			fams = append(fams, FamilyVoter{Name: name, Weight: w})
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return m, nil
	}
	c := *m
	c.Detectors = append(slices.Clone(m.Detectors), dets...)
	sort.Slice(c.Detectors, func(i, j int) bool { return c.Detectors[i].Name < c.Detectors[j].Name })
	c.Families = append(slices.Clone(m.Families), fams...)
	sort.Slice(c.Families, func(i, j int) bool { return c.Families[i].Name < c.Families[j].Name })
	sort.Strings(names)
	return &c, names
}
