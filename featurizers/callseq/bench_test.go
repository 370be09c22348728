package callseq

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchCalls returns n calls over a 300-name vocabulary in mixed case, as
// Windows API names arrive.
func benchCalls(n int) ([]string, *Vocabulary) {
	names := make([]string, 300)
	for i := range names {
		names[i] = fmt.Sprintf("NtApiCall%03d", i)
	}
	r := rand.New(rand.NewPCG(1, 2))
	calls := make([]string, n)
	for i := range calls {
		calls[i] = names[r.IntN(len(names))]
	}
	return calls, BuildVocabulary([][]string{names}, VocabOptions{})
}

func BenchmarkEncode(b *testing.B) {
	calls, v := benchCalls(1000)
	dst := make([]int32, 0, len(calls))
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = v.EncodeInto(dst[:0], calls)
	}
	b.ReportMetric(float64(b.N*len(calls))/b.Elapsed().Seconds(), "calls/s")
}

func BenchmarkSequenceFeaturize(b *testing.B) {
	calls, v := benchCalls(1000)
	f := &Sequence{Vocab: v, Length: 1000}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Featurize(calls); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(calls))/b.Elapsed().Seconds(), "calls/s")
}

func BenchmarkNGram3(b *testing.B) {
	calls, _ := benchCalls(1000)
	m, _ := FitNGrams([][]string{calls}, NGramOptions{N: 3, TFIDF: true})
	b.ReportAllocs()
	for b.Loop() {
		m.Transform(calls)
	}
	b.ReportMetric(float64(b.N*len(calls))/b.Elapsed().Seconds(), "calls/s")
}
