package apiseq

import (
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// BenchmarkFeaturizeTrace: both sets of a 100,000-call trace (the order of
// a busy run's API budget), against the baseline of only listing the
// trace's calls in time order (trace.APICalls), which every consumer pays.
func BenchmarkFeaturizeTrace(b *testing.B) {
	base := wineTrace().Windows[0].API
	var api []trace.APICall
	for i := 0; len(api) < 100000; i++ {
		for _, c := range base {
			c.T = int64(len(api))
			c.TID = 0x24 + i%3
			api = append(api, c)
		}
	}
	tr := &trace.Trace{Windows: []trace.Window{{Index: 0, End: 1 << 40, API: api}}}
	b.Run("baseline-apicalls", func(b *testing.B) {
		for range b.N {
			_ = tr.APICalls()
		}
	})
	b.Run("featurize", func(b *testing.B) {
		f := &Featurizer{}
		for range b.N {
			if _, err := f.FeaturizeTrace(tr); err != nil {
				b.Fatal(err)
			}
		}
	})
}
