package fusion

import (
	"math"
	"slices"
)

// probEps bounds fused probabilities away from 0 and 1 inside log-losses.
const probEps = 1e-6

// softVote returns the weighted average of the present (non-NaN)
// probabilities p with weights w renormalised over them. When every present
// classifier has zero weight it falls back to their unweighted mean. ok is
// false when nothing is present.
func softVote(p, w []float64) (fused float64, ok bool) {
	var sw, swp, sp float64
	n := 0
	for i, v := range p {
		if math.IsNaN(v) {
			continue
		}
		n++
		sp += v
		sw += w[i]
		swp += w[i] * v
	}
	if n == 0 {
		return 0, false
	}
	if sw <= 1e-12 {
		return sp / float64(n), true
	}
	return swp / sw, true
}

// softVoteLoss returns the mean log-loss of soft voting with weights w over
// the rows of P (NaN = missing) and, when grad is not nil, its gradient.
func softVoteLoss(P [][]float64, y []bool, w, grad []float64) float64 {
	for j := range grad {
		grad[j] = 0
	}
	var loss float64
	n := 0
	for r, p := range P {
		var sw, swp float64
		for i, v := range p {
			if !math.IsNaN(v) {
				sw += w[i]
				swp += w[i] * v
			}
		}
		if sw <= 1e-12 {
			continue // no weighted vote: constant fallback
		}
		n++
		f := min(1-probEps, max(probEps, swp/sw))
		t := 0.0
		if y[r] {
			t = 1
		}
		loss -= t*math.Log(f) + (1-t)*math.Log(1-f)
		if grad != nil {
			dLdf := (f - t) / (f * (1 - f))
			for i, v := range p {
				if !math.IsNaN(v) {
					grad[i] += dLdf * (v - swp/sw) / sw
				}
			}
		}
	}
	if n == 0 {
		return 0
	}
	for j := range grad {
		grad[j] /= float64(n)
	}
	return loss / float64(n)
}

// ProjectSimplex returns the Euclidean projection of v onto the probability
// simplex {w >= 0, sum w = 1} (Duchi et al. 2008).
func ProjectSimplex(v []float64) []float64 {
	u := slices.Clone(v)
	slices.SortFunc(u, func(a, b float64) int { return cmpFloat(b, a) })
	var cum, theta float64
	for j, x := range u {
		cum += x
		if t := (cum - 1) / float64(j+1); x-t > 0 {
			theta = t
		}
	}
	w := make([]float64, len(v))
	for i, x := range v {
		w[i] = max(0, x-theta)
	}
	return w
}

// learnSimplexWeights minimises softVoteLoss over the simplex by projected
// gradient descent with a backtracking (Armijo-type) step, from uniform
// weights.
func learnSimplexWeights(P [][]float64, y []bool, maxIter int) []float64 {
	c := len(P[0])
	w := make([]float64, c)
	for i := range w {
		w[i] = 1 / float64(c)
	}
	g := make([]float64, c)
	loss := softVoteLoss(P, y, w, g)
	eta := 1.0
	for it := 0; it < maxIter; it++ {
		var wn []float64
		var ln, moved float64
		accepted := false
		for eta > 1e-12 {
			step := make([]float64, c)
			for i := range w {
				step[i] = w[i] - eta*g[i]
			}
			wn = ProjectSimplex(step)
			var gd, dd float64
			moved = 0
			for i := range w {
				d := wn[i] - w[i]
				gd += g[i] * d
				dd += d * d
				moved = max(moved, math.Abs(d))
			}
			ln = softVoteLoss(P, y, wn, nil)
			if ln <= loss+gd+dd/(2*eta)+1e-15 {
				accepted = true
				break
			}
			eta /= 2
		}
		if !accepted || moved < 1e-10 {
			break
		}
		w = wn
		loss = softVoteLoss(P, y, w, g)
		eta = min(eta*2, 1e4)
	}
	return w
}

// fitLogistic fits L2-regularised logistic regression by Newton's method:
// minimise mean(log-loss) + l2/2 * |beta[1:]|^2 over beta (beta[0] the
// intercept, not penalised) for rows X (without the constant column).
func fitLogistic(X [][]float64, y []bool, l2 float64) []float64 {
	d := len(X[0]) + 1
	beta := make([]float64, d)
	n := float64(len(X))
	z := func(b []float64, x []float64) float64 {
		s := b[0]
		for j, v := range x {
			s += b[j+1] * v
		}
		return s
	}
	obj := func(b []float64) float64 {
		var f float64
		for r, x := range X {
			t := 0.0
			if y[r] {
				t = 1
			}
			f += logLossLogit(z(b, x), t)
		}
		f /= n
		for j := 1; j < d; j++ {
			f += l2 / 2 * b[j] * b[j]
		}
		return f
	}
	f := obj(beta)
	for it := 0; it < 100; it++ {
		g := make([]float64, d)
		H := make([][]float64, d)
		for j := range H {
			H[j] = make([]float64, d)
		}
		row := make([]float64, d)
		for r, x := range X {
			row[0] = 1
			copy(row[1:], x)
			p := sigmoid(z(beta, x))
			t := 0.0
			if y[r] {
				t = 1
			}
			wgt := p * (1 - p)
			for a := 0; a < d; a++ {
				g[a] += (p - t) * row[a] / n
				for b := 0; b <= a; b++ {
					H[a][b] += wgt * row[a] * row[b] / n
				}
			}
		}
		H[0][0] += 1e-9
		for a := 1; a < d; a++ {
			g[a] += l2 * beta[a]
			H[a][a] += l2
		}
		for a := 0; a < d; a++ {
			for b := a + 1; b < d; b++ {
				H[a][b] = H[b][a]
			}
		}
		step := solveSPD(H, g)
		if step == nil {
			break
		}
		var gd, maxStep float64
		for j := range step {
			step[j] = -step[j]
			gd += g[j] * step[j]
			maxStep = max(maxStep, math.Abs(step[j]))
		}
		if maxStep < 1e-10 {
			break
		}
		s := 1.0
		nb := make([]float64, d)
		for ; s >= 1e-10; s /= 2 {
			for j := range beta {
				nb[j] = beta[j] + s*step[j]
			}
			if nf := obj(nb); nf <= f+1e-4*s*gd {
				copy(beta, nb)
				f = nf
				break
			}
		}
		if s < 1e-10 {
			break
		}
	}
	return beta
}

// solveSPD solves H x = g for a symmetric positive definite H by Cholesky
// decomposition; nil when H is not positive definite.
func solveSPD(H [][]float64, g []float64) []float64 {
	d := len(g)
	L := make([][]float64, d)
	for i := range L {
		L[i] = make([]float64, d)
	}
	for i := 0; i < d; i++ {
		for j := 0; j <= i; j++ {
			s := H[i][j]
			for k := 0; k < j; k++ {
				s -= L[i][k] * L[j][k]
			}
			if i == j {
				if s <= 0 {
					return nil
				}
				L[i][i] = math.Sqrt(s)
			} else {
				L[i][j] = s / L[j][j]
			}
		}
	}
	x := make([]float64, d)
	for i := 0; i < d; i++ { // L v = g
		s := g[i]
		for k := 0; k < i; k++ {
			s -= L[i][k] * x[k]
		}
		x[i] = s / L[i][i]
	}
	for i := d - 1; i >= 0; i-- { // L^T x = v
		s := x[i]
		for k := i + 1; k < d; k++ {
			s -= L[k][i] * x[k]
		}
		x[i] = s / L[i][i]
	}
	return x
}
