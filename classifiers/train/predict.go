package train

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/scalemalnet/scalemalnet/classifiers/corpus"
	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/scalemalnet/scalemalnet/classifiers/data"
	"github.com/scalemalnet/scalemalnet/classifiers/eval"
	"github.com/scalemalnet/scalemalnet/classifiers/ml"
	"github.com/scalemalnet/scalemalnet/classifiers/modelfile"
	"github.com/scalemalnet/scalemalnet/featurizers/callseq"
	"github.com/scalemalnet/scalemalnet/featurizers/datasets"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
)

// ErrSchema is wrapped when input does not match what a model was trained on.
var ErrSchema = errors.New("input does not match the model")

// Predictor applies a model file to new input, with the exact encoding the
// model was trained with.
type Predictor struct {
	Header modelfile.Header
	clf    ml.Classifier
	ngram  *data.NGramFeaturizer
	enc    *data.SequenceEncoder
	known  map[string]bool // call names the model has seen (for UnknownShare)
}

// Open loads a model file.
func Open(path string) (*Predictor, error) {
	h, w, err := modelfile.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return New(h, w)
}

// New builds a Predictor from a header and weights.
func New(h modelfile.Header, weights []byte) (*Predictor, error) {
	m, err := lookup(h.Model)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", modelfile.ErrFormat, err)
	}
	f, _ := m.factory(Options{SeqLen: h.SeqLen})
	p := &Predictor{Header: h, clf: f()}
	if err := p.clf.Load(bytes.NewReader(weights)); err != nil {
		return nil, fmt.Errorf("%w: weights of %s: %v", modelfile.ErrFormat, h.Model, err)
	}
	if len(h.NGram) > 0 {
		p.ngram = &data.NGramFeaturizer{}
		if err := json.Unmarshal(h.NGram, p.ngram); err != nil {
			return nil, fmt.Errorf("%w: %v", modelfile.ErrFormat, err)
		}
	}
	if h.Input == modelfile.InputSequence {
		var v callseq.Vocabulary
		if err := v.UnmarshalJSON(h.VocabJSON); err != nil {
			return nil, fmt.Errorf("%w: vocabulary: %v", modelfile.ErrFormat, err)
		}
		p.enc = data.NewSequenceEncoder(&v, data.SequenceOptions{Length: h.SeqLen, Keep: callseq.KeepHead, Pad: callseq.PadEnd})
	}
	p.known = knownCalls(h)
	return p, nil
}

// knownCalls is the set of call names a call-sequence model was trained
// with: its vocabulary, or the names in its n-gram columns.
func knownCalls(h modelfile.Header) map[string]bool {
	known := map[string]bool{}
	switch {
	case h.Input == modelfile.InputSequence:
		for _, t := range h.Vocab[2:] {
			known[t] = true
		}
	case len(h.NGram) > 0:
		var ng struct {
			Models []struct {
				Grams []string `json:"grams"`
			} `json:"models"`
		}
		_ = json.Unmarshal(h.NGram, &ng)
		for _, m := range ng.Models {
			for _, g := range m.Grams {
				for _, c := range strings.Split(g, "|") {
					known[c] = true
				}
			}
		}
	}
	return known
}

// Classes are the model's classes, in score order.
func (p *Predictor) Classes() []string { return p.Header.Classes }

// Calls turns a call list into the model's input.
func (p *Predictor) callsInput(calls []string) (ml.Input, error) {
	switch {
	case p.enc != nil:
		return ml.Input{Tokens: p.enc.Transform(calls)}, nil
	case p.ngram != nil:
		return ml.Input{Vector: p.ngram.Transform(calls)}, nil
	}
	return ml.Input{}, fmt.Errorf("%w: %s does not read call sequences", ErrSchema, p.Header.Name)
}

// PredictCalls scores one call sequence.
func (p *Predictor) PredictCalls(calls []string) ([]float64, error) {
	in, err := p.callsInput(callseq.NormalizeAll(calls))
	if err != nil {
		return nil, err
	}
	return p.clf.PredictProba(in)
}

// PredictSet scores one feature set as produced by the built-in featurizers:
// a vector with its column names, a call-id sequence with its vocabulary in
// Schema, or an image.
func (p *Predictor) PredictSet(s *features.Set) ([]float64, error) {
	if s.Name != p.Header.FeatureSet {
		return nil, fmt.Errorf("%w: got set %q, model reads %q", ErrSchema, s.Name, p.Header.FeatureSet)
	}
	switch s.Kind {
	case features.KindVector:
		x, err := byColumns(p.Header.Columns, s.Schema, s.Vector)
		if err != nil {
			return nil, err
		}
		return p.clf.PredictProba(ml.Input{Vector: x})
	case features.KindSequence:
		hooks := HooksOnly(s.Name) && len(p.known) > 0
		calls := make([]string, 0, len(s.Tokens))
		for _, t := range s.Tokens {
			if t == callseq.PadID {
				continue
			}
			if t < 0 || int(t) >= len(s.Schema) {
				return nil, fmt.Errorf("%w: token id %d outside the set's vocabulary of %d", ErrSchema, t, len(s.Schema))
			}
			name := s.Schema[t]
			if hooks {
				n, ok := p.hooked(name)
				if !ok {
					continue
				}
				name = n
			}
			calls = append(calls, name)
		}
		return p.PredictCalls(calls)
	case features.KindImage:
		im := s.Image
		if im == nil || im.Width != p.Header.Width || im.Height != p.Header.Height {
			return nil, fmt.Errorf("%w: image size differs from the model's %dx%d", ErrSchema, p.Header.Width, p.Header.Height)
		}
		px := make([]float32, len(im.Pix))
		for i, v := range im.Pix {
			px[i] = float32(v) / 255
		}
		return p.clf.PredictProba(ml.Input{Pixels: px, Width: im.Width, Height: im.Height})
	}
	return nil, fmt.Errorf("%w: set kind %q", ErrSchema, s.Kind)
}

// Coverage says how much of a sequence set the model knows.
type Coverage struct {
	Calls         int // calls in the set (padding and out-of-range ids left out)
	Known         int // of them, calls whose name the model was trained with
	Distinct      int // distinct names
	KnownDistinct int // of them, names the model knows
}

// Share is Known/Calls (0 without calls).
func (c Coverage) Share() float64 {
	if c.Calls == 0 {
		return 0
	}
	return float64(c.Known) / float64(c.Calls)
}

// String is e.g. "knows 62% of the 1204 calls (41 of 88 distinct names)".
func (c Coverage) String() string {
	return fmt.Sprintf("knows %.0f%% of the %d calls (%d of %d distinct names)", 100*c.Share(), c.Calls, c.KnownDistinct, c.Distinct)
}

// Coverage measures a sequence set against the names the model was trained
// with; ok is false when the model or the set is not a call sequence.
func (p *Predictor) Coverage(s *features.Set) (c Coverage, ok bool) {
	if len(p.known) == 0 || s.Kind != features.KindSequence {
		return c, false
	}
	seen := map[int32]bool{}
	for _, t := range s.Tokens {
		if t == callseq.PadID || t < 0 || int(t) >= len(s.Schema) {
			continue
		}
		k := p.known[callseq.Normalize(s.Schema[t])]
		if !k && HooksOnly(s.Name) {
			_, k = p.hooked(s.Schema[t])
		}
		c.Calls++
		if k {
			c.Known++
		}
		if !seen[t] {
			seen[t] = true
			c.Distinct++
			if k {
				c.KnownDistinct++
			}
		}
	}
	return c, true
}

// hooked maps a call name to the name the model knows for it in a set of
// hooked calls: the name itself, or for an ANSI function ("...A", or a
// name whose wide twin is the name plus "W") its wide twin when only that
// one is known. On Windows most ANSI
// functions convert their strings and call the wide one, which is what
// Cuckoo's monitor hooks and logs (Process32NextW, CopyFileW); Wine often
// implements both separately, so its relay shows the ANSI call alone.
func (p *Predictor) hooked(name string) (string, bool) {
	n := callseq.Normalize(name)
	if p.known[n] {
		return n, true
	}
	if w, ok := strings.CutSuffix(n, "a"); ok && p.known[w+"w"] {
		return w + "w", true
	}
	if p.known[n+"w"] { // ANSI functions named without "A": Process32Next, Module32First
		return n + "w", true
	}
	return n, false
}

// HooksOnly reports whether the model reads a set of hooked calls
// (HooksOnly of its feature set): unknown names are left out at prediction.
func (p *Predictor) HooksOnly() bool { return HooksOnly(p.Header.FeatureSet) }

// UnknownShare is the share of a sequence set's calls the model has never
// seen, so a plugin can abstain when a trace is from another platform (a
// Windows API model given Linux system calls).
func (p *Predictor) UnknownShare(s *features.Set) float64 {
	if len(p.known) == 0 || s.Kind != features.KindSequence {
		return 0
	}
	n, unk := 0, 0
	for _, t := range s.Tokens {
		if t == callseq.PadID || t < 0 || int(t) >= len(s.Schema) {
			continue
		}
		n++
		if !p.known[callseq.Normalize(s.Schema[t])] {
			unk++
		}
	}
	if n == 0 {
		return 1
	}
	return float64(unk) / float64(n)
}

func byColumns(want, have []string, v []float64) ([]float64, error) {
	if len(have) != len(v) {
		return nil, fmt.Errorf("%w: %d values for %d columns", ErrSchema, len(v), len(have))
	}
	idx := make(map[string]int, len(have))
	for i, c := range have {
		idx[c] = i
	}
	out := make([]float64, len(want))
	for i, c := range want {
		j, ok := idx[c]
		if !ok {
			return nil, fmt.Errorf("%w: column %q missing", ErrSchema, c)
		}
		out[i] = v[j]
	}
	return out, nil
}

// Evaluate applies a model file to a dataset in its shared format and
// measures it. The dataset is deduplicated like training data.
func Evaluate(ctx context.Context, modelPath, dataPath string) (eval.Metrics, *modelfile.Header, error) {
	m, h, _, err := Predictions(ctx, modelPath, dataPath)
	return m, h, err
}

// Predictions is Evaluate that also returns each example's prediction as
// an out-of-fold line (Fold -1: the model never saw this data), for
// `train fusion`. A call-sequence detection model trained on a public set
// (FHIDS, ADFA-LD) applies to the sandbox's corpus as well: its
// benign/malware labels are read as its own normal/attack classes, which
// measures the model on the traces the sandbox records.
func Predictions(ctx context.Context, modelPath, dataPath string) (eval.Metrics, *modelfile.Header, []fusion.OOFLine, error) {
	p, err := Open(modelPath)
	if err != nil {
		return eval.Metrics{}, nil, nil, err
	}
	task := p.Header.Task
	if corpusData(dataPath) {
		task = ""
	}
	l, err := load(dataPath, task, datasets.Limits{})
	if err != nil {
		return eval.Metrics{}, &p.Header, nil, err
	}
	d := l.dataset()
	cross := l.task == string(data.Corpus) && p.Header.Task != l.task
	if cross && (l.kind != kindCalls || p.Header.Stage != "detection" || len(p.Header.Classes) != 2 || p.Header.FeatureSet != l.featureSet) {
		return eval.Metrics{}, &p.Header, nil, fmt.Errorf("%w: model %s (%s, %s stage) does not read the corpus's system call sequences", ErrSchema, p.Header.Name, p.Header.Task, p.Header.Stage)
	}
	if l.task != p.Header.Task && !cross {
		return eval.Metrics{}, &p.Header, nil, fmt.Errorf("%w: model is for %s, data is %s", ErrSchema, p.Header.Task, l.task)
	}
	// Map the data's classes onto the model's (benign/malware onto a
	// detection model's two classes in order when crossing sets).
	cmap := make([]int, len(d.Classes))
	for i, c := range d.Classes {
		j := slices.Index(p.Header.Classes, c)
		if cross {
			j = i
		}
		if j < 0 {
			return eval.Metrics{}, &p.Header, nil, fmt.Errorf("%w: class %q is not one of the model's %v", ErrSchema, c, p.Header.Classes)
		}
		cmap[i] = j
	}
	var yTrue []int
	var proba [][]float64
	var lines []fusion.OOFLine
	for i, in := range d.Inputs {
		if err := ctx.Err(); err != nil {
			return eval.Metrics{}, &p.Header, nil, err
		}
		var pr []float64
		switch l.kind {
		case kindVector:
			x, err := byColumns(p.Header.Columns, l.vs.Columns, in.Vector)
			if err != nil {
				return eval.Metrics{}, &p.Header, nil, err
			}
			pr, err = p.clf.PredictProba(ml.Input{Vector: x})
			if err != nil {
				return eval.Metrics{}, &p.Header, nil, err
			}
		case kindCalls:
			pr, err = p.PredictCalls(l.ss.Calls(in))
		default:
			pr, err = p.clf.PredictProba(in)
		}
		if err != nil {
			return eval.Metrics{}, &p.Header, nil, err
		}
		yTrue = append(yTrue, cmap[d.Labels[i]])
		proba = append(proba, pr)
		var id string
		if d.IDs != nil {
			id = d.IDs[i]
		}
		key := eval.InputKey(in)
		line := fusion.OOFLine{Key: hex.EncodeToString(key[:]), ID: id, Label: d.Classes[d.Labels[i]], Fold: -1,
			Classifier: p.Header.Name, Stage: p.Header.Stage, Scores: make([]fusion.ClassScore, len(pr))}
		if l.idKeys {
			line.Key = IDKey(id)
		}
		for c, v := range pr {
			line.Scores[c] = fusion.ClassScore{Class: p.Header.Classes[c], Score: v}
		}
		lines = append(lines, line)
	}
	m, err := eval.Compute(yTrue, proba, p.Header.Classes)
	return m, &p.Header, lines, err
}

// corpusData reports whether path is a corpus folder.
func corpusData(path string) bool {
	_, err := os.Stat(filepath.Join(path, corpus.IndexFile))
	return err == nil
}
