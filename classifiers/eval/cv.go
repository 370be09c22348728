package eval

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// Prepare turns a fold's raw training and test sets into what the model
// reads, fitting anything it needs (a vocabulary, an n-gram list, a scaler)
// on train only, so nothing leaks from the test fold.
type Prepare func(ctx context.Context, train, test ml.Dataset) (ml.Dataset, ml.Dataset, error)

// Options tunes Run. The zero value of every field but K is a sensible
// default.
type Options struct {
	K    int   // folds, >= 2
	Seed int64 // split seed; fold f's model is trained with Seed+f
	// NoDedup skips deduplication (the dataset is already deduplicated);
	// DedupOptions applies otherwise.
	NoDedup      bool
	DedupOptions DedupOptions
	// Prepare, when set, is applied to each fold's (train, test) pair.
	Prepare Prepare
	// MaxTrain > 0 trains each fold on a stratified seeded subsample of at
	// most MaxTrain training examples (for slow models); the test fold is
	// never subsampled.
	MaxTrain int
	// Workers bounds how many folds run at once; 0 means 1 (models may be
	// concurrent themselves). Results do not depend on it.
	Workers int
}

// FoldReport is one fold's outcome.
type FoldReport struct {
	Fold         int     `json:"fold"`
	NTrain       int     `json:"n_train"`
	NTest        int     `json:"n_test"`
	TrainSeconds float64 `json:"train_seconds"`
	TestSeconds  float64 `json:"test_seconds"` // prediction time
	Metrics      Metrics `json:"metrics"`
}

// Stat is a mean and sample standard deviation over the folds where a
// figure is defined (N of them).
type Stat struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	N    int     `json:"n"`
}

// Summary holds the fold statistics of the headline figures.
type Summary struct {
	Accuracy Stat  `json:"accuracy"`
	MacroF1  Stat  `json:"macro_f1"`
	AUC      *Stat `json:"auc,omitempty"` // two-class, folds where defined
	FPR      *Stat `json:"fpr,omitempty"` // two-class
}

// CVReport is the outcome of a cross-validation.
type CVReport struct {
	Model    string       `json:"model"`
	Dataset  string       `json:"dataset,omitempty"` // set by the caller
	Classes  []string     `json:"classes"`
	K        int          `json:"k"`
	Seed     int64        `json:"seed"`
	N        int          `json:"n"`     // examples after dedup
	Dedup    *DedupReport `json:"dedup"` // nil when NoDedup
	MaxTrain int          `json:"max_train,omitempty"`
	// Groups is the number of groups when the folds kept groups whole
	// (StratifiedGroupKFold); 0 for plain stratified folds.
	Groups  int          `json:"groups,omitempty"`
	Folds   []FoldReport `json:"folds"`
	Summary Summary      `json:"summary"`
	// Pooled are the metrics of all folds' predictions together (AUC over
	// pooled scores mixes differently-trained models: read it as a guide).
	Pooled  Metrics `json:"pooled"`
	Seconds float64 `json:"seconds"`
	// OOF are the out-of-fold predictions, one per example of the
	// cross-validated data (after deduplication), in data order: each
	// from the model of the fold that held the example out, so none comes
	// from a model trained on its example. Not serialised.
	OOF []Prediction `json:"-"`
}

// Prediction is one example's out-of-fold prediction.
type Prediction struct {
	Index int      // position in the cross-validated (deduplicated) data
	ID    string   // the example's ID, "" when the data has none
	Key   [32]byte // InputKey of the example's raw input (before Prepare)
	Label int      // true class index
	Fold  int      // the fold that held it out
	Proba []float64
}

// CrossValidate runs seeded stratified k-fold cross-validation of the
// models factory makes on d, deduplicated first (conflicting inputs
// removed): Run with Options{K: k, Seed: seed}.
func CrossValidate(ctx context.Context, factory ml.Factory, d ml.Dataset, k int, seed int64) (CVReport, error) {
	return Run(ctx, factory, d, Options{K: k, Seed: seed})
}

// Run is CrossValidate with options.
func Run(ctx context.Context, factory ml.Factory, d ml.Dataset, opt Options) (CVReport, error) {
	start := time.Now()
	if err := d.Validate(); err != nil {
		return CVReport{}, err
	}
	rep := CVReport{Model: factory().Name(), Classes: d.Classes, K: opt.K, Seed: opt.Seed, MaxTrain: opt.MaxTrain}
	if !opt.NoDedup {
		dd, dr, err := Dedup(d, opt.DedupOptions)
		if err != nil {
			return CVReport{}, err
		}
		d, rep.Dedup = dd, &dr
	}
	rep.N = len(d.Inputs)
	var folds []Fold
	var err error
	if d.Groups != nil {
		folds, err = StratifiedGroupKFold(d.Labels, d.Groups, opt.K, opt.Seed)
		g := map[string]bool{}
		for _, x := range d.Groups {
			g[x] = true
		}
		rep.Groups = len(g)
	} else {
		folds, err = StratifiedKFold(d.Labels, opt.K, opt.Seed)
	}
	if err != nil {
		return CVReport{}, err
	}
	rep.Folds = make([]FoldReport, len(folds))
	probas := make([][][]float64, len(folds))
	errs := make([]error, len(folds))
	workers := max(1, min(opt.Workers, runtime.GOMAXPROCS(0)))
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for f := range folds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			rep.Folds[f], probas[f], errs[f] = runFold(ctx, factory, d, folds[f], f, opt)
		}()
	}
	wg.Wait()
	for f, err := range errs {
		if err != nil {
			return CVReport{}, fmt.Errorf("fold %d: %w", f, err)
		}
	}
	var allY []int
	var allP [][]float64
	rep.OOF = make([]Prediction, len(d.Inputs))
	for f := range folds {
		for j, i := range folds[f].Test {
			allY = append(allY, d.Labels[i])
			allP = append(allP, probas[f][j])
			p := Prediction{Index: i, Key: InputKey(d.Inputs[i]), Label: d.Labels[i], Fold: f, Proba: probas[f][j]}
			if i < len(d.IDs) {
				p.ID = d.IDs[i]
			}
			rep.OOF[i] = p
		}
	}
	if rep.Pooled, err = Compute(allY, allP, d.Classes); err != nil {
		return CVReport{}, err
	}
	rep.Summary = summarize(rep.Folds, len(d.Classes) == 2)
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// runFold trains on one fold's training part and predicts its test part.
func runFold(ctx context.Context, factory ml.Factory, d ml.Dataset, fold Fold, f int, opt Options) (FoldReport, [][]float64, error) {
	if err := ctx.Err(); err != nil {
		return FoldReport{}, nil, err
	}
	trainIdx := StratifiedSample(fold.Train, d.Labels, opt.MaxTrain, opt.Seed+int64(f))
	train, test := d.Subset(trainIdx), d.Subset(fold.Test)
	if opt.Prepare != nil {
		var err error
		if train, test, err = opt.Prepare(ctx, train, test); err != nil {
			return FoldReport{}, nil, fmt.Errorf("prepare: %w", err)
		}
	}
	fr := FoldReport{Fold: f, NTrain: len(train.Inputs), NTest: len(test.Inputs)}
	m := factory()
	t0 := time.Now()
	if err := m.Fit(ctx, train, opt.Seed+int64(f)); err != nil {
		return FoldReport{}, nil, fmt.Errorf("fit %s: %w", m.Name(), err)
	}
	fr.TrainSeconds = time.Since(t0).Seconds()
	t0 = time.Now()
	proba := make([][]float64, len(test.Inputs))
	for i, in := range test.Inputs {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return FoldReport{}, nil, err
			}
		}
		p, err := m.PredictProba(in)
		if err != nil {
			return FoldReport{}, nil, fmt.Errorf("predict %s: %w", m.Name(), err)
		}
		proba[i] = p
	}
	fr.TestSeconds = time.Since(t0).Seconds()
	var err error
	if fr.Metrics, err = Compute(test.Labels, proba, d.Classes); err != nil {
		return FoldReport{}, nil, err
	}
	return fr, proba, nil
}

// summarize computes mean and std of the headline figures over the folds.
func summarize(folds []FoldReport, twoClass bool) Summary {
	var acc, f1, auc, fpr []float64
	for _, fr := range folds {
		acc = append(acc, fr.Metrics.Accuracy)
		f1 = append(f1, fr.Metrics.MacroF1)
		if fr.Metrics.AUC != nil {
			auc = append(auc, *fr.Metrics.AUC)
		}
		if fr.Metrics.FPR != nil {
			fpr = append(fpr, *fr.Metrics.FPR)
		}
	}
	s := Summary{Accuracy: MeanStd(acc), MacroF1: MeanStd(f1)}
	if twoClass {
		a, f := MeanStd(auc), MeanStd(fpr)
		s.AUC, s.FPR = &a, &f
	}
	return s
}

// MeanStd returns the mean and sample standard deviation (n-1; 0 for one
// value) of xs. Both are NaN-free: an empty xs gives a zero Stat.
func MeanStd(xs []float64) Stat {
	s := Stat{N: len(xs)}
	if len(xs) == 0 {
		return s
	}
	for _, x := range xs {
		s.Mean += x
	}
	s.Mean /= float64(len(xs))
	if len(xs) > 1 {
		var ss float64
		for _, x := range xs {
			ss += (x - s.Mean) * (x - s.Mean)
		}
		s.Std = math.Sqrt(ss / float64(len(xs)-1))
	}
	return s
}
