package train

import (
	"testing"

	"github.com/scalemalnet/scalemalnet/classifiers/modelfile"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
)

func TestUnknownShare(t *testing.T) {
	seq := &Predictor{known: knownCalls(modelfile.Header{Input: modelfile.InputSequence, Vocab: []string{"<pad>", "<unk>", "read", "write"}})}
	ng := &Predictor{known: knownCalls(modelfile.Header{Input: modelfile.InputVector,
		NGram: []byte(`{"models":[{"grams":["read"]},{"grams":["read|write"]}]}`)})}
	set := &features.Set{Kind: features.KindSequence, Schema: []string{"<pad>", "<unk>", "READ", "write", "NtOpenFile"},
		Tokens: []int32{2, 3, 4, 4, 0, 0}}
	for name, p := range map[string]*Predictor{"sequence": seq, "ngram": ng} {
		if got := p.UnknownShare(set); got != 0.5 {
			t.Errorf("%s model: unknown share %v, want 0.5 (2 of 4 calls)", name, got)
		}
	}
	if got := (&Predictor{}).UnknownShare(set); got != 0 {
		t.Errorf("vector model without calls: %v", got)
	}
}
