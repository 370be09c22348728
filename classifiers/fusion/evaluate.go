package fusion

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/scalemalnet/scalemalnet/classifiers/eval"
)

// Kinds of an EvalEntry.
const (
	KindClassifier = "classifier" // one detection classifier alone
	KindFusion     = "fusion"     // a fusion method
)

// EvalOptions tune Evaluate.
type EvalOptions struct {
	K       int      `json:"k"`    // stratified folds, >= 2; 0 means 5
	Seed    int64    `json:"seed"` // fold seed
	Methods []string `json:"methods,omitempty"`
	// Options are the fit options (calibration, threshold, ...) of every
	// method; Options.Method is ignored. Single classifiers use the same
	// calibration and threshold rule.
	Options Options `json:"options"`
	// Group, when set, names each record's group (by its ID): folds then
	// keep a group's records together (eval.StratifiedGroupKFold), as the
	// sandbox corpus's models were cross-validated.
	Group func(id string) string `json:"-"`
	// Decisive, when set, names the records whose decisive evidence makes
	// the verdict malware whatever the fused probability (a critical
	// behaviour signature: see DecisiveSuffix). Each fusion method is then
	// also measured with that rule applied, as an entry named
	// method+DecisiveSuffix. The evidence is fixed per record (rules are not
	// fitted), so applying it per fold needs no validation part.
	Decisive func(id string) bool `json:"-"`
}

// DecisiveSuffix ends the name of a fusion entry measured with the
// decisive-evidence rule (EvalOptions.Decisive).
const DecisiveSuffix = " + decisive"

// Prediction is one record's out-of-fold prediction by an entry.
type Prediction struct {
	ID          string
	Malicious   bool    // the record's truth
	Probability float64 // NaN: no vote
	Predicted   bool
}

// Scores are stage-1 figures on test records at the threshold chosen on
// validation. A classifier alone predicts benign where it gave no usable
// vote (as if deployed alone); Coverage is the share of records it voted
// on, and AUC is over those records only.
type Scores struct {
	N         int      `json:"n"`
	TP        int      `json:"tp"`
	FP        int      `json:"fp"`
	TN        int      `json:"tn"`
	FN        int      `json:"fn"`
	Accuracy  float64  `json:"accuracy"`
	Precision float64  `json:"precision"`
	Recall    float64  `json:"recall"`
	F1        float64  `json:"f1"`
	FPR       float64  `json:"fpr"`
	AUC       *float64 `json:"auc,omitempty"`
	Coverage  float64  `json:"coverage"`
	Threshold float64  `json:"threshold,omitempty"` // per fold
	// FamilyAccuracy is the stage-2 top-1 accuracy over malicious test
	// records with a known family that stage 1 flagged and that got a
	// family (FamilyN of them); fusion only.
	FamilyAccuracy float64 `json:"family_accuracy,omitempty"`
	FamilyN        int     `json:"family_n,omitempty"`
	Note           string  `json:"note,omitempty"` // why a fold was not scored
}

// EvalEntry is one classifier's or method's results.
type EvalEntry struct {
	Name  string   `json:"name"`
	Kind  string   `json:"kind"`
	Folds []Scores `json:"folds"`
	// Mean and sample standard deviation over the scored folds.
	Accuracy  eval.Stat `json:"accuracy"`
	Precision eval.Stat `json:"precision"`
	Recall    eval.Stat `json:"recall"`
	F1        eval.Stat `json:"f1"`
	FPR       eval.Stat `json:"fpr"`
	AUC       eval.Stat `json:"auc"`
	// Pooled: the confusion counts of all folds together (AUC over pooled
	// probabilities of differently-fitted models: read it as a guide).
	Pooled Scores `json:"pooled"`
	// Predictions are every record's out-of-fold prediction (for
	// breakdowns by group); not serialised.
	Predictions []Prediction `json:"-"`
}

// EvalReport is the outcome of Evaluate.
type EvalReport struct {
	K          int         `json:"k"`
	Seed       int64       `json:"seed"`
	N          int         `json:"n"`
	NMalicious int         `json:"n_malicious"`
	Entries    []EvalEntry `json:"entries"` // classifiers (sorted), then methods in order
}

// Entry returns the entry named name, or nil.
func (r *EvalReport) Entry(name string) *EvalEntry {
	for i := range r.Entries {
		if r.Entries[i].Name == name {
			return &r.Entries[i]
		}
	}
	return nil
}

// Evaluate measures every detection classifier alone and every fusion
// method on the same records by stratified K-fold (stratified on
// Malicious, seeded): for each fold, calibration, fusion and threshold are
// fitted on the other folds (the validation part) only and measured on the
// fold (the test part).
func Evaluate(records []Record, opt EvalOptions) (EvalReport, error) {
	if opt.K == 0 {
		opt.K = 5
	}
	methods := opt.Methods
	if len(methods) == 0 {
		methods = Methods
	}
	for _, mt := range methods {
		if !slices.Contains(Methods, mt) {
			return EvalReport{}, fmt.Errorf("%w: method %q", ErrOptions, mt)
		}
	}
	labels := make([]int, len(records))
	y := make([]bool, len(records))
	rep := EvalReport{K: opt.K, Seed: opt.Seed, N: len(records)}
	parsed := make([]parsedVotes, len(records))
	detNames := map[string]bool{}
	for i, r := range records {
		y[i] = r.Malicious
		if r.Malicious {
			labels[i] = 1
			rep.NMalicious++
		}
		pv, err := parseVotes(r.Votes)
		if err != nil {
			return EvalReport{}, fmt.Errorf("record %d (%s): %w", i, r.ID, err)
		}
		parsed[i] = pv
		for n := range pv.det {
			detNames[n] = true
		}
	}
	var folds []eval.Fold
	var err error
	if opt.Group != nil {
		groups := make([]string, len(records))
		for i, r := range records {
			groups[i] = opt.Group(r.ID)
		}
		folds, err = eval.StratifiedGroupKFold(labels, groups, opt.K, opt.Seed)
	} else {
		folds, err = eval.StratifiedKFold(labels, opt.K, opt.Seed)
	}
	if err != nil {
		return EvalReport{}, fmt.Errorf("%w: %w", ErrOptions, err)
	}
	classifiers := sortedKeys(detNames)
	nm := len(methods)
	if opt.Decisive != nil {
		nm *= 2 // each method, then each method with the decisive rule
	}
	accs := make([]evalAcc, len(classifiers)+nm)
	for f, fold := range folds {
		val := subset(records, fold.Train)
		test := fold.Test
		var base *Model
		for k, mt := range methods {
			o := opt.Options
			o.Method = mt
			m, err := Fit(val, o)
			if err != nil {
				return EvalReport{}, fmt.Errorf("fold %d: %s: %w", f, mt, err)
			}
			if base == nil {
				base = m
			}
			prob := make([]float64, len(test))
			pred := make([]bool, len(test))
			var famHits, famN int
			for j, i := range test {
				v, err := m.Predict(records[i].Votes)
				if err != nil && !errors.Is(err, ErrNoVotes) {
					return EvalReport{}, fmt.Errorf("fold %d: %s: record %d: %w", f, mt, i, err)
				}
				if err != nil {
					prob[j] = math.NaN()
					continue
				}
				prob[j], pred[j] = v.Probability, v.Malicious
				if records[i].Malicious && records[i].Family != "" && v.Family != "" {
					famN++
					if v.Family == records[i].Family {
						famHits++
					}
				}
			}
			s := score(pred, prob, pick(y, test))
			s.Threshold = m.Threshold.Value
			s.FamilyN, s.FamilyAccuracy = famN, ratio(famHits, famN)
			a := &accs[len(classifiers)+k]
			a.folds = append(a.folds, s)
			a.prob, a.pred, a.ys = append(a.prob, prob...), append(a.pred, pred...), append(a.ys, pick(y, test)...)
			a.idx = append(a.idx, test...)
			if opt.Decisive != nil {
				pd := slices.Clone(pred)
				for j, i := range test {
					pd[j] = pd[j] || opt.Decisive(records[i].ID)
				}
				sd := score(pd, prob, pick(y, test))
				sd.Threshold = s.Threshold
				d := &accs[len(classifiers)+len(methods)+k]
				d.folds = append(d.folds, sd)
				d.prob, d.pred, d.ys = append(d.prob, prob...), append(d.pred, pd...), append(d.ys, pick(y, test)...)
				d.idx = append(d.idx, test...)
			}
		}
		for k, name := range classifiers {
			a := &accs[k]
			s := singleScores(base, name, parsed, y, fold.Train, test, opt.Options.Threshold, a)
			a.folds = append(a.folds, s)
		}
	}
	for k := range accs {
		e := EvalEntry{Kind: KindClassifier}
		if k < len(classifiers) {
			e.Name = classifiers[k]
		} else if m := k - len(classifiers); m < len(methods) {
			e.Name, e.Kind = methods[m], KindFusion
		} else {
			e.Name, e.Kind = methods[m-len(methods)]+DecisiveSuffix, KindFusion
		}
		e.Folds = accs[k].folds
		var ac, pr, rc, f1, fpr, auc []float64
		for _, s := range e.Folds {
			if s.Note != "" {
				continue
			}
			ac, pr, rc = append(ac, s.Accuracy), append(pr, s.Precision), append(rc, s.Recall)
			f1, fpr = append(f1, s.F1), append(fpr, s.FPR)
			if s.AUC != nil {
				auc = append(auc, *s.AUC)
			}
		}
		e.Accuracy, e.Precision, e.Recall = eval.MeanStd(ac), eval.MeanStd(pr), eval.MeanStd(rc)
		e.F1, e.FPR, e.AUC = eval.MeanStd(f1), eval.MeanStd(fpr), eval.MeanStd(auc)
		e.Pooled = score(accs[k].pred, accs[k].prob, accs[k].ys)
		for j, i := range accs[k].idx {
			e.Predictions = append(e.Predictions, Prediction{ID: records[i].ID, Malicious: accs[k].ys[j],
				Probability: accs[k].prob[j], Predicted: accs[k].pred[j]})
		}
		rep.Entries = append(rep.Entries, e)
	}
	return rep, nil
}

// singleScores scores one detection classifier alone on a fold: its
// calibrator from base (fitted on the validation part), a threshold chosen
// by rule on its calibrated validation probabilities, benign where it gave
// no vote. It appends its test predictions to a for pooling.
func singleScores(base *Model, name string, parsed []parsedVotes, y []bool, valIdx, testIdx []int, rule ThresholdOptions, a *evalAcc) Scores {
	di := slices.IndexFunc(base.Detectors, func(d Detector) bool { return d.Name == name })
	if di < 0 {
		return Scores{Note: "no usable vote in the validation part"}
	}
	cal := base.Detectors[di].Calibrator
	var vs []float64
	var vy []bool
	for _, i := range valIdx {
		if p, ok := parsed[i].det[name]; ok {
			vs = append(vs, cal.Apply(p))
			vy = append(vy, y[i])
		}
	}
	th, err := SelectThreshold(vs, vy, rule)
	if err != nil {
		return Scores{Note: err.Error()}
	}
	prob := make([]float64, len(testIdx))
	pred := make([]bool, len(testIdx))
	for j, i := range testIdx {
		prob[j] = math.NaN()
		if p, ok := parsed[i].det[name]; ok {
			prob[j] = cal.Apply(p)
			pred[j] = prob[j] >= th.Value
		}
	}
	ty := pick(y, testIdx)
	s := score(pred, prob, ty)
	s.Threshold = th.Value
	a.prob, a.pred, a.ys = append(a.prob, prob...), append(a.pred, pred...), append(a.ys, ty...)
	a.idx = append(a.idx, testIdx...)
	return s
}

// evalAcc accumulates one entry's folds and pooled predictions.
type evalAcc struct {
	folds []Scores
	prob  []float64
	pred  []bool
	ys    []bool
	idx   []int // record index of each prediction
}

func subset(records []Record, idx []int) []Record {
	out := make([]Record, len(idx))
	for j, i := range idx {
		out[j] = records[i]
	}
	return out
}

func pick(y []bool, idx []int) []bool {
	out := make([]bool, len(idx))
	for j, i := range idx {
		out[j] = y[i]
	}
	return out
}

// score computes the figures of predictions pred (prob NaN = no vote).
func score(pred []bool, prob []float64, y []bool) Scores {
	s := Scores{N: len(y)}
	var ps []float64
	var py []bool
	for i := range y {
		switch {
		case pred[i] && y[i]:
			s.TP++
		case pred[i]:
			s.FP++
		case y[i]:
			s.FN++
		default:
			s.TN++
		}
		if !math.IsNaN(prob[i]) {
			ps = append(ps, prob[i])
			py = append(py, y[i])
		}
	}
	s.Accuracy = ratio(s.TP+s.TN, s.N)
	s.Precision = ratio(s.TP, s.TP+s.FP)
	s.Recall = ratio(s.TP, s.TP+s.FN)
	s.F1 = ratio(2*s.TP, 2*s.TP+s.FP+s.FN)
	s.FPR = ratio(s.FP, s.FP+s.TN)
	s.Coverage = ratio(len(ps), s.N)
	if auc, err := eval.AUC(ps, py); err == nil {
		s.AUC = &auc
	}
	return s
}
