package data

import (
	"context"

	"github.com/scalemalnet/scalemalnet/classifiers/eval"
	"github.com/scalemalnet/scalemalnet/classifiers/ml"
	"github.com/scalemalnet/scalemalnet/featurizers/callseq"
)

// SequenceOptions configures token-id sequences for sequence models.
type SequenceOptions struct {
	Length   int              // ids per example; 0 keeps every call
	Keep     callseq.Truncate // which end of a long sequence to keep
	Pad      callseq.PadSide  // where padding goes
	MinCount int              // vocabulary: minimum training count
	MaxVocab int              // vocabulary: most tokens incl. pad and unknown; 0 = all
}

// SequenceEncoder maps call sequences to fixed-length token ids over a
// vocabulary fitted on training sequences (ids 0 pad, 1 unknown).
type SequenceEncoder struct {
	Vocab *callseq.Vocabulary
	opt   SequenceOptions
}

// FitSequences fits the vocabulary on training sequences.
func FitSequences(train [][]string, opt SequenceOptions) *SequenceEncoder {
	return &SequenceEncoder{Vocab: callseq.BuildVocabulary(train, callseq.VocabOptions{MinCount: opt.MinCount, MaxSize: opt.MaxVocab}), opt: opt}
}

// Transform returns the ids of one sequence, cut or padded to Length.
func (e *SequenceEncoder) Transform(calls []string) []int32 {
	return callseq.Fit(e.Vocab.Encode(calls), e.opt.Length, e.opt.Keep, e.opt.Pad)
}

// SequencePrepare returns an eval.Prepare that fits a SequenceEncoder on the
// training fold and re-encodes both folds (calls unseen in training become
// the unknown id).
func (s *SeqSet) SequencePrepare(opt SequenceOptions) eval.Prepare {
	return func(_ context.Context, train, test ml.Dataset) (ml.Dataset, ml.Dataset, error) {
		seqs := make([][]string, len(train.Inputs))
		for i, in := range train.Inputs {
			seqs[i] = s.Calls(in)
		}
		e := FitSequences(seqs, opt)
		tr := WithInputs(train, func(i int) ml.Input { return ml.Input{Tokens: e.Transform(seqs[i])} })
		te := WithInputs(test, func(i int) ml.Input { return ml.Input{Tokens: e.Transform(s.Calls(test.Inputs[i]))} })
		return tr, te, nil
	}
}
