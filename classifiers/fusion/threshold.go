package fusion

import (
	"fmt"
	"math"
	"slices"
)

// Threshold rules for stage 1.
const (
	// RuleFPR: the smallest threshold whose validation FPR is <= TargetFPR,
	// i.e. the most sensitive operating point within the FPR budget.
	RuleFPR = "fpr"
	// RuleF1: the threshold of maximum validation F1 (ties: the larger).
	RuleF1 = "f1"
	// RuleYouden: the threshold of maximum TPR-FPR (ties: the larger).
	RuleYouden = "youden"
	// RuleFixed: the threshold Fixed, as given.
	RuleFixed = "fixed"
)

// ThresholdOptions choose how the stage-1 threshold is set. The zero value
// is RuleF1.
type ThresholdOptions struct {
	Rule      string  `json:"rule,omitempty"`
	TargetFPR float64 `json:"target_fpr,omitempty"` // RuleFPR, in [0,1]
	Fixed     float64 `json:"fixed,omitempty"`      // RuleFixed
}

// Threshold is a chosen operating point with the validation figures at it.
// A sample is malware when its fused probability is >= Value.
type Threshold struct {
	Rule      string  `json:"rule"`
	TargetFPR float64 `json:"target_fpr,omitempty"`
	Value     float64 `json:"value"`
	FPR       float64 `json:"fpr"` // validation false-positive rate at Value
	TPR       float64 `json:"tpr"` // validation true-positive rate (recall)
	F1        float64 `json:"f1"`
	Precision float64 `json:"precision"`
}

// SelectThreshold chooses a threshold on validation scores (fused
// probabilities) and labels (true = malicious) by rule. The candidates are
// the distinct scores and one just above the highest (flag nothing), so a
// chosen threshold is always a validation score or that sentinel: with
// ">=" the figures reported are exactly those on the validation data.
// RuleFPR needs negatives; RuleF1 positives; RuleYouden both.
func SelectThreshold(scores []float64, positive []bool, opt ThresholdOptions) (Threshold, error) {
	rule := opt.Rule
	if rule == "" {
		rule = RuleF1
	}
	if len(scores) != len(positive) || len(scores) == 0 {
		return Threshold{}, fmt.Errorf("%w: %d scores, %d labels", ErrData, len(scores), len(positive))
	}
	var nPos, nNeg int
	for i, s := range scores {
		if math.IsNaN(s) {
			return Threshold{}, fmt.Errorf("%w: score %d is NaN", ErrBadScores, i)
		}
		if positive[i] {
			nPos++
		} else {
			nNeg++
		}
	}
	th := Threshold{Rule: rule}
	switch rule {
	case RuleFPR:
		if !(opt.TargetFPR >= 0 && opt.TargetFPR <= 1) {
			return Threshold{}, fmt.Errorf("%w: target FPR %v", ErrOptions, opt.TargetFPR)
		}
		if nNeg == 0 {
			return Threshold{}, fmt.Errorf("%w: FPR rule needs negatives", ErrData)
		}
		th.TargetFPR = opt.TargetFPR
	case RuleF1:
		if nPos == 0 {
			return Threshold{}, fmt.Errorf("%w: F1 rule needs positives", ErrData)
		}
	case RuleYouden:
		if nPos == 0 || nNeg == 0 {
			return Threshold{}, fmt.Errorf("%w: Youden rule needs both classes", ErrData)
		}
	case RuleFixed:
		if math.IsNaN(opt.Fixed) {
			return Threshold{}, fmt.Errorf("%w: fixed threshold NaN", ErrOptions)
		}
		tp, fp := 0, 0
		for i, s := range scores {
			if s >= opt.Fixed {
				if positive[i] {
					tp++
				} else {
					fp++
				}
			}
		}
		th.Value = opt.Fixed
		th.fill(tp, fp, nPos, nNeg)
		return th, nil
	default:
		return Threshold{}, fmt.Errorf("%w: threshold rule %q", ErrOptions, rule)
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpFloat(scores[b], scores[a]) }) // descending
	// Candidate 0: above the highest score, nothing flagged.
	best := Threshold{Rule: rule, TargetFPR: th.TargetFPR, Value: math.Nextafter(scores[idx[0]], math.Inf(1))}
	best.fill(0, 0, nPos, nNeg)
	bestJ := best.TPR - best.FPR
	tp, fp := 0, 0
	for i := 0; i < len(idx); {
		v := scores[idx[i]]
		for ; i < len(idx) && scores[idx[i]] == v; i++ {
			if positive[idx[i]] {
				tp++
			} else {
				fp++
			}
		}
		c := Threshold{Rule: rule, TargetFPR: th.TargetFPR, Value: v}
		c.fill(tp, fp, nPos, nNeg)
		switch rule {
		case RuleFPR:
			if c.FPR > opt.TargetFPR {
				return best, nil // FPR only grows as the threshold falls
			}
			best = c
		case RuleF1:
			if c.F1 > best.F1 {
				best = c
			}
		case RuleYouden:
			if j := c.TPR - c.FPR; j > bestJ {
				best, bestJ = c, j
			}
		}
	}
	return best, nil
}

// fill sets the rates from counts at the threshold.
func (t *Threshold) fill(tp, fp, nPos, nNeg int) {
	t.TPR = ratio(tp, nPos)
	t.FPR = ratio(fp, nNeg)
	t.Precision = ratio(tp, tp+fp)
	t.F1 = ratio(2*tp, 2*tp+fp+(nPos-tp))
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
