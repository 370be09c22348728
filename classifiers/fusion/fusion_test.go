package fusion

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// detVote is a detection vote with P(malicious) p, in the class names of a
// ClaMP-style (benign/malware) or an ADFA-style (normal/attack) model.
func detVote(name string, p float64, attack bool) Vote {
	neg, pos := "benign", "malware"
	if attack {
		neg, pos = "normal", "attack"
	}
	lab := neg
	if p >= 0.5 {
		lab = pos
	}
	return Vote{Classifier: name, Stage: StageDetection, Scores: cs(neg, 1-p, pos, p), Label: lab}
}

func sig(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// synth makes n records, half malicious. Each detector d has a separation
// strength[d] (0 = pure noise): its score is sigmoid(strength*(2y-1) +
// N(0,1)). Each vote is dropped with probability missing, as an
// abstention, a failure or an absence in turn. Malicious records get one
// of three families; "fam-good" names it 80% of the time, in an FHIDS-like
// class list with "normal".
func synth(n int, seed uint64, strength map[string]float64, missing float64) []Record {
	r := rand.New(rand.NewPCG(seed, 99))
	fams := []string{"dos", "probe", "r2l"}
	set := map[string]bool{}
	for k := range strength {
		set[k] = true
	}
	names := sortedKeys(set) // map order is random: sort for determinism
	recs := make([]Record, n)
	for i := range recs {
		y := i%2 == 1
		rec := Record{Malicious: y}
		sign := -1.0
		if y {
			sign = 1
			rec.Family = fams[r.IntN(3)]
		}
		for k, name := range names {
			z := strength[name]*sign + r.NormFloat64()
			if r.Float64() < missing {
				switch (i + k) % 3 {
				case 0:
					rec.Votes = append(rec.Votes, Vote{Classifier: name, Stage: StageDetection, Abstained: true, Reason: "not a PE"})
				case 1:
					rec.Votes = append(rec.Votes, Vote{Classifier: name, Stage: StageDetection, Error: "deadline exceeded"})
				}
				continue
			}
			rec.Votes = append(rec.Votes, detVote(name, sig(z), k%2 == 1))
		}
		if y {
			top := rec.Family
			if r.Float64() > 0.8 {
				top = fams[r.IntN(3)]
			}
			sc := []ClassScore{{Class: "normal", Score: 0.1}}
			for _, f := range fams {
				s := 0.05
				if f == top {
					s = 0.75
				}
				sc = append(sc, ClassScore{Class: f, Score: s})
			}
			rec.Votes = append(rec.Votes, Vote{Classifier: "fam-good", Stage: StageFamily, Scores: sc})
			u := []float64{r.Float64(), r.Float64(), r.Float64()}
			sum := u[0] + u[1] + u[2]
			rec.Votes = append(rec.Votes, Vote{Classifier: "fam-noise", Stage: StageFamily,
				Scores: cs("dos", u[0]/sum, "probe", u[1]/sum, "r2l", u[2]/sum)})
		}
		recs[i] = rec
	}
	return recs
}

func detector(m *Model, name string) Detector {
	for _, d := range m.Detectors {
		if d.Name == name {
			return d
		}
	}
	return Detector{}
}

func TestNoiseIsDownWeighted(t *testing.T) {
	recs := synth(400, 1, map[string]float64{"good": 2, "noise": 0}, 0)
	for _, method := range []string{MethodSoftVote, MethodAUCVote} {
		m, err := Fit(recs, Options{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		g, n := detector(m, "good"), detector(m, "noise")
		if !(g.Weight > 0.85 && n.Weight < 0.15) {
			t.Errorf("%s: weights good %v noise %v", method, g.Weight, n.Weight)
		}
	}
	m, err := Fit(recs, Options{Method: MethodStacking})
	if err != nil {
		t.Fatal(err)
	}
	g, n := detector(m, "good"), detector(m, "noise")
	if !(g.Coef > 0.5 && math.Abs(n.Coef) < 0.2*g.Coef) {
		t.Errorf("stacking: coefs good %v noise %v", g.Coef, n.Coef)
	}

	rep, err := Evaluate(recs, EvalOptions{K: 4, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	good := rep.Entry("good").Accuracy.Mean
	noise := rep.Entry("noise").Accuracy.Mean
	if !(good > 0.85 && noise < 0.65) {
		t.Fatalf("single accuracies good %v noise %v", good, noise)
	}
	for _, method := range []string{MethodSoftVote, MethodAUCVote, MethodStacking} {
		if acc := rep.Entry(method).Accuracy.Mean; acc < good-0.02 {
			t.Errorf("%s accuracy %v, good alone %v", method, acc, good)
		}
	}
	// The unweighted mean is dragged down by the noise.
	if mean, sv := rep.Entry(MethodMean).Pooled.Accuracy, rep.Entry(MethodSoftVote).Pooled.Accuracy; mean > sv {
		t.Logf("note: mean %v >= soft-vote %v", mean, sv)
	}
}

func TestMissingAtRandom(t *testing.T) {
	strength := map[string]float64{"clamp": 1.2, "malbehavd": 1.2, "malimg": 1.2}
	full := synth(600, 2, strength, 0)
	holey := synth(600, 2, strength, 0.3)
	rf, err := Evaluate(full, EvalOptions{K: 3, Seed: 5, Methods: []string{MethodSoftVote, MethodStacking}})
	if err != nil {
		t.Fatal(err)
	}
	rh, err := Evaluate(holey, EvalOptions{K: 3, Seed: 5, Methods: []string{MethodSoftVote, MethodStacking}})
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{MethodSoftVote, MethodStacking} {
		accFull, accHoley := rf.Entry(method).Accuracy.Mean, rh.Entry(method).Accuracy.Mean
		bestSingle := 0.0
		for _, n := range []string{"clamp", "malbehavd", "malimg"} {
			bestSingle = max(bestSingle, rh.Entry(n).Accuracy.Mean)
			if cov := rh.Entry(n).Pooled.Coverage; cov > 0.8 || cov < 0.6 {
				t.Errorf("%s coverage %v, want about 0.7", n, cov)
			}
		}
		t.Logf("%s: full %.3f, 30%% missing %.3f, best single with missing %.3f", method, accFull, accHoley, bestSingle)
		if accHoley < bestSingle+0.03 || accHoley < accFull-0.08 || accHoley < 0.85 {
			t.Errorf("%s: full %v, missing %v, best single %v", method, accFull, accHoley, bestSingle)
		}
	}
	// With one vote left, soft voting returns its calibrated probability.
	m, err := Fit(holey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := m.Predict([]Vote{detVote("malimg", 0.9, false), {Classifier: "clamp", Stage: StageDetection, Abstained: true, Reason: "not a PE"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := detector(m, "malimg").Calibrator.Apply(0.9); !near(v.Probability, want, 1e-12) {
		t.Errorf("one vote: probability %v, want %v", v.Probability, want)
	}
	wantMissing := []Missing{
		{Classifier: "clamp", Stage: StageDetection, Status: StatusAbstained, Reason: "not a PE"},
		{Classifier: "malbehavd", Stage: StageDetection, Status: StatusAbsent},
	}
	if !reflect.DeepEqual(v.Missing[:2], wantMissing) {
		t.Errorf("missing %+v", v.Missing)
	}
}

func TestContributions(t *testing.T) {
	recs := synth(300, 4, map[string]float64{"a": 1.5, "b": 0.8, "c": 0.3}, 0.2)
	votes := []Vote{detVote("a", 0.9, false), detVote("b", 0.3, true), {Classifier: "c", Stage: StageDetection, Error: "crash"}, detVote("zzz", 0.99, false)}
	for _, method := range Methods {
		m, err := Fit(recs, Options{Method: method, Calibration: CalibrationIsotonic})
		if err != nil {
			t.Fatal(err)
		}
		v, err := m.Predict(votes)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Contributions) != 2 || !reflect.DeepEqual(v.Ignored, []string{"zzz"}) || v.Missing[0].Classifier != "c" || v.Missing[0].Status != StatusFailed {
			t.Fatalf("%s: %+v", method, v)
		}
		var sum float64
		for _, c := range v.Contributions {
			sum += c.Term
		}
		if method == MethodStacking {
			z := m.Intercept + sum + v.Missing[0].Term
			if !near(sig(z), v.Probability, 1e-9) {
				t.Errorf("stacking: terms give %v, probability %v", sig(z), v.Probability)
			}
		} else if !near(sum, v.Probability, 1e-12) {
			t.Errorf("%s: terms sum %v, probability %v", method, sum, v.Probability)
		}
		// Delta: dropping the vote changes the fused probability by it.
		for _, c := range v.Contributions {
			var rest []Vote
			for _, vt := range votes {
				if vt.Classifier != c.Classifier {
					rest = append(rest, vt)
				}
			}
			w, err := m.Predict(rest)
			if err != nil {
				t.Fatal(err)
			}
			if !near(v.Probability-w.Probability, c.Delta, 1e-12) {
				t.Errorf("%s: %s delta %v, drop changes %v", method, c.Classifier, c.Delta, v.Probability-w.Probability)
			}
		}
		if a := v.Contributions[0]; a.Classifier != "a" || a.Delta <= 0 {
			t.Errorf("%s: a confident malware vote should push up: %+v", method, a)
		}
	}
}

func TestStage2(t *testing.T) {
	recs := synth(300, 6, map[string]float64{"a": 2}, 0)
	m, err := Fit(recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Families) != 2 || m.Families[0].Name != "fam-good" || !(m.Families[0].Weight > 0.75 && m.Families[1].Weight < 0.5) {
		t.Fatalf("family voters %+v", m.Families)
	}
	fam := []Vote{
		{Classifier: "fam-good", Stage: StageFamily, Scores: cs("normal", 0.5, "dos", 0.1, "probe", 0.4, "r2l", 0.0)},
		{Classifier: "fam-noise", Stage: StageFamily, Scores: cs("dos", 0.6, "probe", 0.2, "r2l", 0.2)},
	}
	v, err := m.Predict(append([]Vote{detVote("a", 0.99, false)}, fam...))
	if err != nil {
		t.Fatal(err)
	}
	wg, wn := m.Families[0].Weight, m.Families[1].Weight
	wantProbe := (wg*0.8 + wn*0.2) / (wg + wn) // fam-good's probe is 0.4/0.5 after dropping normal
	if !v.Malicious || v.Family != "probe" || !near(v.FamilyScore, wantProbe, 1e-12) || len(v.FamilyVoters) != 2 {
		t.Errorf("malware: %+v, want probe at %v", v, wantProbe)
	}
	v, err = m.Predict(append([]Vote{detVote("a", 0.01, false)}, fam...))
	if err != nil {
		t.Fatal(err)
	}
	if v.Malicious || v.Label != LabelBenign || v.Family != "" || v.Families != nil {
		t.Errorf("benign: %+v", v)
	}
	// A family vote all on "normal" names no family.
	v, _ = m.Predict([]Vote{detVote("a", 0.99, false), {Classifier: "fam-good", Stage: StageFamily, Scores: cs("normal", 1.0, "dos", 0.0)}})
	if v.Family != "" || v.Missing[0].Status != StatusNoFamily {
		t.Errorf("normal-only family vote: %+v", v)
	}
	rep, err := Evaluate(recs, EvalOptions{K: 3, Methods: []string{MethodSoftVote}})
	if err != nil {
		t.Fatal(err)
	}
	if s := rep.Entry(MethodSoftVote).Folds[0]; s.FamilyN == 0 || s.FamilyAccuracy < 0.6 {
		t.Errorf("family accuracy %v over %d", s.FamilyAccuracy, s.FamilyN)
	}
}

func TestSaveLoadDeterministic(t *testing.T) {
	recs := synth(200, 8, map[string]float64{"a": 1.5, "b": 0.5}, 0.2)
	votes := []Vote{detVote("a", 0.7, false), detVote("b", 0.4, true)}
	for _, method := range Methods {
		for _, cal := range []string{CalibrationPlatt, CalibrationIsotonic, CalibrationNone} {
			opt := Options{Method: method, Calibration: cal, Threshold: ThresholdOptions{Rule: RuleFPR, TargetFPR: 0.05}}
			m1, err := Fit(recs, opt)
			if err != nil {
				t.Fatal(err)
			}
			m2, _ := Fit(recs, opt)
			var b1, b2 bytes.Buffer
			if err := m1.Save(&b1); err != nil {
				t.Fatal(err)
			}
			_ = m2.Save(&b2)
			if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
				t.Fatalf("%s/%s: two fits differ", method, cal)
			}
			if m1.Threshold.FPR > 0.05 {
				t.Errorf("%s/%s: validation FPR %v above target", method, cal, m1.Threshold.FPR)
			}
			m3, err := Load(&b1)
			if err != nil {
				t.Fatal(err)
			}
			v1, err1 := m1.Predict(votes)
			v3, err3 := m3.Predict(votes)
			if err1 != nil || err3 != nil || !reflect.DeepEqual(v1, v3) {
				t.Errorf("%s/%s: loaded model predicts %+v, %v; want %+v, %v", method, cal, v3, err3, v1, err1)
			}
			if _, err := json.Marshal(v1); err != nil {
				t.Errorf("verdict not JSON: %v", err)
			}
		}
	}
	r1, _ := Evaluate(recs, EvalOptions{K: 3, Seed: 9})
	r2, _ := Evaluate(recs, EvalOptions{K: 3, Seed: 9})
	j1, _ := json.Marshal(r1)
	j2, _ := json.Marshal(r2)
	if !bytes.Equal(j1, j2) {
		t.Error("Evaluate not deterministic")
	}
}

// TestSoftVoteOptimum compares the learned two-classifier weights with a
// grid search of the same validation log-loss.
func TestSoftVoteOptimum(t *testing.T) {
	recs := synth(300, 10, map[string]float64{"a": 1.5, "b": 1.0}, 0.1)
	m, err := Fit(recs, Options{Method: MethodSoftVote, Calibration: CalibrationNone})
	if err != nil {
		t.Fatal(err)
	}
	P := make([][]float64, len(recs))
	y := make([]bool, len(recs))
	for i, r := range recs {
		pv, _ := parseVotes(r.Votes)
		P[i], y[i] = m.calibrated(pv.det), r.Malicious
	}
	best, bestW := math.Inf(1), 0.0
	for i := 0; i <= 10000; i++ {
		w := float64(i) / 10000
		if l := softVoteLoss(P, y, []float64{w, 1 - w}, nil); l < best {
			best, bestW = l, w
		}
	}
	if got := m.Detectors[0].Weight; !near(got, bestW, 2e-3) {
		t.Errorf("weight of a %v, grid optimum %v", got, bestW)
	}
}

func TestErrors(t *testing.T) {
	recs := synth(40, 11, map[string]float64{"a": 1}, 0)
	type check struct {
		name      string
		err, want error
	}
	var checks []check
	_, err := Fit(recs, Options{Method: "boosting"})
	checks = append(checks, check{"method", err, ErrOptions})
	_, err = Fit(recs[:1], Options{})
	checks = append(checks, check{"one class", err, ErrData})
	dup := append([]Record{{Votes: []Vote{detVote("a", 0.5, false), detVote("a", 0.5, false)}}}, recs...)
	_, err = Fit(dup, Options{})
	checks = append(checks, check{"duplicate", err, ErrData})
	m, err := Fit(recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := m.Predict([]Vote{{Classifier: "a", Stage: StageDetection, Abstained: true}})
	checks = append(checks, check{"no votes", err, ErrNoVotes})
	if len(v.Missing) != 3 || v.Missing[0].Status != StatusAbstained || v.Missing[1].Status != StatusAbsent {
		t.Errorf("no votes: missing %+v", v.Missing)
	}
	_, err = m.Predict([]Vote{{Classifier: "a", Stage: StageDetection, Scores: cs("benign", 0.5, "spam", 0.5)}})
	checks = append(checks, check{"unknown class", err, ErrNoVotes})
	_, err = Load(bytes.NewReader([]byte(`{"format":1,"method":"soft-vote","detectors":[]}`)))
	checks = append(checks, check{"empty model", err, ErrOptions})
	_, err = Evaluate(recs, EvalOptions{K: 100})
	checks = append(checks, check{"k", err, ErrOptions})
	for _, c := range checks {
		if !errors.Is(c.err, c.want) || !errors.Is(c.err, ErrFusion) {
			t.Errorf("%s: err = %v, want %v", c.name, c.err, c.want)
		}
	}
}
