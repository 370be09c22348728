package data

import (
	"encoding/json"
	"fmt"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
	"github.com/scalemalnet/scalemalnet/featurizers/callseq"
)

// The fitted encoders are saved in model files, so a trained model applies
// exactly the transformation it was trained with.

type ngramJSON struct {
	Options NGramOptions          `json:"options"`
	Models  []*callseq.NGramModel `json:"models"`
}

// MarshalJSON saves the fitted n-gram columns and options.
func (f *NGramFeaturizer) MarshalJSON() ([]byte, error) {
	return json.Marshal(ngramJSON{Options: f.opt, Models: f.models})
}

// UnmarshalJSON restores a fitted NGramFeaturizer.
func (f *NGramFeaturizer) UnmarshalJSON(b []byte) error {
	var j ngramJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: n-gram featurizer: %v", ml.ErrData, err)
	}
	if len(j.Models) == 0 || len(j.Models) != len(j.Options.Ns) {
		return fmt.Errorf("%w: n-gram featurizer with %d models for n = %v", ml.ErrData, len(j.Models), j.Options.Ns)
	}
	for _, m := range j.Models {
		if m == nil {
			return fmt.Errorf("%w: n-gram featurizer with a missing model", ml.ErrData)
		}
	}
	f.opt, f.models = j.Options, j.Models
	return nil
}

// Options returns the encoder's options.
func (e *SequenceEncoder) Options() SequenceOptions { return e.opt }

// NewSequenceEncoder rebuilds an encoder from a saved vocabulary.
func NewSequenceEncoder(v *callseq.Vocabulary, opt SequenceOptions) *SequenceEncoder {
	return &SequenceEncoder{Vocab: v, opt: opt}
}
