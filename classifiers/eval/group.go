package eval

import (
	"fmt"
	"slices"
)

// StratifiedGroupKFold splits examples into k folds so that every group's
// examples fall in one test fold (a technique's or a program's records are
// never on both sides of a split), with class proportions as even across
// folds as whole groups allow. Groups are dealt largest first (ties in a
// seeded random order), each to the fold that keeps the per-class counts
// most even (the sum over classes of the variance of the folds' class
// shares), ties to the smaller fold. The same inputs always give the same
// folds. It needs at least k groups; a fold can hold only one class when
// groups are few or single-class.
func StratifiedGroupKFold(labels []int, groups []string, k int, seed int64) ([]Fold, error) {
	if len(groups) != len(labels) {
		return nil, fmt.Errorf("%w: %d groups for %d labels", ErrEval, len(groups), len(labels))
	}
	members := map[string][]int{}
	var names []string
	for i, g := range groups {
		if _, ok := members[g]; !ok {
			names = append(names, g)
		}
		members[g] = append(members[g], i)
	}
	if k < 2 || k > len(names) {
		return nil, fmt.Errorf("%w: k=%d with %d groups", ErrEval, k, len(names))
	}
	nClass := 0
	for _, y := range labels {
		nClass = max(nClass, y+1)
	}
	total := make([]float64, nClass)
	for _, y := range labels {
		total[y]++
	}
	slices.Sort(names)
	r := newRand(seed, 3)
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	slices.SortStableFunc(names, func(a, b string) int { return len(members[b]) - len(members[a]) })

	counts := make([][]float64, k) // fold × class
	for f := range counts {
		counts[f] = make([]float64, nClass)
	}
	size := make([]int, k)
	assign := make([]int, len(labels))
	spread := func() float64 {
		var s float64
		for c := 0; c < nClass; c++ {
			if total[c] == 0 {
				continue
			}
			var mean, sq float64
			for f := 0; f < k; f++ {
				v := counts[f][c] / total[c]
				mean += v
				sq += v * v
			}
			mean /= float64(k)
			s += sq/float64(k) - mean*mean
		}
		return s
	}
	for _, g := range names {
		gc := make([]float64, nClass)
		for _, i := range members[g] {
			gc[labels[i]]++
		}
		best, bestSpread := -1, 0.0
		for f := 0; f < k; f++ {
			for c := range gc {
				counts[f][c] += gc[c]
			}
			s := spread()
			for c := range gc {
				counts[f][c] -= gc[c]
			}
			if best < 0 || s < bestSpread-1e-12 || (s <= bestSpread+1e-12 && size[f] < size[best]) {
				best, bestSpread = f, s
			}
		}
		for c := range gc {
			counts[best][c] += gc[c]
		}
		size[best] += len(members[g])
		for _, i := range members[g] {
			assign[i] = best
		}
	}
	folds := make([]Fold, k)
	for i, f := range assign {
		folds[f].Test = append(folds[f].Test, i)
		for o := range folds {
			if o != f {
				folds[o].Train = append(folds[o].Train, i)
			}
		}
	}
	return folds, nil
}
