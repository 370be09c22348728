package fusion

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestPAVKnown(t *testing.T) {
	cases := []struct {
		y, w, want []float64
	}{
		{[]float64{1, 3, 2, 4, 3, 5}, nil, []float64{1, 2.5, 2.5, 3.5, 3.5, 5}},
		{[]float64{4, 3, 2, 1}, nil, []float64{2.5, 2.5, 2.5, 2.5}},
		{[]float64{1, 2, 3}, nil, []float64{1, 2, 3}},
		{[]float64{3, 1}, []float64{1, 3}, []float64{1.5, 1.5}},
		// 0,1,0,0 -> the violation pools backwards: 0, 1/3, 1/3, 1/3.
		{[]float64{0, 1, 0, 0}, nil, []float64{0, 1.0 / 3, 1.0 / 3, 1.0 / 3}},
	}
	for _, c := range cases {
		got := PAV(c.y, c.w)
		for i := range c.want {
			if !near(got[i], c.want[i], 1e-12) {
				t.Errorf("PAV(%v, %v) = %v, want %v", c.y, c.w, got, c.want)
				break
			}
		}
	}
}

func TestIsotonicKnown(t *testing.T) {
	s := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}
	y := []bool{false, true, false, true, true, true}
	c, err := FitIsotonic(s, y)
	if err != nil {
		t.Fatal(err)
	}
	// PAV of 0,1,0,1,1,1 is 0, .5, .5, 1, 1, 1: breakpoints at block ends.
	wantX := []float64{0.1, 0.2, 0.3, 0.4, 0.6}
	wantY := []float64{0, 0.5, 0.5, 1, 1}
	if len(c.X) != len(wantX) {
		t.Fatalf("breakpoints %v %v, want %v %v", c.X, c.Y, wantX, wantY)
	}
	for i := range wantX {
		if c.X[i] != wantX[i] || c.Y[i] != wantY[i] {
			t.Fatalf("breakpoints %v %v, want %v %v", c.X, c.Y, wantX, wantY)
		}
	}
	for _, tc := range []struct{ in, want float64 }{
		{0, 0}, {0.1, 0}, {0.15, 0.25}, {0.25, 0.5}, {0.35, 0.75}, {0.5, 1}, {0.99, 1},
	} {
		if got := c.Apply(tc.in); !near(got, tc.want, 1e-12) {
			t.Errorf("Apply(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	// Tied scores are pooled before PAV.
	c, err = FitIsotonic([]float64{0.5, 0.5, 0.9}, []bool{true, false, true})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Apply(0.5); got != 0.5 {
		t.Errorf("tied scores: Apply(0.5) = %v, want 0.5", got)
	}
	// Monotone on random data.
	r := rand.New(rand.NewPCG(1, 2))
	var rs []float64
	var ry []bool
	for range 300 {
		v := r.Float64()
		rs = append(rs, v)
		ry = append(ry, r.Float64() < v)
	}
	c, err = FitIsotonic(rs, ry)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	prev := -1.0
	for i := 0; i <= 1000; i++ {
		v := c.Apply(float64(i) / 1000)
		if v < prev || v < 0 || v > 1 {
			t.Fatalf("not monotone at %v: %v after %v", float64(i)/1000, v, prev)
		}
		prev = v
	}
}

// referencePlatt fits sigmoid(a*logit(s)+b) to Platt's targets by plain
// gradient descent on the mean cross-entropy, independently of FitPlatt.
func referencePlatt(s []float64, y []bool) (a, b float64) {
	nPos := 0
	for _, v := range y {
		if v {
			nPos++
		}
	}
	nNeg := len(y) - nPos
	hi := (float64(nPos) + 1) / (float64(nPos) + 2)
	lo := 1 / (float64(nNeg) + 2)
	x := make([]float64, len(s))
	tg := make([]float64, len(s))
	for i, v := range s {
		v = math.Min(1-1e-6, math.Max(1e-6, v))
		x[i] = math.Log(v / (1 - v))
		tg[i] = lo
		if y[i] {
			tg[i] = hi
		}
	}
	n := float64(len(s))
	for it := 0; it < 200000; it++ {
		var ga, gb float64
		for i := range x {
			p := 1 / (1 + math.Exp(-(a*x[i] + b)))
			ga += (p - tg[i]) * x[i] / n
			gb += (p - tg[i]) / n
		}
		a -= 0.5 * ga
		b -= 0.5 * gb
		if math.Abs(ga) < 1e-11 && math.Abs(gb) < 1e-11 {
			break
		}
	}
	return a, b
}

func TestPlattMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	sig := func(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
	// Noisy: overconfident scores, labels drawn from a shrunken, shifted
	// version of them.
	var s []float64
	var y []bool
	for range 200 {
		z := r.NormFloat64() * 2
		s = append(s, sig(z))
		y = append(y, r.Float64() < sig(0.5*z+0.3))
	}
	c, err := FitPlatt(s, y)
	if err != nil {
		t.Fatal(err)
	}
	a, b := referencePlatt(s, y)
	if !near(c.A, a, 1e-4) || !near(c.B, b, 1e-4) {
		t.Errorf("noisy: FitPlatt A=%v B=%v, reference A=%v B=%v", c.A, c.B, a, b)
	}
	if !near(c.A, 0.5, 0.2) {
		t.Errorf("noisy: A=%v, want about 0.5 (the shrinkage)", c.A)
	}
	// Separable: positives above every negative. Platt's targets keep the
	// fit finite.
	s, y = nil, nil
	for i := range 40 {
		s = append(s, 0.55+0.01*float64(i))
		y = append(y, true)
		s = append(s, 0.05+0.01*float64(i))
		y = append(y, false)
	}
	c, err = FitPlatt(s, y)
	if err != nil {
		t.Fatal(err)
	}
	a, b = referencePlatt(s, y)
	if !near(c.A, a, 1e-3) || !near(c.B, b, 1e-3) {
		t.Errorf("separable: FitPlatt A=%v B=%v, reference A=%v B=%v", c.A, c.B, a, b)
	}
	if c.A <= 0 || math.IsInf(c.A, 0) || c.Apply(0.9) < 0.9 || c.Apply(0.1) > 0.1 {
		t.Errorf("separable: A=%v B=%v, Apply(0.9)=%v Apply(0.1)=%v", c.A, c.B, c.Apply(0.9), c.Apply(0.1))
	}
	// One class only is an error.
	if _, err := FitPlatt([]float64{0.1, 0.2}, []bool{true, true}); !errors.Is(err, ErrFusion) {
		t.Errorf("one class: err = %v", err)
	}
}
