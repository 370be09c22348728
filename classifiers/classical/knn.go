package classical

import (
	"context"
	"io"
	"slices"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// KNN is k-nearest neighbours: Euclidean distance on standardised features,
// probabilities the class shares among the K nearest training examples
// (distance ties broken by training order). It has no randomness.
type KNN struct {
	K int // neighbours; 0 means 5

	st knnState
}

type knnState struct {
	Scaler Scaler
	X      [][]float64 // standardised training vectors
	Y      []int
	K      int
	Dim    int
	NClass int
}

// NewKNN returns a kNN model with k neighbours (0: 5).
func NewKNN(k int) ml.Factory { return func() ml.Classifier { return &KNN{K: k} } }

// Name implements ml.Classifier.
func (m *KNN) Name() string { return "knn" }

// Fit implements ml.Classifier: it stores the standardised training set.
func (m *KNN) Fit(_ context.Context, d ml.Dataset, _ int64) error {
	dim, err := checkFit(d)
	if err != nil {
		return err
	}
	k := m.K
	if k <= 0 {
		k = 5
	}
	sc := fitScaler(d, dim)
	st := knnState{Scaler: sc, K: min(k, len(d.Inputs)), Dim: dim, NClass: len(d.Classes), Y: slices.Clone(d.Labels)}
	st.X = make([][]float64, len(d.Inputs))
	for i, in := range d.Inputs {
		st.X[i] = sc.apply(nil, in.Vector)
	}
	m.st = st
	return nil
}

// PredictProba implements ml.Classifier.
func (m *KNN) PredictProba(in ml.Input) ([]float64, error) {
	if err := checkInput(in, m.st.Dim); err != nil {
		return nil, err
	}
	x := m.st.Scaler.apply(nil, in.Vector)
	type nb struct {
		d float64
		i int
	}
	// Keep the K best in a small sorted slice (K is small).
	best := make([]nb, 0, m.st.K+1)
	for i, t := range m.st.X {
		var d2 float64
		for j, v := range t {
			dv := v - x[j]
			d2 += dv * dv
			if len(best) == m.st.K && d2 > best[len(best)-1].d {
				break
			}
		}
		if len(best) == m.st.K && d2 >= best[len(best)-1].d {
			continue
		}
		pos, _ := slices.BinarySearchFunc(best, d2, func(a nb, d float64) int {
			if a.d <= d {
				return -1
			}
			return 1
		})
		best = slices.Insert(best, pos, nb{d2, i})
		if len(best) > m.st.K {
			best = best[:m.st.K]
		}
	}
	p := make([]float64, m.st.NClass)
	for _, b := range best {
		p[m.st.Y[b.i]] += 1 / float64(len(best))
	}
	return p, nil
}

// Save implements ml.Classifier.
func (m *KNN) Save(w io.Writer) error {
	if m.st.Dim == 0 {
		return ErrNotFitted
	}
	return save(w, m.Name(), 1, &m.st)
}

// Load implements ml.Classifier.
func (m *KNN) Load(r io.Reader) error { return load(r, m.Name(), 1, &m.st) }
