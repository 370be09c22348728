package callseq

import (
	"encoding/json"
	"testing"
)

func FuzzVocabularyJSON(f *testing.F) {
	b, _ := json.Marshal(BuildVocabulary(train, VocabOptions{}))
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		var v Vocabulary
		if v.UnmarshalJSON(b) != nil {
			return
		}
		out, err := json.Marshal(&v)
		if err != nil {
			t.Fatal(err)
		}
		var w Vocabulary
		if err := w.UnmarshalJSON(out); err != nil || w.Digest() != v.Digest() {
			t.Fatalf("round trip: %v", err)
		}
		for i := range v.Len() {
			if tok := v.Token(int32(i)); i >= 2 && v.ID(tok) != int32(i) {
				t.Fatalf("token %d %q maps to %d", i, tok, v.ID(tok))
			}
		}
	})
}

func FuzzNGramJSON(f *testing.F) {
	m, _ := FitNGrams(train, NGramOptions{N: 2, TFIDF: true})
	b, _ := json.Marshal(m)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		var m NGramModel
		if m.UnmarshalJSON(b) != nil {
			return
		}
		if m.Len() <= 4096 {
			if vec, _ := m.Transform([]string{"read", "close", "write"}); len(vec) != m.Len() {
				t.Fatalf("%d values for %d columns", len(vec), m.Len())
			}
		}
		out, err := json.Marshal(&m)
		if err != nil {
			t.Fatal(err)
		}
		var w NGramModel
		if err := w.UnmarshalJSON(out); err != nil || w.Digest() != m.Digest() {
			t.Fatalf("round trip: %v", err)
		}
	})
}
