package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// queue10k fills a store with 10,000 queued jobs that ask for network
// "user", in one transaction (CreateJob's fsync per job would dominate).
func queue10k(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.TempDir(), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	smp, err := s.PutSample(context.Background(), strings.NewReader("#!/bin/sh\n"), "a.sh", 1<<20)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err = s.update(func(tx *bolt.Tx) error {
		for i := range 10000 {
			t := t0.Add(time.Duration(i) * time.Millisecond)
			j := jobs.Job{ID: fmt.Sprintf("%s-%06d", t.Format("20060102T150405.000"), i), Sample: smp, State: jobs.Queued,
				Options: jobs.Options{Timeout: time.Second, Window: time.Second, Network: "user"},
				Created: t, Updated: t, History: []jobs.Transition{{State: jobs.Queued, At: t}}}
			if err := putJob(tx, &j, ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkClaimNext10k: an idle slot without network looks at a queue of
// 10,000 jobs that all want network (none for it), as every idle slot did
// every 500 ms. The same code runs on the version before issue 13 finding
// 11 (ClaimNext with the slot's filter), so the two are compared side by
// side.
func BenchmarkClaimNext10k(b *testing.B) {
	s := queue10k(b)
	accept := func(j jobs.Job) bool { return j.Options.Network == "" }
	b.ResetTimer()
	for b.Loop() {
		if _, ok, err := s.ClaimNext("slot0", accept); ok || err != nil {
			b.Fatalf("claimed %v %v", ok, err)
		}
	}
}
