// Package train turns a public dataset into a model file and evaluates model
// files on data: what `scalemalnet train` and `scalemalnet eval` run.
//
// Protocol: the dataset is deduplicated first (identical inputs with the same
// label kept once, identical inputs with conflicting labels removed), then
// evaluated by stratified k-fold cross-validation in which every fitted
// transformation (n-gram columns, vocabularies) is fitted on the training
// fold only; the shipped model is then trained on all deduplicated data with
// the same seed. Nothing is tuned on a test fold: hyperparameters are the
// documented defaults, and early stopping of deep models uses a split of the
// training part only. The cross-validation's out-of-fold predictions
// (Result.OOF, each from the fold model that held its example out) are the
// validation data of the fusion model (classifiers/fusion).
package train

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/scalemalnet/scalemalnet/classifiers/data"
	"github.com/scalemalnet/scalemalnet/classifiers/deep"
	"github.com/scalemalnet/scalemalnet/classifiers/eval"
	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
	"github.com/scalemalnet/scalemalnet/classifiers/ml"
	"github.com/scalemalnet/scalemalnet/classifiers/modelfile"
	"github.com/scalemalnet/scalemalnet/featurizers/callseq"
	"github.com/scalemalnet/scalemalnet/featurizers/datasets"
)

// Spec is one training run.
type Spec struct {
	Model   string // model type (Models())
	Data    string // dataset path, in its shared/datasets format
	Task    string // "" = the dataset's default task
	Name    string // classifier name; default <task>-<model>
	Seed    int64
	Folds   int // cross-validation folds; 0 = 5; < 0 = no cross-validation
	Options Options
	Command string // recorded in the model file
	Log     *slog.Logger
}

// Defaults for encoders of call sequences.
var (
	NGrams   = data.NGramOptions{Ns: []int{1, 2}, MaxFeatures: 2000, Log: true}
	Sequence = data.SequenceOptions{Keep: callseq.KeepHead, Pad: callseq.PadEnd, MaxVocab: 2000}
)

// Result is a trained model.
type Result struct {
	Header  modelfile.Header
	Weights []byte
	CV      *eval.CVReport
	// OOF are the cross-validation's out-of-fold predictions, one per
	// deduplicated example in data order (none without cross-validation):
	// each from the fold model that held the example out. WriteOOF writes
	// them.
	OOF []fusion.OOFLine
}

// WriteOOF writes the out-of-fold predictions as JSON lines (the format
// `scalemalnet train fusion` and `eval fusion` read). It is an error when
// the model was trained without cross-validation.
func (r *Result) WriteOOF(w io.Writer) error {
	if len(r.OOF) == 0 {
		return fmt.Errorf("%w: no out-of-fold predictions (trained without cross-validation)", ErrData)
	}
	return fusion.WriteOOF(w, r.OOF)
}

// oofLines turns a cross-validation's out-of-fold predictions into OOF
// lines of classifier name at stage.
func oofLines(rep *eval.CVReport, name, stage string, idKeys bool) []fusion.OOFLine {
	out := make([]fusion.OOFLine, len(rep.OOF))
	for i, p := range rep.OOF {
		key := hex.EncodeToString(p.Key[:])
		if idKeys {
			key = IDKey(p.ID)
		}
		l := fusion.OOFLine{Key: key, ID: p.ID, Label: rep.Classes[p.Label],
			Fold: p.Fold, Classifier: name, Stage: stage, Scores: make([]fusion.ClassScore, len(p.Proba))}
		for c, v := range p.Proba {
			l.Scores[c] = fusion.ClassScore{Class: rep.Classes[c], Score: v}
		}
		out[i] = l
	}
	return out
}

// IDKey is the out-of-fold key of a corpus run: every model of the run's
// inputs (call sequence, argument features, signatures) gives its line the
// same key, so fusion sees one record with all their votes.
func IDKey(id string) string {
	h := sha256.Sum256([]byte("corpus-run\x00" + id))
	return hex.EncodeToString(h[:])
}

// Train runs the spec: load, deduplicate, cross-validate, fit on all data.
func Train(ctx context.Context, s Spec) (*Result, error) {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	m, err := lookup(s.Model)
	if err != nil {
		return nil, err
	}
	l, err := load(s.Data, s.Task, datasets.Limits{})
	if err != nil {
		return nil, err
	}
	if err := compatible(m, l); err != nil {
		return nil, err
	}
	factory, cfg := m.factory(s.Options)
	d := l.dataset()
	s.Log.Info("training data", "source", l.source, "records", l.records, "examples", len(d.Inputs), "dedup", l.dedup.String(), "classes", d.Classes)

	seqOpt := Sequence
	if m.input == "sequence" {
		seqOpt.Length = seqLen(s.Model, s.Options)
	}
	prepare := func(ctx context.Context, train, test ml.Dataset) (ml.Dataset, ml.Dataset, error) {
		return train, test, nil
	}
	if l.kind == kindCalls {
		if m.input == "sequence" {
			prepare = l.ss.SequencePrepare(seqOpt)
		} else {
			prepare = l.ss.NGramPrepare(NGrams)
		}
	}
	var cv *eval.CVReport
	folds := s.Folds
	if folds == 0 {
		folds = 5
	}
	if folds > 0 {
		rep, err := eval.Run(ctx, factory, d, eval.Options{K: folds, Seed: s.Seed, NoDedup: true, Prepare: prepare, MaxTrain: m.maxTrain})
		if err != nil {
			return nil, fmt.Errorf("cross-validation: %w", err)
		}
		rep.Dataset = l.source
		cv = &rep
		s.Log.Info("cross-validated", "folds", folds, "accuracy", rep.Summary.Accuracy, "macro_f1", rep.Summary.MacroF1)
	}

	// The shipped model: every transformation fitted on all the data.
	h := modelfile.Header{
		Name: s.Name, Model: s.Model, Task: l.task, Stage: l.stage, FeatureSet: l.featureSet, InputKind: l.inputKind,
		Classes: d.Classes, Seed: s.Seed, Config: configJSON(cfg), Command: s.Command,
		Data: modelfile.Data{Source: l.source, Path: filepath.Base(s.Data), SHA256: l.digest, Records: l.records,
			Examples: len(d.Inputs), Duplicates: l.dedup.Duplicates, Conflicts: l.dedup.ConflictRemoved, ClassCounts: data.ClassCounts(d)},
	}
	if h.Name == "" {
		h.Name = l.task + "-" + s.Model
	}
	var oof []fusion.OOFLine
	if cv != nil {
		oof = oofLines(cv, h.Name, l.stage, l.idKeys)
	}
	full := d
	switch {
	case l.kind == kindVector:
		h.Input, h.Columns = modelfile.InputVector, l.vs.Columns
	case l.kind == kindImage:
		h.Input, h.Width, h.Height = modelfile.InputImage, ImageSize, ImageSize
	case m.input == "sequence":
		seqs := allCalls(l.ss)
		enc := data.FitSequences(seqs, seqOpt)
		h.Input, h.Vocab, h.SeqLen = modelfile.InputSequence, enc.Vocab.Tokens(), seqOpt.Length
		if h.VocabJSON, err = json.Marshal(enc.Vocab); err != nil {
			return nil, err
		}
		full = data.WithInputs(d, func(i int) ml.Input { return ml.Input{Tokens: enc.Transform(seqs[i])} })
	default: // n-gram vectors of call sequences
		seqs := allCalls(l.ss)
		ng, err := data.FitNGrams(seqs, NGrams)
		if err != nil {
			return nil, err
		}
		if h.NGram, err = json.Marshal(ng); err != nil {
			return nil, err
		}
		h.Input, h.Columns = modelfile.InputVector, ng.Schema()
		full = data.WithInputs(d, func(i int) ml.Input { return ml.Input{Vector: ng.Transform(seqs[i])} })
	}
	if cv != nil {
		// Timings vary between runs; the file must not (same command, same file).
		c := *cv
		c.Seconds = 0
		c.Folds = append([]eval.FoldReport{}, cv.Folds...)
		for i := range c.Folds {
			c.Folds[i].TrainSeconds, c.Folds[i].TestSeconds = 0, 0
		}
		if h.CV, err = json.Marshal(c); err != nil {
			return nil, err
		}
	}
	clf := factory()
	if err := clf.Fit(ctx, full, s.Seed); err != nil {
		return nil, fmt.Errorf("final fit: %w", err)
	}
	var buf bytes.Buffer
	if err := clf.Save(&buf); err != nil {
		return nil, err
	}
	return &Result{Header: h, Weights: buf.Bytes(), CV: cv, OOF: oof}, nil
}

func seqLen(model string, o Options) int {
	switch {
	case o.SeqLen > 0:
		return o.SeqLen
	case model == "cnn-lstm":
		return deep.DefaultCNNLSTM().SeqLen
	}
	return deep.DefaultLSTM().SeqLen
}

func compatible(m model, l *loaded) error {
	ok := map[string]map[string]bool{
		kindVector: {"vector": true},
		kindCalls:  {"vector": true, "sequence": true},
		kindImage:  {"image": true},
	}[l.kind][m.input]
	if !ok {
		return fmt.Errorf("%w: a %s model cannot read %s (%s data)", ErrData, m.input, l.source, l.kind)
	}
	return nil
}

func allCalls(s *data.SeqSet) [][]string {
	out := make([][]string, len(s.Dataset.Inputs))
	for i, in := range s.Dataset.Inputs {
		out[i] = s.Calls(in)
	}
	return out
}
