package eval

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// centroid is a tiny nearest-centroid model for protocol tests.
type centroid struct{ C [][]float64 }

func (m *centroid) Name() string { return "centroid" }
func (m *centroid) Fit(_ context.Context, d ml.Dataset, _ int64) error {
	if len(d.Inputs) == 0 {
		return fmt.Errorf("%w: empty", ml.ErrData)
	}
	dim := len(d.Inputs[0].Vector)
	m.C = make([][]float64, len(d.Classes))
	n := make([]float64, len(d.Classes))
	for c := range m.C {
		m.C[c] = make([]float64, dim)
	}
	for i, in := range d.Inputs {
		for j, v := range in.Vector {
			m.C[d.Labels[i]][j] += v
		}
		n[d.Labels[i]]++
	}
	for c := range m.C {
		for j := range m.C[c] {
			m.C[c][j] /= max(n[c], 1)
		}
	}
	return nil
}
func (m *centroid) PredictProba(in ml.Input) ([]float64, error) {
	p := make([]float64, len(m.C))
	var sum float64
	for c, ctr := range m.C {
		var d2 float64
		for j := range ctr {
			d2 += (in.Vector[j] - ctr[j]) * (in.Vector[j] - ctr[j])
		}
		p[c] = 1 / (1 + d2)
		sum += p[c]
	}
	for c := range p {
		p[c] /= sum
	}
	return p, nil
}
func (m *centroid) Save(w io.Writer) error { return gob.NewEncoder(w).Encode(m.C) }
func (m *centroid) Load(r io.Reader) error { return gob.NewDecoder(r).Decode(&m.C) }

func blobs(n int) ml.Dataset {
	r := newRand(9, 0)
	d := ml.Dataset{Classes: []string{"benign", "malware"}}
	for i := 0; i < n; i++ {
		y := i % 2
		d.Inputs = append(d.Inputs, ml.Input{Vector: []float64{float64(3*y) + r.NormFloat64(), r.NormFloat64()}})
		d.Labels = append(d.Labels, y)
		d.IDs = append(d.IDs, fmt.Sprint(i))
	}
	return d
}

func TestCrossValidate(t *testing.T) {
	d := blobs(200)
	d.Inputs = append(d.Inputs, d.Inputs[0], d.Inputs[1])
	d.Labels = append(d.Labels, d.Labels[0], 1-d.Labels[1]) // a duplicate and a conflict
	d.IDs = append(d.IDs, "dup", "conflict")
	f := func() ml.Classifier { return &centroid{} }
	rep, err := CrossValidate(context.Background(), f, d, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Dedup == nil || rep.Dedup.Duplicates != 1 || rep.Dedup.ConflictInputs != 1 || rep.Dedup.ConflictRemoved != 2 || rep.N != 199 {
		t.Errorf("dedup %+v n %d", rep.Dedup, rep.N)
	}
	if len(rep.Folds) != 5 || rep.Summary.Accuracy.Mean < 0.85 || rep.Summary.AUC == nil || rep.Summary.AUC.N != 5 {
		t.Errorf("summary %+v", rep.Summary)
	}
	total := 0
	for _, f := range rep.Folds {
		total += f.NTest
	}
	if total != rep.N || rep.Pooled.N != rep.N {
		t.Errorf("test examples %d pooled %d, want %d", total, rep.Pooled.N, rep.N)
	}
	// Same seed, same figures, whatever the number of workers.
	rep2, err := Run(context.Background(), f, d, Options{K: 5, Seed: 1, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range rep.Folds {
		if rep.Folds[i].Metrics.Accuracy != rep2.Folds[i].Metrics.Accuracy || *rep.Folds[i].Metrics.AUC != *rep2.Folds[i].Metrics.AUC {
			t.Errorf("fold %d differs between runs", i)
		}
	}
	var js, txt bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil || !strings.Contains(js.String(), `"macro_f1"`) {
		t.Errorf("JSON: %v %s", err, js.String()[:min(200, js.Len())])
	}
	if err := rep.WriteText(&txt); err != nil || !strings.Contains(txt.String(), "AUC") || !strings.Contains(txt.String(), "confusion") {
		t.Errorf("text: %v\n%s", err, txt.String())
	}
	t.Log("\n" + txt.String())
}

// TestCrossValidateDegenerateFold: a class with fewer examples than folds
// leaves some test folds one-class; AUC is averaged over the others.
func TestCrossValidateDegenerateFold(t *testing.T) {
	d := blobs(40)
	var keep []int
	pos := 0
	for i, y := range d.Labels {
		if y == 1 {
			if pos++; pos > 3 {
				continue
			}
		}
		keep = append(keep, i)
	}
	d = d.Subset(keep)
	rep, err := CrossValidate(context.Background(), func() ml.Classifier { return &centroid{} }, d, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	undefined := 0
	for _, f := range rep.Folds {
		if f.Metrics.AUC == nil {
			undefined++
		}
	}
	if undefined != 2 || rep.Summary.AUC.N != 3 {
		t.Errorf("%d folds without AUC, summary over %d", undefined, rep.Summary.AUC.N)
	}
}

func TestRunPrepareAndSubsample(t *testing.T) {
	d := blobs(100)
	calls := 0
	prep := func(_ context.Context, train, test ml.Dataset) (ml.Dataset, ml.Dataset, error) {
		calls++
		in := map[string]bool{}
		for _, id := range train.IDs {
			in[id] = true
		}
		for _, id := range test.IDs {
			if in[id] {
				return train, test, fmt.Errorf("%s on both sides", id)
			}
		}
		return train, test, nil
	}
	rep, err := Run(context.Background(), func() ml.Classifier { return &centroid{} }, d, Options{K: 4, Seed: 5, Prepare: prep, MaxTrain: 30})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 4 {
		t.Errorf("prepare called %d times", calls)
	}
	for _, f := range rep.Folds {
		if f.NTrain != 30 || f.NTest != 25 {
			t.Errorf("fold %d: train %d test %d", f.Fold, f.NTrain, f.NTest)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CrossValidate(ctx, func() ml.Classifier { return &centroid{} }, d, 4, 5); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestDedup(t *testing.T) {
	v := func(x float64) ml.Input { return ml.Input{Vector: []float64{x}} }
	d := ml.Dataset{Inputs: []ml.Input{v(1), v(1), v(2), v(2), v(3), {Tokens: []int32{1}}, {Tokens: []int32{1}}},
		Labels: []int{0, 0, 0, 1, 1, 0, 0}, Classes: []string{"a", "b"}}
	out, rep, err := Dedup(d, DedupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := DedupReport{Before: 7, After: 3, Duplicates: 2, ConflictInputs: 1, ConflictRemoved: 2}
	if rep != want || out.Inputs[0].Vector[0] != 1 || out.Inputs[1].Vector[0] != 3 || out.Labels[1] != 1 {
		t.Errorf("%+v %+v, want %+v", rep, out, want)
	}
	_, rep, _ = Dedup(d, DedupOptions{KeepConflicts: true})
	if rep.After != 5 || rep.ConflictRemoved != 0 || rep.ConflictInputs != 1 {
		t.Errorf("keep conflicts: %+v", rep)
	}
	// Representations are told apart: a vector [1] is not tokens [1].
	if InputKey(v(1)) == InputKey(ml.Input{Tokens: []int32{1}}) {
		t.Error("vector and tokens collide")
	}
	if _, _, err := Dedup(ml.Dataset{Labels: []int{0}, Classes: []string{"a", "b"}}, DedupOptions{}); !errors.Is(err, ml.ErrData) {
		t.Errorf("invalid: %v", err)
	}
}

// memo memorises its training inputs: 1 on the memorised label of an input
// it saw, uniform on any other.
type memo struct{ seen map[[32]byte]int }

func (m *memo) Name() string { return "memo" }
func (m *memo) Fit(_ context.Context, d ml.Dataset, _ int64) error {
	m.seen = map[[32]byte]int{}
	for i, in := range d.Inputs {
		m.seen[InputKey(in)] = d.Labels[i]
	}
	return nil
}
func (m *memo) PredictProba(in ml.Input) ([]float64, error) {
	p := []float64{0.5, 0.5}
	if y, ok := m.seen[InputKey(in)]; ok {
		p[y], p[1-y] = 1, 0
	}
	return p, nil
}
func (m *memo) Save(io.Writer) error { return nil }
func (m *memo) Load(io.Reader) error { return nil }

// TestRunOOFHeldOut: the out-of-fold predictions come from models that did
// not see their example (a memorising model, perfect in-sample on random
// labels, is at chance on every one), every example has one, with the fold
// that held it out, and keys are of the raw input even when Prepare
// re-encodes it.
func TestRunOOFHeldOut(t *testing.T) {
	d := ml.Dataset{Classes: []string{"a", "b"}}
	for i := range 60 {
		d.Inputs = append(d.Inputs, ml.Input{Vector: []float64{float64(i), float64(i * i % 7)}})
		d.Labels = append(d.Labels, (i*7919)%3%2) // arbitrary labels: nothing to learn
		d.IDs = append(d.IDs, fmt.Sprintf("ex%d", i))
	}
	double := func(_ context.Context, train, test ml.Dataset) (ml.Dataset, ml.Dataset, error) {
		tr := func(x ml.Dataset) ml.Dataset {
			out := x
			out.Inputs = make([]ml.Input, len(x.Inputs))
			for i, in := range x.Inputs {
				out.Inputs[i] = ml.Input{Vector: []float64{2 * in.Vector[0], 2 * in.Vector[1]}}
			}
			return out
		}
		return tr(train), tr(test), nil
	}
	factory := func() ml.Classifier { return &memo{} }
	rep, err := Run(context.Background(), factory, d, Options{K: 5, Seed: 3, Prepare: double})
	if err != nil {
		t.Fatal(err)
	}
	folds, _ := StratifiedKFold(d.Labels, 5, 3)
	foldOf := map[int]int{}
	for f, fo := range folds {
		for _, i := range fo.Test {
			foldOf[i] = f
		}
	}
	if len(rep.OOF) != len(d.Inputs) {
		t.Fatalf("%d OOF predictions for %d examples", len(rep.OOF), len(d.Inputs))
	}
	keys := map[[32]byte]bool{}
	for i, p := range rep.OOF {
		if p.Index != i || p.ID != d.IDs[i] || p.Label != d.Labels[i] || p.Fold != foldOf[i] || p.Key != InputKey(d.Inputs[i]) {
			t.Fatalf("prediction %d: %+v", i, p)
		}
		if p.Proba[0] != 0.5 {
			t.Fatalf("example %d predicted %v by a model that saw it", i, p.Proba)
		}
		keys[p.Key] = true
	}
	if len(keys) != len(d.Inputs) {
		t.Fatalf("%d distinct keys for %d examples", len(keys), len(d.Inputs))
	}
	// In sample the memoriser is perfect: the check above is not vacuous.
	m := &memo{}
	_ = m.Fit(context.Background(), d, 0)
	if p, _ := m.PredictProba(d.Inputs[0]); p[d.Labels[0]] != 1 {
		t.Fatal("memoriser does not memorise")
	}
}
