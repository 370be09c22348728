package data

import (
	"context"
	"fmt"
	"math"

	"github.com/scalemalnet/scalemalnet/classifiers/eval"
	"github.com/scalemalnet/scalemalnet/classifiers/ml"
	"github.com/scalemalnet/scalemalnet/featurizers/callseq"
)

// NGramOptions configures n-gram count vectors.
type NGramOptions struct {
	Ns          []int // gram lengths, concatenated in this order; nil means {1, 2}
	MaxFeatures int   // per length: the most frequent in training; 0 = all
	MinCount    int   // a gram needs this many training occurrences
	TFIDF       bool  // callseq's TF-IDF weighting (unit-length per length)
	// Log replaces each count c by ln(1+c), taming the long sequences'
	// counts for the scale-sensitive models (trees are unaffected).
	Log bool
}

// NGramFeaturizer turns call sequences into concatenated n-gram vectors
// with columns fitted on training sequences only (callseq.FitNGrams).
type NGramFeaturizer struct {
	opt    NGramOptions
	models []*callseq.NGramModel
}

// FitNGrams fits the n-gram columns on training sequences.
func FitNGrams(train [][]string, opt NGramOptions) (*NGramFeaturizer, error) {
	if opt.Ns == nil {
		opt.Ns = []int{1, 2}
	}
	f := &NGramFeaturizer{opt: opt}
	for _, n := range opt.Ns {
		m, err := callseq.FitNGrams(train, callseq.NGramOptions{N: n, MaxFeatures: opt.MaxFeatures, MinCount: opt.MinCount, TFIDF: opt.TFIDF})
		if err != nil {
			return nil, err
		}
		f.models = append(f.models, m)
	}
	return f, nil
}

// Len is the vector length.
func (f *NGramFeaturizer) Len() int {
	n := 0
	for _, m := range f.models {
		n += m.Len()
	}
	return n
}

// Schema returns the column names.
func (f *NGramFeaturizer) Schema() []string {
	var s []string
	for _, m := range f.models {
		s = append(s, m.Schema()...)
	}
	return s
}

// Transform returns the vector of one sequence; grams unseen in training
// are ignored.
func (f *NGramFeaturizer) Transform(calls []string) []float64 {
	v := make([]float64, 0, f.Len())
	for _, m := range f.models {
		x, _ := m.Transform(calls)
		v = append(v, x...)
	}
	if f.opt.Log {
		for i, c := range v {
			v[i] = math.Log1p(c)
		}
	}
	return v
}

// NGramPrepare returns an eval.Prepare that fits an NGramFeaturizer on the
// training fold and turns both folds into n-gram vectors: no gram is chosen
// by its count in the test fold.
func (s *SeqSet) NGramPrepare(opt NGramOptions) eval.Prepare {
	return func(ctx context.Context, train, test ml.Dataset) (ml.Dataset, ml.Dataset, error) {
		seqs := make([][]string, len(train.Inputs))
		for i, in := range train.Inputs {
			seqs[i] = s.Calls(in)
		}
		f, err := FitNGrams(seqs, opt)
		if err != nil {
			return ml.Dataset{}, ml.Dataset{}, fmt.Errorf("n-grams: %w", err)
		}
		if f.Len() == 0 {
			return ml.Dataset{}, ml.Dataset{}, fmt.Errorf("%w: no n-grams in the training fold", ml.ErrData)
		}
		tr := WithInputs(train, func(i int) ml.Input { return ml.Input{Vector: f.Transform(seqs[i])} })
		seqs = nil
		if err := ctx.Err(); err != nil {
			return ml.Dataset{}, ml.Dataset{}, err
		}
		te := WithInputs(test, func(i int) ml.Input { return ml.Input{Vector: f.Transform(s.Calls(test.Inputs[i]))} })
		return tr, te, nil
	}
}

// withInputs copies d with each input replaced by fn(i).
// WithInputs returns d with its inputs replaced by fn(i), labels kept.
func WithInputs(d ml.Dataset, fn func(i int) ml.Input) ml.Dataset {
	out := ml.Dataset{Labels: d.Labels, Classes: d.Classes, IDs: d.IDs, Inputs: make([]ml.Input, len(d.Inputs))}
	for i := range d.Inputs {
		out.Inputs[i] = fn(i)
	}
	return out
}
