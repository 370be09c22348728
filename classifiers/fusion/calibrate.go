package fusion

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Calibration kinds.
const (
	CalibrationNone     = "none"     // the score as is
	CalibrationPlatt    = "platt"    // logistic fit on the score's logit
	CalibrationIsotonic = "isotonic" // pool-adjacent-violators
)

// logitEps bounds scores away from 0 and 1 before taking a logit.
const logitEps = 1e-6

func clamp01(p float64) float64 { return min(1, max(0, p)) }

// logit returns log(p/(1-p)) of p clipped to [eps, 1-eps].
func logit(p, eps float64) float64 {
	p = min(1-eps, max(eps, p))
	return math.Log(p / (1 - p))
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// Calibrator maps a classifier's P(malicious) to a calibrated probability.
// It is plain data, kept as JSON in a Model.
type Calibrator struct {
	Kind string `json:"kind"` // CalibrationNone, CalibrationPlatt or CalibrationIsotonic
	// Platt: p = sigmoid(A*logit(s) + B), logit clipped at 1e-6.
	A float64 `json:"a,omitempty"`
	B float64 `json:"b,omitempty"`
	// Isotonic: breakpoints, X strictly increasing, Y non-decreasing.
	X []float64 `json:"x,omitempty"`
	Y []float64 `json:"y,omitempty"`
}

// Apply returns the calibrated probability of score s. Isotonic
// calibration interpolates linearly between breakpoints and is constant
// beyond the first and last one, so it is monotone (non-decreasing) and
// continuous. A NaN score gives NaN.
func (c Calibrator) Apply(s float64) float64 {
	if math.IsNaN(s) {
		return s
	}
	switch c.Kind {
	case CalibrationPlatt:
		return sigmoid(c.A*logit(s, logitEps) + c.B)
	case CalibrationIsotonic:
		n := len(c.X)
		if n == 0 {
			return clamp01(s)
		}
		if s <= c.X[0] {
			return c.Y[0]
		}
		if s >= c.X[n-1] {
			return c.Y[n-1]
		}
		j := sort.SearchFloat64s(c.X, s) // X[j-1] < s <= X[j]
		if c.X[j] == s {
			return c.Y[j]
		}
		t := (s - c.X[j-1]) / (c.X[j] - c.X[j-1])
		return c.Y[j-1] + t*(c.Y[j]-c.Y[j-1])
	}
	return clamp01(s)
}

// Validate checks a calibrator read from a file.
func (c Calibrator) Validate() error {
	switch c.Kind {
	case CalibrationNone:
	case CalibrationPlatt:
		if math.IsNaN(c.A) || math.IsInf(c.A, 0) || math.IsNaN(c.B) || math.IsInf(c.B, 0) {
			return fmt.Errorf("%w: platt parameters %v, %v", ErrOptions, c.A, c.B)
		}
	case CalibrationIsotonic:
		if len(c.X) == 0 || len(c.X) != len(c.Y) {
			return fmt.Errorf("%w: isotonic with %d x, %d y", ErrOptions, len(c.X), len(c.Y))
		}
		for i := range c.X {
			if i > 0 && (!(c.X[i] > c.X[i-1]) || c.Y[i] < c.Y[i-1]) {
				return fmt.Errorf("%w: isotonic breakpoints not monotone at %d", ErrOptions, i)
			}
		}
	default:
		return fmt.Errorf("%w: calibration %q", ErrOptions, c.Kind)
	}
	return nil
}

func checkCalibrationData(scores []float64, positive []bool) (nPos, nNeg int, err error) {
	if len(scores) != len(positive) {
		return 0, 0, fmt.Errorf("%w: %d scores, %d labels", ErrData, len(scores), len(positive))
	}
	for i, s := range scores {
		if math.IsNaN(s) || s < 0 || s > 1 {
			return 0, 0, fmt.Errorf("%w: score %d is %v", ErrBadScores, i, s)
		}
		if positive[i] {
			nPos++
		} else {
			nNeg++
		}
	}
	if nPos == 0 || nNeg == 0 {
		return nPos, nNeg, fmt.Errorf("%w: calibration needs both classes (%d positive, %d negative)", ErrData, nPos, nNeg)
	}
	return nPos, nNeg, nil
}

// FitCalibrator fits a calibrator of the given kind on scores in [0,1] and
// their labels (true = malicious). Both classes must be present.
func FitCalibrator(kind string, scores []float64, positive []bool) (Calibrator, error) {
	switch kind {
	case CalibrationPlatt:
		return FitPlatt(scores, positive)
	case CalibrationIsotonic:
		return FitIsotonic(scores, positive)
	case CalibrationNone:
		if _, _, err := checkCalibrationData(scores, positive); err != nil {
			return Calibrator{}, err
		}
		return Calibrator{Kind: CalibrationNone}, nil
	}
	return Calibrator{}, fmt.Errorf("%w: calibration %q", ErrOptions, kind)
}

// PlattTargets returns Platt's smoothed targets for nPos positives and nNeg
// negatives: (nPos+1)/(nPos+2) for a positive and 1/(nNeg+2) for a
// negative, which keep the fit finite on separable scores.
func PlattTargets(nPos, nNeg int) (hi, lo float64) {
	return (float64(nPos) + 1) / (float64(nPos) + 2), 1 / (float64(nNeg) + 2)
}

// FitPlatt fits Platt scaling p = sigmoid(A*logit(s) + B) by minimising the
// cross-entropy against Platt's smoothed targets (PlattTargets), with
// Newton's method and a backtracking line search (Lin, Lin and Weng 2007).
func FitPlatt(scores []float64, positive []bool) (Calibrator, error) {
	nPos, nNeg, err := checkCalibrationData(scores, positive)
	if err != nil {
		return Calibrator{}, err
	}
	hi, lo := PlattTargets(nPos, nNeg)
	x := make([]float64, len(scores))
	t := make([]float64, len(scores))
	for i, s := range scores {
		x[i] = logit(s, logitEps)
		t[i] = lo
		if positive[i] {
			t[i] = hi
		}
	}
	obj := func(a, b float64) float64 {
		var f float64
		for i := range x {
			f += logLossLogit(a*x[i]+b, t[i])
		}
		return f
	}
	a, b := 0.0, math.Log((float64(nPos)+1)/(float64(nNeg)+1))
	f := obj(a, b)
	for it := 0; it < 100; it++ {
		var g1, g2, h11, h12, h22 float64
		for i := range x {
			p := sigmoid(a*x[i] + b)
			d := p - t[i]
			w := max(p*(1-p), 1e-12)
			g1 += d * x[i]
			g2 += d
			h11 += w * x[i] * x[i]
			h12 += w * x[i]
			h22 += w
		}
		if math.Abs(g1) < 1e-10 && math.Abs(g2) < 1e-10 {
			break
		}
		h11 += 1e-12
		h22 += 1e-12
		det := h11*h22 - h12*h12
		da := -(h22*g1 - h12*g2) / det
		db := -(-h12*g1 + h11*g2) / det
		gd := g1*da + g2*db
		step := 1.0
		for ; step >= 1e-10; step /= 2 {
			na, nb := a+step*da, b+step*db
			if nf := obj(na, nb); nf <= f+1e-4*step*gd {
				a, b, f = na, nb, nf
				break
			}
		}
		if step < 1e-10 || (math.Abs(step*da) < 1e-12 && math.Abs(step*db) < 1e-12) {
			break
		}
	}
	return Calibrator{Kind: CalibrationPlatt, A: a, B: b}, nil
}

// logLossLogit is the cross-entropy of target t against sigmoid(z),
// computed stably from z.
func logLossLogit(z, t float64) float64 {
	// -t*log(s(z)) - (1-t)*log(1-s(z)) = log(1+e^z) - t*z
	return softplus(z) - t*z
}

func softplus(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}

// PAV returns the weighted least-squares non-decreasing fit to y (weights w,
// nil for all 1) by pool-adjacent-violators: adjacent blocks whose means
// decrease are pooled into their weighted mean until none do.
func PAV(y, w []float64) []float64 {
	type block struct {
		sum, weight float64
		n           int
	}
	blocks := make([]block, 0, len(y))
	for i, v := range y {
		wi := 1.0
		if w != nil {
			wi = w[i]
		}
		blocks = append(blocks, block{v * wi, wi, 1})
		for len(blocks) >= 2 {
			l, r := blocks[len(blocks)-2], blocks[len(blocks)-1]
			if l.sum/l.weight <= r.sum/r.weight {
				break
			}
			blocks = blocks[:len(blocks)-2]
			blocks = append(blocks, block{l.sum + r.sum, l.weight + r.weight, l.n + r.n})
		}
	}
	out := make([]float64, 0, len(y))
	for _, b := range blocks {
		m := b.sum / b.weight
		for range b.n {
			out = append(out, m)
		}
	}
	return out
}

// FitIsotonic fits isotonic regression of the labels on the scores: tied
// scores are pooled first, then PAV gives a non-decreasing step fit. The
// breakpoints are each pooled block's lowest and highest score at the
// block's value, so Apply is constant inside a block and interpolates
// linearly between blocks.
func FitIsotonic(scores []float64, positive []bool) (Calibrator, error) {
	if _, _, err := checkCalibrationData(scores, positive); err != nil {
		return Calibrator{}, err
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpFloat(scores[a], scores[b]) })
	var xs, ys, ws []float64
	for i := 0; i < len(idx); {
		j, sum := i, 0.0
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			if positive[idx[j]] {
				sum++
			}
			j++
		}
		xs = append(xs, scores[idx[i]])
		ys = append(ys, sum/float64(j-i))
		ws = append(ws, float64(j-i))
		i = j
	}
	fit := PAV(ys, ws)
	c := Calibrator{Kind: CalibrationIsotonic}
	for i := 0; i < len(xs); {
		j := i
		for j+1 < len(xs) && fit[j+1] == fit[i] {
			j++
		}
		c.X = append(c.X, xs[i])
		c.Y = append(c.Y, fit[i])
		if j > i {
			c.X = append(c.X, xs[j])
			c.Y = append(c.Y, fit[i])
		}
		i = j + 1
	}
	return c, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
