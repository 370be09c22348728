package eval

import (
	"fmt"
	"math"
	"sort"
)

// AUC returns the exact area under the ROC curve of scores against the
// positive flags: the Mann-Whitney U statistic over (positives x negatives),
// with tied scores given their average rank (a tied positive-negative pair
// counts one half). It is an error (wrapping ErrEval) when there are no
// positives or no negatives, or a score is NaN.
func AUC(scores []float64, positive []bool) (float64, error) {
	if len(scores) != len(positive) {
		return 0, fmt.Errorf("%w: %d scores, %d flags", ErrEval, len(scores), len(positive))
	}
	var nPos, nNeg float64
	for i, s := range scores {
		if math.IsNaN(s) {
			return 0, fmt.Errorf("%w: score %d is NaN", ErrEval, i)
		}
		if positive[i] {
			nPos++
		} else {
			nNeg++
		}
	}
	if nPos == 0 || nNeg == 0 {
		return 0, fmt.Errorf("%w: AUC needs both classes (%v positive, %v negative)", ErrEval, nPos, nNeg)
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	// Sum the (1-based, tie-averaged) ranks of the positives.
	var rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avg := float64(i+1+j) / 2 // mean of ranks i+1..j
		for t := i; t < j; t++ {
			if positive[idx[t]] {
				rankSum += avg
			}
		}
		i = j
	}
	u := rankSum - nPos*(nPos+1)/2
	return u / (nPos * nNeg), nil
}
