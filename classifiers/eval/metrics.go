package eval

import (
	"fmt"
	"math"
)

// ClassMetrics are one class's one-vs-rest figures. Precision (recall) is 0
// when nothing was predicted as (belongs to) the class.
type ClassMetrics struct {
	Class     string  `json:"class"`
	Support   int     `json:"support"` // true examples of the class
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	FPR       float64 `json:"fpr"` // others predicted as this class / others
}

// Metrics are the figures of one set of predictions.
type Metrics struct {
	N         int            `json:"n"`
	Accuracy  float64        `json:"accuracy"`
	MacroF1   float64        `json:"macro_f1"`
	PerClass  []ClassMetrics `json:"per_class"`
	Confusion [][]int        `json:"confusion"` // [true][predicted]
	// AUC is the two-class ROC AUC; nil for more classes or when the
	// examples hold only one class (undefined).
	AUC *float64 `json:"auc,omitempty"`
	// FPR is the two-class false-positive rate (class 0 predicted as 1);
	// nil for more classes or when there is no class-0 example.
	FPR *float64 `json:"fpr,omitempty"`
}

// Argmax returns the index of the largest value, the lowest on ties.
func Argmax(p []float64) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

// Confusion counts predictions: m[true][predicted].
func Confusion(yTrue, yPred []int, nClasses int) ([][]int, error) {
	if len(yTrue) != len(yPred) {
		return nil, fmt.Errorf("%w: %d labels, %d predictions", ErrEval, len(yTrue), len(yPred))
	}
	m := make([][]int, nClasses)
	for i := range m {
		m[i] = make([]int, nClasses)
	}
	for i := range yTrue {
		t, p := yTrue[i], yPred[i]
		if t < 0 || t >= nClasses || p < 0 || p >= nClasses {
			return nil, fmt.Errorf("%w: example %d: label %d or prediction %d outside [0,%d)", ErrEval, i, t, p, nClasses)
		}
		m[t][p]++
	}
	return m, nil
}

// Compute returns the metrics of class-probability predictions proba (one
// vector of len(classes) per example) against yTrue.
func Compute(yTrue []int, proba [][]float64, classes []string) (Metrics, error) {
	k := len(classes)
	if k < 2 {
		return Metrics{}, fmt.Errorf("%w: %d classes", ErrEval, k)
	}
	if len(yTrue) != len(proba) {
		return Metrics{}, fmt.Errorf("%w: %d labels, %d predictions", ErrEval, len(yTrue), len(proba))
	}
	pred := make([]int, len(proba))
	for i, p := range proba {
		if len(p) != k {
			return Metrics{}, fmt.Errorf("%w: prediction %d has %d probabilities, want %d", ErrEval, i, len(p), k)
		}
		for _, v := range p {
			if math.IsNaN(v) {
				return Metrics{}, fmt.Errorf("%w: prediction %d has NaN", ErrEval, i)
			}
		}
		pred[i] = Argmax(p)
	}
	cm, err := Confusion(yTrue, pred, k)
	if err != nil {
		return Metrics{}, err
	}
	m := fromConfusion(cm, classes)
	if k == 2 {
		scores := make([]float64, len(proba))
		pos := make([]bool, len(proba))
		for i, p := range proba {
			scores[i], pos[i] = p[1], yTrue[i] == 1
		}
		if auc, err := AUC(scores, pos); err == nil {
			m.AUC = &auc
		}
	}
	return m, nil
}

// fromConfusion derives everything but AUC from a confusion matrix.
func fromConfusion(cm [][]int, classes []string) Metrics {
	k := len(classes)
	m := Metrics{Confusion: cm, PerClass: make([]ClassMetrics, k)}
	correct := 0
	for t := range cm {
		for p, c := range cm[t] {
			m.N += c
			if t == p {
				correct += c
			}
		}
	}
	if m.N > 0 {
		m.Accuracy = float64(correct) / float64(m.N)
	}
	for c := 0; c < k; c++ {
		tp, support, predicted := cm[c][c], 0, 0
		for j := 0; j < k; j++ {
			support += cm[c][j]
			predicted += cm[j][c]
		}
		fp := predicted - tp
		cmx := ClassMetrics{Class: classes[c], Support: support}
		cmx.Precision = ratio(tp, predicted)
		cmx.Recall = ratio(tp, support)
		if cmx.Precision+cmx.Recall > 0 {
			cmx.F1 = 2 * cmx.Precision * cmx.Recall / (cmx.Precision + cmx.Recall)
		}
		cmx.FPR = ratio(fp, m.N-support)
		m.PerClass[c] = cmx
		m.MacroF1 += cmx.F1 / float64(k)
	}
	if k == 2 && cm[0][0]+cm[0][1] > 0 {
		fpr := ratio(cm[0][1], cm[0][0]+cm[0][1])
		m.FPR = &fpr
	}
	return m
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
