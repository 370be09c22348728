package fusion

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// TestWithThresholdKnown re-chooses the threshold of a model on known
// validation scores (those of TestSelectThresholdKnown).
func TestWithThresholdKnown(t *testing.T) {
	recs := synth(100, 21, map[string]float64{"a": 1.5, "b": 0.5}, 0)
	m, err := Fit(recs, Options{Threshold: ThresholdOptions{Rule: RuleF1}})
	if err != nil {
		t.Fatal(err)
	}
	s := []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2}
	y := []bool{true, true, false, true, false, true, false, false}
	m.Validation = nil
	for i := range s {
		m.Validation = append(m.Validation, ScoredLabel{P: s[i], Malicious: y[i]})
	}
	before := m.Threshold
	cases := []struct {
		opt             ThresholdOptions
		value, fpr, tpr float64
	}{
		{ThresholdOptions{Rule: RuleFPR, TargetFPR: 0.25}, 0.6, 0.25, 0.75},
		{ThresholdOptions{Rule: RuleFPR, TargetFPR: 0}, 0.8, 0, 0.5},
		{ThresholdOptions{Rule: RuleF1}, 0.4, 0.5, 1},
		{ThresholdOptions{}, 0.4, 0.5, 1},
		{ThresholdOptions{Rule: RuleYouden}, 0.8, 0, 0.5},
		{ThresholdOptions{Rule: RuleFixed, Fixed: 0.55}, 0.55, 0.25, 0.75},
	}
	for _, c := range cases {
		m2, err := m.WithThreshold(c.opt)
		if err != nil {
			t.Fatalf("%+v: %v", c.opt, err)
		}
		th := m2.Threshold
		if th.Value != c.value || !near(th.FPR, c.fpr, 1e-12) || !near(th.TPR, c.tpr, 1e-12) {
			t.Errorf("%+v: got %+v, want value %v fpr %v tpr %v", c.opt, th, c.value, c.fpr, c.tpr)
		}
		if c.opt.Rule != "" && m2.Options.Threshold != c.opt {
			t.Errorf("%+v: options %+v", c.opt, m2.Options.Threshold)
		}
		// The verdict uses the new threshold.
		v, err := m2.Predict([]Vote{detVote("a", 0.9, false)})
		if err != nil || v.Threshold != c.value || v.Malicious != (v.Probability >= c.value) {
			t.Errorf("%+v: verdict %+v, %v", c.opt, v, err)
		}
	}
	if m.Threshold != before {
		t.Error("WithThreshold changed the receiver")
	}
	// A fixed threshold needs no validation scores; other rules do.
	m.Validation = nil
	m2, err := m.WithThreshold(ThresholdOptions{Rule: RuleFixed, Fixed: 0.3})
	if err != nil || m2.Threshold != (Threshold{Rule: RuleFixed, Value: 0.3}) {
		t.Errorf("fixed without validation: %+v, %v", m2, err)
	}
	for _, c := range []struct {
		opt  ThresholdOptions
		want error
	}{
		{ThresholdOptions{Rule: RuleFPR, TargetFPR: 0.01}, ErrData},
		{ThresholdOptions{Rule: RuleF1}, ErrData},
		{ThresholdOptions{Rule: RuleFixed, Fixed: math.NaN()}, ErrOptions},
	} {
		if _, err := m.WithThreshold(c.opt); !errors.Is(err, c.want) || !errors.Is(err, ErrFusion) {
			t.Errorf("no validation, %+v: err = %v, want %v", c.opt, err, c.want)
		}
	}
	m.Validation = []ScoredLabel{{0.2, false}, {0.7, true}}
	for _, opt := range []ThresholdOptions{{Rule: "median"}, {Rule: RuleFPR, TargetFPR: 2}} {
		if _, err := m.WithThreshold(opt); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: err = %v, want ErrOptions", opt, err)
		}
	}
}

// TestWithThresholdMatchesFit: Fit stores the scores its threshold was
// chosen on, so re-choosing by the same rule gives the same threshold, and
// the scores survive Save and Load exactly.
func TestWithThresholdMatchesFit(t *testing.T) {
	recs := synth(300, 22, map[string]float64{"a": 1.5, "b": 0.7}, 0.2)
	for _, method := range Methods {
		opt := Options{Method: method, Threshold: ThresholdOptions{Rule: RuleFPR, TargetFPR: 0.05}}
		m, err := Fit(recs, opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Validation) == 0 || len(m.Validation) > len(recs) {
			t.Fatalf("%s: %d validation scores for %d records", method, len(m.Validation), len(recs))
		}
		m2, err := m.WithThreshold(opt.Threshold)
		if err != nil || m2.Threshold != m.Threshold {
			t.Errorf("%s: re-chosen %+v, %v; fitted %+v", method, m2.Threshold, err, m.Threshold)
		}
		var buf bytes.Buffer
		if err := m.Save(&buf); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(buf.String(), "\n"); n > len(m.Validation)+200 {
			t.Errorf("%s: saved model has %d lines for %d validation scores: not compact", method, n, len(m.Validation))
		}
		l, err := Load(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("%s: %v\n%s", method, err, buf.String()[:min(buf.Len(), 2000)])
		}
		if !reflect.DeepEqual(l, m) {
			t.Errorf("%s: loaded model differs", method)
		}
		l2, err := l.WithThreshold(ThresholdOptions{Rule: RuleYouden})
		m3, _ := m.WithThreshold(ThresholdOptions{Rule: RuleYouden})
		if err != nil || l2.Threshold != m3.Threshold {
			t.Errorf("%s: loaded model re-chose %+v, %v; want %+v", method, l2.Threshold, err, m3.Threshold)
		}
	}
	// A model saved without validation scores (older files) still loads.
	m, _ := Fit(recs, Options{})
	m.Validation = nil
	var buf bytes.Buffer
	_ = m.Save(&buf)
	if strings.Contains(buf.String(), "validation") {
		t.Error("empty validation written")
	}
	if _, err := Load(&buf); err != nil {
		t.Fatal(err)
	}
	// Out-of-range validation scores are rejected on load.
	m.Validation = []ScoredLabel{{P: 1.5}}
	buf.Reset()
	_ = m.Save(&buf)
	if _, err := Load(&buf); !errors.Is(err, ErrOptions) {
		t.Errorf("validation score 1.5: err = %v", err)
	}
}
