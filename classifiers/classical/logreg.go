package classical

import (
	"context"
	"fmt"
	"io"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// LogReg is multinomial (softmax) logistic regression with an L2 penalty on
// the weights (not the biases), over standardised inputs, fitted by L-BFGS
// (gonum/optimize, with gonum/floats kernels) on the full training set. It has no randomness: the seed
// is unused.
type LogReg struct {
	Lambda  float64 // L2 strength on the mean loss; 0 means 1e-3
	MaxIter int     // L-BFGS iterations; 0 means 300

	st logRegState
}

type logRegState struct {
	Scaler  Scaler
	W       []float64 // K x dim, row-major
	B       []float64 // K
	Dim, K  int
	Lambda  float64
	Iters   int
	Message string
}

// NewLogReg returns a logistic regression with default settings.
func NewLogReg() ml.Classifier { return &LogReg{} }

// Name implements ml.Classifier.
func (m *LogReg) Name() string { return "logistic-regression" }

// Fit implements ml.Classifier.
func (m *LogReg) Fit(ctx context.Context, d ml.Dataset, _ int64) error {
	dim, err := checkFit(d)
	if err != nil {
		return err
	}
	lambda, iters := m.Lambda, m.MaxIter
	if lambda <= 0 {
		lambda = 1e-3
	}
	if iters <= 0 {
		iters = 300
	}
	n, k := len(d.Inputs), len(d.Classes)
	sc := fitScaler(d, dim)
	x := mat.NewDense(n, dim, nil)
	for i, in := range d.Inputs {
		sc.apply(x.RawRowView(i), in.Vector)
	}
	nw := dim * k
	z := make([]float64, k)
	// Evaluations cache the last point: L-BFGS asks for the value and the
	// gradient at the same point separately.
	var lastTheta, lastG []float64
	var lastF float64
	eval := func(theta []float64) (float64, []float64) {
		if lastTheta != nil && floats.Equal(theta, lastTheta) {
			return lastF, lastG
		}
		g := make([]float64, nw+k)
		var loss float64
		for i := 0; i < n; i++ {
			xi := x.RawRowView(i)
			for c := range z {
				z[c] = theta[nw+c] + floats.Dot(xi, theta[c*dim:(c+1)*dim])
			}
			lse := floats.LogSumExp(z)
			loss += lse - z[d.Labels[i]]
			for c := range z {
				r := math.Exp(z[c] - lse) // residual P - Y
				if c == d.Labels[i] {
					r--
				}
				floats.AddScaled(g[c*dim:(c+1)*dim], r, xi)
				g[nw+c] += r
			}
		}
		inv := 1 / float64(n)
		floats.Scale(inv, g)
		floats.AddScaled(g[:nw], lambda, theta[:nw])
		f := loss*inv + lambda/2*floats.Dot(theta[:nw], theta[:nw])
		lastTheta, lastF, lastG = append(lastTheta[:0], theta...), f, g
		return f, g
	}
	var cancelled error
	p := optimize.Problem{
		Func: func(theta []float64) float64 { f, _ := eval(theta); return f },
		Grad: func(g, theta []float64) { _, gr := eval(theta); copy(g, gr) },
		Status: func() (optimize.Status, error) {
			if err := ctx.Err(); err != nil {
				cancelled = err
				return optimize.Failure, err
			}
			return optimize.NotTerminated, nil
		},
	}
	settings := &optimize.Settings{
		MajorIterations:   iters,
		GradientThreshold: 1e-6,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-10, Relative: 1e-9, Iterations: 10},
	}
	res, err := optimize.Minimize(p, make([]float64, nw+k), settings, &optimize.LBFGS{})
	if cancelled != nil {
		return cancelled
	}
	if res == nil {
		return fmt.Errorf("logistic regression: %w", err)
	}
	// Otherwise err is a line-search failure close to the optimum (the
	// status says so); the point reached is kept.
	theta := res.X
	for _, v := range theta {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("logistic regression diverged: %w", ml.ErrData)
		}
	}
	m.st = logRegState{Scaler: sc, W: theta[:nw:nw], B: theta[nw:], Dim: dim, K: k, Lambda: lambda,
		Iters: res.Stats.MajorIterations, Message: res.Status.String()}
	return nil
}

// PredictProba implements ml.Classifier.
func (m *LogReg) PredictProba(in ml.Input) ([]float64, error) {
	if err := checkInput(in, m.st.Dim); err != nil {
		return nil, err
	}
	x := m.st.Scaler.apply(nil, in.Vector)
	z := make([]float64, m.st.K)
	for c := range z {
		z[c] = m.st.B[c] + floats.Dot(x, m.st.W[c*m.st.Dim:(c+1)*m.st.Dim])
	}
	return softmax(z), nil
}

// Save implements ml.Classifier.
func (m *LogReg) Save(w io.Writer) error {
	if m.st.Dim == 0 {
		return ErrNotFitted
	}
	return save(w, m.Name(), 1, &m.st)
}

// Load implements ml.Classifier.
func (m *LogReg) Load(r io.Reader) error { return load(r, m.Name(), 1, &m.st) }
