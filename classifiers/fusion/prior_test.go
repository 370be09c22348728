package fusion

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"
)

// TestPriorCountsUnfittedVote: a vote from a classifier the model was not
// fitted on is ignored without a prior; with one it is counted
// uncalibrated at the prior weight, marked as such, and moves the fused
// probability (soft voting and stacking); a family classifier likewise.
func TestPriorCountsUnfittedVote(t *testing.T) {
	recs := synth(400, 3, map[string]float64{"a": 2, "b": 1}, 0)
	for _, method := range []string{MethodSoftVote, MethodStacking} {
		m, err := Fit(recs, Options{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		votes := []Vote{detVote("a", 0.3, false), detVote("b", 0.4, false), detVote("plugin", 0.99, false)}
		base, err := m.Predict(votes)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(base.Ignored, []string{"plugin"}) || len(base.Unfitted) != 0 {
			t.Fatalf("%s without prior: ignored %v, unfitted %v", method, base.Ignored, base.Unfitted)
		}
		pm, err := m.WithPrior(Prior{Weight: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		v, err := pm.Predict(votes)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Ignored) != 0 || !slices.Equal(v.Unfitted, []string{"plugin"}) {
			t.Fatalf("%s with prior: ignored %v, unfitted %v", method, v.Ignored, v.Unfitted)
		}
		if !(v.Probability > base.Probability+0.01) {
			t.Fatalf("%s: a 0.99 vote at prior weight 0.5 did not raise P: %.3f -> %.3f", method, base.Probability, v.Probability)
		}
		var pc *Contribution
		for i := range v.Contributions {
			if v.Contributions[i].Classifier == "plugin" {
				pc = &v.Contributions[i]
			}
		}
		if pc == nil || !pc.Prior || pc.Calibrated != 0.99 || pc.Delta <= 0 {
			t.Fatalf("%s: plugin contribution %+v", method, pc)
		}
		for _, c := range v.Contributions {
			if c.Classifier != "plugin" && c.Prior {
				t.Fatalf("fitted classifier marked prior: %+v", c)
			}
		}
		if method == MethodSoftVote {
			// weight 0.5 beside fitted weights summing to 1: a third.
			if math.Abs(pc.Weight-0.5/1.5) > 1e-9 {
				t.Fatalf("renormalised prior weight %.4f, want 1/3", pc.Weight)
			}
		}
		// The model itself is unchanged and a per-classifier 0 ignores it.
		if again, _ := m.Predict(votes); again.Probability != base.Probability {
			t.Fatal("WithPrior changed the model")
		}
		off, _ := m.WithPrior(Prior{Weight: 0.5, Weights: map[string]float64{"plugin": 0}})
		if v, _ := off.Predict(votes); !slices.Equal(v.Ignored, []string{"plugin"}) {
			t.Fatalf("per-classifier 0: ignored %v", v.Ignored)
		}
	}
}

func TestPriorFamilyAndValidation(t *testing.T) {
	m, err := Fit(synth(200, 5, map[string]float64{"a": 3}, 0), Options{})
	if err != nil {
		t.Fatal(err)
	}
	pm, _ := m.WithPrior(Prior{Weight: 1})
	fam := Vote{Classifier: "fam-plugin", Stage: StageFamily, Scores: cs("normal", 0.1, "miner", 0.9)}
	v, err := pm.Predict([]Vote{detVote("a", 0.99, false), fam})
	if err != nil {
		t.Fatal(err)
	}
	if v.Family != "miner" || !slices.Contains(v.Unfitted, "fam-plugin") {
		t.Fatalf("family from an unfitted classifier: %+v", v)
	}
	for _, bad := range []Prior{{Weight: -1}, {Weight: math.NaN()}, {Weights: map[string]float64{"x": 11}}} {
		if _, err := m.WithPrior(bad); !errors.Is(err, ErrOptions) {
			t.Errorf("prior %+v: %v", bad, err)
		}
	}
	// Saved with the model, loaded back.
	var buf bytes.Buffer
	if err := pm.Save(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Load(&buf)
	if err != nil || back.Prior == nil || back.Prior.Weight != 1 {
		t.Fatalf("load: %+v %v", back.Prior, err)
	}
}
