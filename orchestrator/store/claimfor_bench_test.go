package store

import (
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// BenchmarkClaimNextFor10k is BenchmarkClaimNext10k as the daemon now
// claims: the slot's network mode is matched in the queue index, so the
// 10,000 jobs of another mode are not decoded.
func BenchmarkClaimNextFor10k(b *testing.B) {
	s := queue10k(b)
	accept := func(j jobs.Job) bool { return true }
	b.ResetTimer()
	for b.Loop() {
		if _, ok, err := s.ClaimNextFor("slot0", jobs.NetworkNone, accept); ok || err != nil {
			b.Fatalf("claimed %v %v", ok, err)
		}
	}
}
