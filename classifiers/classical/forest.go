package classical

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// RandomForest is Breiman's random forest: NTrees CART trees, each grown on
// a bootstrap sample (n draws with replacement) trying MaxFeatures random
// features per split, predicting the mean of the trees' leaf frequencies.
// Tree t draws from a generator seeded by (seed, t), so the forest does not
// depend on Workers, the bound on trees trained at once.
type RandomForest struct {
	NTrees      int // 0 means 100
	MaxFeatures int // per split; 0 means round(sqrt(features))
	MaxDepth    int // 0: unlimited
	MinLeaf     int // 0 means 1
	Workers     int // concurrent trees; 0 means GOMAXPROCS

	st forestState
}

type forestState struct {
	Trees []treeState
	Dim   int
	K     int
}

// NewRandomForest returns a factory for forests of n trees (0: 100).
func NewRandomForest(n int) ml.Factory {
	return func() ml.Classifier { return &RandomForest{NTrees: n} }
}

// Name implements ml.Classifier.
func (m *RandomForest) Name() string { return "random-forest" }

// Fit implements ml.Classifier.
func (m *RandomForest) Fit(ctx context.Context, d ml.Dataset, seed int64) error {
	dim, err := checkFit(d)
	if err != nil {
		return err
	}
	nt := m.NTrees
	if nt <= 0 {
		nt = 100
	}
	p := treeParams{maxDepth: m.MaxDepth, minLeaf: m.MinLeaf, maxFeatures: m.MaxFeatures}
	if p.maxFeatures <= 0 {
		p.maxFeatures = max(1, int(math.Round(math.Sqrt(float64(dim)))))
	}
	workers := m.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	x := make([][]float64, len(d.Inputs))
	for i, in := range d.Inputs {
		x[i] = in.Vector
	}
	n := len(x)
	trees := make([]treeState, nt)
	errs := make([]error, nt)
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, nt); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range next {
				rng := newRand(seed, uint64(t)+1)
				idx := make([]int, n)
				for i := range idx {
					idx[i] = rng.IntN(n)
				}
				trees[t], errs[t] = growTree(ctx, x, d.Labels, idx, len(d.Classes), p, rng)
			}
		}()
	}
	for t := 0; t < nt && ctx.Err() == nil; t++ {
		next <- t
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for t, err := range errs {
		if err != nil {
			return fmt.Errorf("tree %d: %w", t, err)
		}
	}
	m.st = forestState{Trees: trees, Dim: dim, K: len(d.Classes)}
	return nil
}

// PredictProba implements ml.Classifier.
func (m *RandomForest) PredictProba(in ml.Input) ([]float64, error) {
	if err := checkInput(in, m.st.Dim); err != nil {
		return nil, err
	}
	p := make([]float64, m.st.K)
	for t := range m.st.Trees {
		for c, v := range m.st.Trees[t].leaf(in.Vector) {
			p[c] += v
		}
	}
	for c := range p {
		p[c] /= float64(len(m.st.Trees))
	}
	return p, nil
}

// Save implements ml.Classifier.
func (m *RandomForest) Save(w io.Writer) error {
	if m.st.Dim == 0 {
		return ErrNotFitted
	}
	return save(w, m.Name(), 1, &m.st)
}

// Load implements ml.Classifier.
func (m *RandomForest) Load(r io.Reader) error { return load(r, m.Name(), 1, &m.st) }
