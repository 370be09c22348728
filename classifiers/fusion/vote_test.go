package fusion

import (
	"errors"
	"math"
	"testing"
)

func cs(kv ...any) []ClassScore {
	var out []ClassScore
	for i := 0; i < len(kv); i += 2 {
		out = append(out, ClassScore{Class: kv[i].(string), Score: kv[i+1].(float64)})
	}
	return out
}

func TestDetectionProbability(t *testing.T) {
	for _, c := range []struct {
		s    []ClassScore
		want float64
	}{
		{cs("benign", 0.2, "malware", 0.8), 0.8},
		{cs("normal", 0.7, "attack", 0.3), 0.3},
		{cs("Malware", 0.6, " Benign", 0.4), 0.6},
		{cs("benign", 0.5, "malware", 0.25), 1.0 / 3}, // renormalised
	} {
		got, err := DetectionProbability(c.s)
		if err != nil || !near(got, c.want, 1e-12) {
			t.Errorf("%v: %v, %v; want %v", c.s, got, err, c.want)
		}
	}
	for _, c := range []struct {
		s    []ClassScore
		want error
	}{
		{cs("benign", 0.5, "spam", 0.5), ErrUnknownClass},
		{cs("malware", 1.0), ErrUnknownClass},
		{cs("benign", math.NaN(), "malware", 0.5), ErrBadScores},
		{cs("benign", -0.1, "malware", 1.0), ErrBadScores},
		{cs("benign", 0.0, "malware", 0.0), ErrBadScores},
	} {
		if _, err := DetectionProbability(c.s); !errors.Is(err, c.want) || !errors.Is(err, ErrFusion) {
			t.Errorf("%v: err = %v, want %v", c.s, err, c.want)
		}
	}
}

func TestFamilyDistribution(t *testing.T) {
	d, err := FamilyDistribution(cs("normal", 0.5, "dos", 0.3, "probe", 0.2))
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 2 || d[0].Class != "dos" || !near(d[0].Score, 0.6, 1e-12) || d[1].Class != "probe" || !near(d[1].Score, 0.4, 1e-12) {
		t.Errorf("got %v", d)
	}
	if _, err := FamilyDistribution(cs("normal", 1.0, "dos", 0.0)); !errors.Is(err, ErrNoFamily) {
		t.Errorf("all normal: err = %v", err)
	}
	st, err := VoteStage(Vote{Classifier: "x", Scores: cs("normal", 0.5, "dos", 0.5)})
	if err != nil || st != StageFamily {
		t.Errorf("inferred stage %q, %v", st, err)
	}
	st, err = VoteStage(Vote{Classifier: "x", Scores: cs("normal", 0.5, "attack", 0.5)})
	if err != nil || st != StageDetection {
		t.Errorf("inferred stage %q, %v", st, err)
	}
	if _, err := VoteStage(Vote{Classifier: "x", Stage: "triage"}); !errors.Is(err, ErrFusion) {
		t.Errorf("bad stage: err = %v", err)
	}
}
