package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// Issue 13 finding 11: the queue has a cap; a job beyond it is refused
// with ErrQueueFull and nothing stored changes.
func TestCreateJobQueueCap(t *testing.T) {
	s, err := Open(t.TempDir(), Options{MaxQueued: 3, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	smp := putTestSample(t, s, "#!/bin/sh\n", "a.sh")
	ctx := context.Background()
	var ids []string
	for range 3 {
		j, err := s.CreateJob(ctx, smp, jobs.Options{Timeout: time.Second, Window: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	if _, err := s.CreateJob(ctx, smp, jobs.Options{Timeout: time.Second, Window: time.Second}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("4th job with max 3 queued: got %v, want ErrQueueFull", err)
	}
	if n, _ := s.Count(jobs.Queued); n != 3 {
		t.Fatalf("%d queued after the refusal, want 3", n)
	}
	for _, id := range ids {
		if j, err := s.Job(id); err != nil || j.State != jobs.Queued {
			t.Fatalf("job %s after the refusal: %v %v", id, j.State, err)
		}
	}
	if _, ok, err := s.ClaimNext("slot0", nil); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if _, err := s.CreateJob(ctx, smp, jobs.Options{Timeout: time.Second, Window: time.Second}); err != nil {
		t.Fatalf("after one job left the queue: %v", err)
	}
	if problems, err := s.Check(); err != nil || len(problems) != 0 {
		t.Fatalf("check: %v %v", problems, err)
	}
}

// ClaimNextFor takes only jobs of its network mode, oldest first, and
// passes over the others; jobs queued before the index held the mode
// (empty index values) are still found.
func TestClaimNextForNetwork(t *testing.T) {
	s := openTest(t, t.TempDir())
	smp := putTestSample(t, s, "#!/bin/sh\n", "a.sh")
	ctx := context.Background()
	mk := func(network string) jobs.Job {
		j, err := s.CreateJob(ctx, smp, jobs.Options{Timeout: time.Second, Window: time.Second, Network: network})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	u1, n1, u2, n2 := mk(jobs.NetworkUser), mk(jobs.NetworkNone), mk(jobs.NetworkUser), mk(jobs.NetworkNone)
	// n2's index entry as an older version wrote it: no mode.
	if err := s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bktStates).Bucket([]byte(jobs.Queued)).Put([]byte(n2.ID), nil)
	}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []jobs.Job{n1, n2} {
		j, ok, err := s.ClaimNextFor("slot0", jobs.NetworkNone, nil)
		if err != nil || !ok || j.ID != want.ID || j.State != jobs.Restoring || j.Slot != "slot0" || j.Attempts != 1 {
			t.Fatalf("claim: %s %v %v, want %s restoring", j.ID, ok, err, want.ID)
		}
	}
	if _, ok, err := s.ClaimNextFor("slot0", jobs.NetworkNone, nil); ok || err != nil {
		t.Fatalf("no job without network left: got ok=%v err=%v", ok, err)
	}
	j, ok, err := s.ClaimNextFor("slot1", jobs.NetworkUser, func(j jobs.Job) bool { return j.ID != u1.ID })
	if err != nil || !ok || j.ID != u2.ID {
		t.Fatalf("accept filter: got %s %v %v, want %s", j.ID, ok, err, u2.ID)
	}
}

// Slots claiming at once never take the same job, and every job is taken.
func TestClaimNextForConcurrent(t *testing.T) {
	s := openTest(t, t.TempDir())
	smp := putTestSample(t, s, "#!/bin/sh\n", "a.sh")
	const n = 40
	for range n {
		if _, err := s.CreateJob(context.Background(), smp, jobs.Options{Timeout: time.Second, Window: time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slot := fmt.Sprintf("slot%d", w)
			for {
				j, ok, err := s.ClaimNextFor(slot, jobs.NetworkNone, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				if prev, dup := seen[j.ID]; dup {
					t.Errorf("job %s claimed by %s and %s", j.ID, prev, slot)
				}
				seen[j.ID] = slot
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d jobs claimed, want %d", len(seen), n)
	}
}
