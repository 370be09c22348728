package eval

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Fold is one train/test split: indices into the dataset, ascending.
type Fold struct {
	Train []int `json:"-"`
	Test  []int `json:"-"`
}

// newRand returns a generator determined by seed and a stream number.
func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream^0x5ca1e3a1))
}

// StratifiedKFold splits examples with the given labels into k folds whose
// class proportions match the whole: each class's examples are shuffled
// (seeded) and dealt round-robin over the folds, the dealing continuing from
// one class to the next so fold sizes differ by at most one. The same labels,
// k and seed always give the same folds. A class with fewer than k examples
// is absent from some test folds.
func StratifiedKFold(labels []int, k int, seed int64) ([]Fold, error) {
	if k < 2 || k > len(labels) {
		return nil, fmt.Errorf("%w: k=%d with %d examples", ErrEval, k, len(labels))
	}
	byClass := map[int][]int{}
	for i, y := range labels {
		byClass[y] = append(byClass[y], i)
	}
	classes := make([]int, 0, len(byClass))
	for c := range byClass {
		classes = append(classes, c)
	}
	slices.Sort(classes)
	r := newRand(seed, 1)
	test := make([][]int, k)
	f := 0
	for _, c := range classes {
		idx := byClass[c]
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx {
			test[f] = append(test[f], i)
			f = (f + 1) % k
		}
	}
	folds := make([]Fold, k)
	inTest := make([]int, len(labels))
	for f := range test {
		slices.Sort(test[f])
		for _, i := range test[f] {
			inTest[i] = f
		}
	}
	for f := range folds {
		folds[f].Test = test[f]
		folds[f].Train = make([]int, 0, len(labels)-len(test[f]))
		for i := range labels {
			if inTest[i] != f {
				folds[f].Train = append(folds[f].Train, i)
			}
		}
	}
	return folds, nil
}

// StratifiedSample returns at most n of idx (ascending), keeping each
// label's share: a label with c of the len(idx) examples gets about
// c*n/len(idx) of them, at least one. It returns idx itself when n <= 0 or
// n >= len(idx).
func StratifiedSample(idx, labels []int, n int, seed int64) []int {
	if n <= 0 || n >= len(idx) {
		return idx
	}
	byClass := map[int][]int{}
	for _, i := range idx {
		byClass[labels[i]] = append(byClass[labels[i]], i)
	}
	classes := make([]int, 0, len(byClass))
	for c := range byClass {
		classes = append(classes, c)
	}
	slices.Sort(classes)
	r := newRand(seed, 2)
	var out []int
	for _, c := range classes {
		m := byClass[c]
		r.Shuffle(len(m), func(i, j int) { m[i], m[j] = m[j], m[i] })
		q := max(1, int(float64(len(m))*float64(n)/float64(len(idx))+0.5))
		out = append(out, m[:min(q, len(m))]...)
	}
	slices.Sort(out)
	return out
}
