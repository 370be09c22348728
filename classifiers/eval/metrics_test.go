package eval

import (
	"errors"
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func oneHot(pred []int, k int) [][]float64 {
	out := make([][]float64, len(pred))
	for i, p := range pred {
		out[i] = make([]float64, k)
		out[i][p] = 1
	}
	return out
}

func TestComputeThreeClass(t *testing.T) {
	// true 0,0,0,1,1,2; predicted 0,1,0,1,1,0 (worked by hand).
	m, err := Compute([]int{0, 0, 0, 1, 1, 2}, oneHot([]int{0, 1, 0, 1, 1, 0}, 3), []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	wantCM := [][]int{{2, 1, 0}, {0, 2, 0}, {1, 0, 0}}
	for i := range wantCM {
		for j := range wantCM[i] {
			if m.Confusion[i][j] != wantCM[i][j] {
				t.Fatalf("confusion %v, want %v", m.Confusion, wantCM)
			}
		}
	}
	if !near(m.Accuracy, 4.0/6) {
		t.Errorf("accuracy %v", m.Accuracy)
	}
	want := []ClassMetrics{
		{"a", 3, 2.0 / 3, 2.0 / 3, 2.0 / 3, 1.0 / 3},
		{"b", 2, 2.0 / 3, 1, 0.8, 1.0 / 4},
		{"c", 1, 0, 0, 0, 0},
	}
	for i, w := range want {
		g := m.PerClass[i]
		if g.Class != w.Class || g.Support != w.Support || !near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) || !near(g.F1, w.F1) || !near(g.FPR, w.FPR) {
			t.Errorf("class %d: %+v, want %+v", i, g, w)
		}
	}
	if !near(m.MacroF1, (2.0/3+0.8)/3) {
		t.Errorf("macro-F1 %v", m.MacroF1)
	}
	if m.AUC != nil || m.FPR != nil {
		t.Errorf("three classes: AUC %v FPR %v, want nil", m.AUC, m.FPR)
	}
}

func TestComputeTwoClass(t *testing.T) {
	y := []int{0, 0, 0, 1}
	p := [][]float64{{0.4, 0.6}, {0.8, 0.2}, {0.9, 0.1}, {0.1, 0.9}}
	m, err := Compute(y, p, []string{"benign", "malware"})
	if err != nil {
		t.Fatal(err)
	}
	if m.FPR == nil || !near(*m.FPR, 1.0/3) {
		t.Errorf("FPR %v, want 1/3", m.FPR)
	}
	if m.AUC == nil || *m.AUC != 1 {
		t.Errorf("AUC %v, want 1", m.AUC)
	}
	if !near(m.Accuracy, 0.75) {
		t.Errorf("accuracy %v", m.Accuracy)
	}
	// F1 benign: P 1, R 2/3 -> 0.8; malware: P 1/2, R 1 -> 2/3.
	if !near(m.MacroF1, (0.8+2.0/3)/2) {
		t.Errorf("macro-F1 %v", m.MacroF1)
	}
}

func TestComputeDegenerate(t *testing.T) {
	// A fold with only positives: AUC and two-class FPR undefined; class
	// "n" still has a one-vs-rest FPR (1 of 2 positives predicted "n").
	m, err := Compute([]int{1, 1}, [][]float64{{0.3, 0.7}, {0.6, 0.4}}, []string{"n", "p"})
	if err != nil {
		t.Fatal(err)
	}
	if m.AUC != nil || m.FPR != nil {
		t.Errorf("AUC %v FPR %v, want nil", m.AUC, m.FPR)
	}
	if m.Accuracy != 0.5 || m.PerClass[0].Precision != 0 || m.PerClass[0].FPR != 0.5 {
		t.Errorf("%+v", m)
	}
	// An empty prediction set is all zeros, not NaN.
	m, err = Compute(nil, nil, []string{"n", "p"})
	if err != nil || m.Accuracy != 0 || m.MacroF1 != 0 {
		t.Errorf("empty: %+v %v", m, err)
	}
}

func TestComputeErrors(t *testing.T) {
	cls := []string{"a", "b"}
	for name, c := range map[string]struct {
		y []int
		p [][]float64
	}{
		"length":   {[]int{0}, nil},
		"width":    {[]int{0}, [][]float64{{1}}},
		"label":    {[]int{2}, [][]float64{{1, 0}}},
		"nan":      {[]int{0}, [][]float64{{math.NaN(), 0}}},
		"negative": {[]int{-1}, [][]float64{{1, 0}}},
	} {
		if _, err := Compute(c.y, c.p, cls); !errors.Is(err, ErrEval) {
			t.Errorf("%s: %v, want ErrEval", name, err)
		}
	}
	if _, err := Compute(nil, nil, []string{"a"}); !errors.Is(err, ErrEval) {
		t.Errorf("one class: %v", err)
	}
}

func TestAUC(t *testing.T) {
	cases := []struct {
		s    []float64
		pos  []bool
		want float64
	}{
		{[]float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75},
		{[]float64{0.5, 0.5, 0.5, 0.5}, []bool{true, false, true, false}, 0.5},
		// pos 0.5 beats 0.2, ties 0.5 (1/2); pos 0.9 beats both: 3.5/4.
		{[]float64{0.2, 0.5, 0.5, 0.9}, []bool{false, true, false, true}, 0.875},
		{[]float64{3, 2, 1}, []bool{false, true, true}, 0},
		{[]float64{1, 2, 3}, []bool{false, true, true}, 1},
		// Three tied at 0.5 (2 positive, 1 negative) and one clear pair:
		// positives {0.5,0.5,0.9}, negatives {0.5,0.1}: pairs won
		// 0.5: vs 0.5 half, vs 0.1 one (x2) -> 3; 0.9: 2 -> 5/6.
		{[]float64{0.5, 0.5, 0.5, 0.9, 0.1}, []bool{true, true, false, true, false}, 5.0 / 6},
	}
	for i, c := range cases {
		got, err := AUC(c.s, c.pos)
		if err != nil || !near(got, c.want) {
			t.Errorf("case %d: %v %v, want %v", i, got, err, c.want)
		}
	}
	if _, err := AUC([]float64{1, 2}, []bool{true, true}); !errors.Is(err, ErrEval) {
		t.Errorf("one class: %v", err)
	}
	if _, err := AUC([]float64{math.NaN(), 2}, []bool{true, false}); !errors.Is(err, ErrEval) {
		t.Errorf("NaN: %v", err)
	}
}

// TestAUCBruteForce checks the rank formula against the pair definition.
func TestAUCBruteForce(t *testing.T) {
	r := newRand(7, 0)
	for trial := 0; trial < 50; trial++ {
		n := 2 + r.IntN(40)
		s := make([]float64, n)
		pos := make([]bool, n)
		for i := range s {
			s[i] = float64(r.IntN(5)) / 4 // many ties
			pos[i] = r.IntN(2) == 0
		}
		pos[0], pos[1] = true, false
		var num, den float64
		for i := range s {
			for j := range s {
				if pos[i] && !pos[j] {
					den++
					if s[i] > s[j] {
						num++
					} else if s[i] == s[j] {
						num += 0.5
					}
				}
			}
		}
		got, err := AUC(s, pos)
		if err != nil || !near(got, num/den) {
			t.Fatalf("trial %d: %v %v, want %v", trial, got, err, num/den)
		}
	}
}

func TestMeanStd(t *testing.T) {
	s := MeanStd([]float64{1, 2, 3, 4})
	if !near(s.Mean, 2.5) || !near(s.Std, math.Sqrt(5.0/3)) || s.N != 4 {
		t.Errorf("%+v", s)
	}
	if s := MeanStd([]float64{0.7}); s.Mean != 0.7 || s.Std != 0 {
		t.Errorf("%+v", s)
	}
	if s := MeanStd(nil); s != (Stat{}) {
		t.Errorf("%+v", s)
	}
}

func TestArgmaxTies(t *testing.T) {
	if Argmax([]float64{0.5, 0.5}) != 0 || Argmax([]float64{0.2, 0.3, 0.3}) != 1 {
		t.Error("ties must go to the lowest index")
	}
}
