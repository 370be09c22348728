package classical

import (
	"context"
	"io"
	"math"

	"gonum.org/v1/gonum/floats"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// LinearSVM is a one-vs-rest linear support vector machine: per class, the
// L2-regularised hinge-loss (L1-loss) SVM
//
//	min_w 1/2 |w|^2 + C sum_i max(0, 1 - y_i w.x_i)
//
// over standardised inputs with a constant bias feature (regularised, as in
// LIBLINEAR), solved by dual coordinate descent (Hsieh et al., ICML 2008)
// visiting examples in a seeded random order each epoch.
//
// PredictProba returns the softmax of the K margins w_k.x. These are NOT
// calibrated probabilities (no Platt scaling): they rank examples (ROC AUC
// is meaningful) and their arg-max is the one-vs-rest decision, but their
// values should not be read as confidences.
type LinearSVM struct {
	C       float64 // 0 means 1
	MaxIter int     // epochs; 0 means 200
	Tol     float64 // projected-gradient gap to stop; 0 means 0.1

	st svmState
}

type svmState struct {
	Scaler Scaler
	W      [][]float64 // K x (dim+1), last is the bias
	Dim    int
	Epochs []int // per class, epochs used
}

// NewLinearSVM returns a linear SVM with default settings.
func NewLinearSVM() ml.Classifier { return &LinearSVM{} }

// Name implements ml.Classifier.
func (m *LinearSVM) Name() string { return "linear-svm" }

// Fit implements ml.Classifier.
func (m *LinearSVM) Fit(ctx context.Context, d ml.Dataset, seed int64) error {
	dim, err := checkFit(d)
	if err != nil {
		return err
	}
	c, iters, tol := m.C, m.MaxIter, m.Tol
	if c <= 0 {
		c = 1
	}
	if iters <= 0 {
		iters = 200
	}
	if tol <= 0 {
		tol = 0.1
	}
	sc := fitScaler(d, dim)
	n := len(d.Inputs)
	x := make([][]float64, n)
	qd := make([]float64, n)
	for i, in := range d.Inputs {
		x[i] = sc.apply(make([]float64, dim+1), in.Vector)[:dim+1]
		x[i][dim] = 1
		for _, v := range x[i] {
			qd[i] += v * v
		}
	}
	st := svmState{Scaler: sc, Dim: dim, W: make([][]float64, len(d.Classes)), Epochs: make([]int, len(d.Classes))}
	for k := range st.W {
		w, ep, err := dualCD(ctx, x, qd, d.Labels, k, c, iters, tol, newRand(seed, uint64(k)+0x5f3))
		if err != nil {
			return err
		}
		st.W[k], st.Epochs[k] = w, ep
	}
	m.st = st
	return nil
}

// dualCD solves the binary problem "class k vs the rest".
func dualCD(ctx context.Context, x [][]float64, qd []float64, labels []int, k int, c float64, iters int, tol float64, rng interface{ IntN(int) int }) ([]float64, int, error) {
	n, dim := len(x), len(x[0])
	w := make([]float64, dim)
	alpha := make([]float64, n)
	y := make([]float64, n)
	for i, l := range labels {
		y[i] = -1
		if l == k {
			y[i] = 1
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	epoch := 0
	for ; epoch < iters; epoch++ {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		for i := n - 1; i > 0; i-- {
			j := rng.IntN(i + 1)
			order[i], order[j] = order[j], order[i]
		}
		maxPG, minPG := math.Inf(-1), math.Inf(1)
		for _, i := range order {
			if qd[i] == 0 {
				continue
			}
			g := y[i]*floats.Dot(w, x[i]) - 1
			pg := g
			switch {
			case alpha[i] == 0:
				pg = min(g, 0)
			case alpha[i] == c:
				pg = max(g, 0)
			}
			maxPG, minPG = max(maxPG, pg), min(minPG, pg)
			if pg == 0 {
				continue
			}
			old := alpha[i]
			alpha[i] = min(max(old-g/qd[i], 0), c)
			if delta := (alpha[i] - old) * y[i]; delta != 0 {
				floats.AddScaled(w, delta, x[i])
			}
		}
		if maxPG-minPG <= tol {
			epoch++
			break
		}
	}
	return w, epoch, nil
}

// PredictProba implements ml.Classifier: the softmax of the one-vs-rest
// margins (uncalibrated; see LinearSVM).
func (m *LinearSVM) PredictProba(in ml.Input) ([]float64, error) {
	if err := checkInput(in, m.st.Dim); err != nil {
		return nil, err
	}
	x := m.st.Scaler.apply(nil, in.Vector)
	z := make([]float64, len(m.st.W))
	for k, w := range m.st.W {
		z[k] = w[m.st.Dim] + floats.Dot(w[:m.st.Dim], x)
	}
	return softmax(z), nil
}

// Save implements ml.Classifier.
func (m *LinearSVM) Save(w io.Writer) error {
	if m.st.Dim == 0 {
		return ErrNotFitted
	}
	return save(w, m.Name(), 1, &m.st)
}

// Load implements ml.Classifier.
func (m *LinearSVM) Load(r io.Reader) error { return load(r, m.Name(), 1, &m.st) }
