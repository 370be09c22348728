package fusion

import (
	"errors"
	"math"
	"testing"
)

func TestSelectThresholdKnown(t *testing.T) {
	s := []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2}
	y := []bool{true, true, false, true, false, true, false, false}
	cases := []struct {
		opt             ThresholdOptions
		value, fpr, tpr float64
	}{
		// Smallest threshold with FPR <= 0.25: 0.6 (one negative, 0.7, above).
		{ThresholdOptions{Rule: RuleFPR, TargetFPR: 0.25}, 0.6, 0.25, 0.75},
		{ThresholdOptions{Rule: RuleFPR, TargetFPR: 0}, 0.8, 0, 0.5},
		{ThresholdOptions{Rule: RuleFPR, TargetFPR: 1}, 0.2, 1, 1},
		// F1 is 0.8 at 0.4 (4 TP, 2 FP, 0 FN), its maximum.
		{ThresholdOptions{Rule: RuleF1}, 0.4, 0.5, 1},
		{ThresholdOptions{}, 0.4, 0.5, 1},
		// J = 0.5 at 0.8, 0.6 and 0.4: the largest wins.
		{ThresholdOptions{Rule: RuleYouden}, 0.8, 0, 0.5},
		{ThresholdOptions{Rule: RuleFixed, Fixed: 0.55}, 0.55, 0.25, 0.75},
	}
	for _, c := range cases {
		th, err := SelectThreshold(s, y, c.opt)
		if err != nil {
			t.Fatalf("%+v: %v", c.opt, err)
		}
		if th.Value != c.value || !near(th.FPR, c.fpr, 1e-12) || !near(th.TPR, c.tpr, 1e-12) {
			t.Errorf("%+v: got %+v, want value %v fpr %v tpr %v", c.opt, th, c.value, c.fpr, c.tpr)
		}
	}
	th, _ := SelectThreshold(s, y, ThresholdOptions{Rule: RuleF1})
	if !near(th.F1, 0.8, 1e-12) || !near(th.Precision, 4.0/6, 1e-12) {
		t.Errorf("F1 rule: %+v", th)
	}
	// Ties: a negative tied with a positive at the top forces flagging nothing.
	th, err := SelectThreshold([]float64{0.5, 0.5, 0.1}, []bool{true, false, false}, ThresholdOptions{Rule: RuleFPR})
	if err != nil {
		t.Fatal(err)
	}
	if !(th.Value > 0.5) || th.Value != math.Nextafter(0.5, 1) || th.TPR != 0 || th.FPR != 0 {
		t.Errorf("tie: %+v", th)
	}
}

func TestSelectThresholdErrors(t *testing.T) {
	for _, c := range []struct {
		s   []float64
		y   []bool
		opt ThresholdOptions
	}{
		{[]float64{0.1}, []bool{true}, ThresholdOptions{Rule: "median"}},
		{[]float64{0.1, 0.2}, []bool{true, true}, ThresholdOptions{Rule: RuleFPR, TargetFPR: 0.1}},
		{[]float64{0.1, 0.2}, []bool{false, false}, ThresholdOptions{Rule: RuleF1}},
		{[]float64{0.1, 0.2}, []bool{true, false}, ThresholdOptions{Rule: RuleFPR, TargetFPR: 2}},
		{[]float64{math.NaN(), 0.2}, []bool{true, false}, ThresholdOptions{}},
		{nil, nil, ThresholdOptions{}},
	} {
		if _, err := SelectThreshold(c.s, c.y, c.opt); !errors.Is(err, ErrFusion) {
			t.Errorf("%v %v %+v: err = %v", c.s, c.y, c.opt, err)
		}
	}
}
