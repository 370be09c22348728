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

func TestCoverage(t *testing.T) {
	p := &Predictor{known: knownCalls(modelfile.Header{Input: modelfile.InputSequence, Vocab: []string{"<pad>", "<unk>", "read", "write"}})}
	set := &features.Set{Kind: features.KindSequence, Schema: []string{"<pad>", "<unk>", "READ", "write", "NtOpenFile"},
		Tokens: []int32{2, 3, 4, 4, 2, 0, -7, 99}} // padding and ids outside the schema are not calls
	c, ok := p.Coverage(set)
	if !ok || c != (Coverage{Calls: 5, Known: 3, Distinct: 3, KnownDistinct: 2}) || c.String() != "knows 60% of the 5 calls (2 of 3 distinct names)" {
		t.Fatalf("%v %+v %s", ok, c, c)
	}
	if p.UnknownShare(set) != 0.4 {
		t.Fatalf("unknown share %v", p.UnknownShare(set))
	}
	if _, ok := (&Predictor{}).Coverage(set); ok {
		t.Fatal("coverage of a model without calls")
	}
	if !HooksOnly("apiseq") || !HooksOnly("apiseq-first") || HooksOnly("callseq") {
		t.Fatal("HooksOnly")
	}
	if featureSetOf("malbehavd") != "apiseq-first" || featureSetOf("malapi") != "apiseq" || featureSetOf("fhids") != "callseq" {
		t.Fatal("feature sets of the tasks")
	}
}

func TestHookedANSIMapsToWide(t *testing.T) {
	p := &Predictor{Header: modelfile.Header{FeatureSet: "apiseq"},
		known: knownCalls(modelfile.Header{Input: modelfile.InputSequence, Vocab: []string{"<pad>", "<unk>", "process32nextw", "regopenkeyexa", "regopenkeyexw"}})}
	for in, want := range map[string]string{"Process32Next": "process32nextw", "Process32NextA": "process32nextw", "RegOpenKeyExA": "regopenkeyexa", "CreateFileA": ""} {
		got, ok := p.hooked(in)
		if (want == "") == ok || (ok && got != want) {
			t.Errorf("hooked(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	set := &features.Set{Name: "apiseq", Kind: features.KindSequence, Schema: []string{"<pad>", "<unk>", "Process32NextA", "CreateFileA"}, Tokens: []int32{2, 2, 3}}
	if c, _ := p.Coverage(set); c.Known != 2 || c.KnownDistinct != 1 {
		t.Fatalf("coverage %+v", c)
	}
}
