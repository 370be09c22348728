package classical

import (
	"context"
	"io"
	"math"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// GaussianNB is Gaussian naive Bayes: per class, independent normal
// features with maximum-likelihood means and variances, plus a smoothing
// variance of VarSmoothing times the largest feature variance (as
// scikit-learn), and class priors from the training frequencies. It has no
// randomness.
type GaussianNB struct {
	VarSmoothing float64 // 0 means 1e-9

	st nbState
}

type nbState struct {
	LogPrior []float64   // per class; -Inf for a class absent from training
	Mean     [][]float64 // class x feature
	Var      [][]float64
	Dim      int
}

// NewGaussianNB returns a Gaussian naive Bayes model with default settings.
func NewGaussianNB() ml.Classifier { return &GaussianNB{} }

// Name implements ml.Classifier.
func (m *GaussianNB) Name() string { return "gaussian-nb" }

// Fit implements ml.Classifier.
func (m *GaussianNB) Fit(_ context.Context, d ml.Dataset, _ int64) error {
	dim, err := checkFit(d)
	if err != nil {
		return err
	}
	eps := m.VarSmoothing
	if eps <= 0 {
		eps = 1e-9
	}
	k := len(d.Classes)
	st := nbState{Dim: dim, LogPrior: make([]float64, k), Mean: make([][]float64, k), Var: make([][]float64, k)}
	count := make([]float64, k)
	for c := 0; c < k; c++ {
		st.Mean[c], st.Var[c] = make([]float64, dim), make([]float64, dim)
	}
	for i, in := range d.Inputs {
		c := d.Labels[i]
		count[c]++
		for j, v := range in.Vector {
			st.Mean[c][j] += v
		}
	}
	for c := range st.Mean {
		for j := range st.Mean[c] {
			st.Mean[c][j] /= max(count[c], 1)
		}
	}
	for i, in := range d.Inputs {
		c := d.Labels[i]
		for j, v := range in.Vector {
			st.Var[c][j] += (v - st.Mean[c][j]) * (v - st.Mean[c][j])
		}
	}
	// The smoothing term scales with the overall feature variances.
	all := fitScaler(d, dim)
	var maxVar float64
	for _, s := range all.Std {
		maxVar = max(maxVar, s*s)
	}
	smooth := eps * maxVar
	if smooth == 0 {
		smooth = eps
	}
	for c := range st.Var {
		st.LogPrior[c] = math.Log(count[c] / float64(len(d.Inputs)))
		for j := range st.Var[c] {
			st.Var[c][j] = st.Var[c][j]/max(count[c], 1) + smooth
		}
	}
	m.st = st
	return nil
}

// PredictProba implements ml.Classifier.
func (m *GaussianNB) PredictProba(in ml.Input) ([]float64, error) {
	if err := checkInput(in, m.st.Dim); err != nil {
		return nil, err
	}
	z := make([]float64, len(m.st.LogPrior))
	for c := range z {
		s := m.st.LogPrior[c]
		for j, v := range in.Vector {
			dv := v - m.st.Mean[c][j]
			s -= 0.5 * (math.Log(2*math.Pi*m.st.Var[c][j]) + dv*dv/m.st.Var[c][j])
		}
		z[c] = s
	}
	return softmax(z), nil
}

// Save implements ml.Classifier.
func (m *GaussianNB) Save(w io.Writer) error {
	if m.st.Dim == 0 {
		return ErrNotFitted
	}
	return save(w, m.Name(), 1, &m.st)
}

// Load implements ml.Classifier.
func (m *GaussianNB) Load(r io.Reader) error { return load(r, m.Name(), 1, &m.st) }
