package callseq

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/scalemalnet/scalemalnet/featurizers/datasets"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// Featurizer names written to features.Set.Name.
const (
	SequenceName = "callseq"
	NGramName    = "callseq-ngram"
)

// ErrConfig is wrapped by errors about a featurizer's configuration.
var ErrConfig = errors.New("invalid call-sequence featurizer configuration")

// Sequence produces fixed-length token-id sequences (features.KindSequence).
type Sequence struct {
	Vocab  *Vocabulary
	Length int      // tokens per sequence, > 0
	Keep   Truncate // which end of a long sequence to keep
	Pad    PadSide  // where padding goes
	// WithSchema puts the vocabulary tokens (by id) in each Set's Schema.
	WithSchema bool
}

// Version identifies the encoding: vocabulary digest, length and ends. A
// classifier trained on one version must refuse sets of another.
func (s *Sequence) Version() string {
	d := ""
	if s.Vocab != nil {
		d = short(s.Vocab.Digest())
	}
	return fmt.Sprintf("1+v%s+l%d+k%d+p%d", d, s.Length, s.Keep, s.Pad)
}

// Featurize encodes one call list. Meta records "calls" (the list's
// length), "unknown" (calls not in the vocabulary; counted over the kept
// part) and "truncated".
func (s *Sequence) Featurize(calls []string) (*features.Set, error) {
	if s.Vocab == nil || s.Length <= 0 {
		return nil, fmt.Errorf("%w: vocabulary and a positive length required", ErrConfig)
	}
	kept := calls
	if len(kept) > s.Length {
		if s.Keep == KeepTail {
			kept = kept[len(kept)-s.Length:]
		} else {
			kept = kept[:s.Length]
		}
	}
	ids, unknown := s.Vocab.EncodeInto(make([]int32, 0, s.Length), kept)
	set := &features.Set{
		Name: SequenceName, Version: s.Version(), Kind: features.KindSequence,
		Tokens: Fit(ids, s.Length, s.Keep, s.Pad),
		Meta: map[string]string{"calls": strconv.Itoa(len(calls)), "unknown": strconv.Itoa(unknown),
			"truncated": strconv.FormatBool(len(calls) > s.Length)},
	}
	if s.WithSchema {
		set.Schema = s.Vocab.Tokens()
	}
	return set, nil
}

// FeaturizeTrace featurizes a guest trace, whole or split per process or
// per window; Meta "group" names the part.
func (s *Sequence) FeaturizeTrace(t *trace.Trace, split datasets.TraceSplit) ([]*features.Set, error) {
	return featurizeTrace(t, split, s.Featurize)
}

// NGrams produces n-gram count vectors (features.KindVector) whose Schema is
// the model's column names.
type NGrams struct {
	Model *NGramModel
}

// Version identifies the encoding by the model digest.
func (n *NGrams) Version() string {
	if n.Model == nil {
		return "1+m"
	}
	return "1+m" + short(n.Model.Digest())
}

// short abbreviates a digest for a version string.
func short(d string) string { return d[:min(len(d), 12)] }

// Featurize returns the n-gram vector of one call list. Meta records
// "calls" and "missing" (n-grams without a column).
func (n *NGrams) Featurize(calls []string) (*features.Set, error) {
	if n.Model == nil {
		return nil, fmt.Errorf("%w: n-gram model required", ErrConfig)
	}
	vec, missing := n.Model.Transform(calls)
	return &features.Set{
		Name: NGramName, Version: n.Version(), Kind: features.KindVector,
		Schema: n.Model.Schema(), Vector: vec,
		Meta: map[string]string{"calls": strconv.Itoa(len(calls)), "missing": strconv.Itoa(missing)},
	}, nil
}

// FeaturizeTrace featurizes a guest trace, whole or split per process or
// per window; Meta "group" names the part.
func (n *NGrams) FeaturizeTrace(t *trace.Trace, split datasets.TraceSplit) ([]*features.Set, error) {
	return featurizeTrace(t, split, n.Featurize)
}

func featurizeTrace(t *trace.Trace, split datasets.TraceSplit, fn func([]string) (*features.Set, error)) ([]*features.Set, error) {
	recs, err := datasets.FromTrace(t, "trace", datasets.TraceOptions{Split: split})
	if err != nil {
		return nil, err
	}
	out := make([]*features.Set, 0, len(recs))
	for _, r := range recs {
		set, err := fn(r.Calls)
		if err != nil {
			return nil, err
		}
		if r.Group != "" {
			set.Meta["group"] = r.Group
		}
		if r.Dropped > 0 {
			set.Meta["dropped"] = strconv.Itoa(r.Dropped)
		}
		out = append(out, set)
	}
	return out, nil
}
