package daemon

import (
	"context"
	"fmt"
	"github.com/scalemalnet/scalemalnet/orchestrator/pool"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/internal/vmtest"
	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// TestPoolQuarantineRealVMs breaks a slot on purpose with real VMs: its
// saved memory image is corrupted right before each of its next three
// restores (size and modification time kept, so only libvirt's restore
// notices). The slot must be quarantined after QuarantineAfter (3)
// failures in a row, rebuilt from a cold boot in the background, verified
// by a probe restore, return to idle and complete a job, while the other
// slot keeps taking jobs, including the ones that failed on the broken
// slot. The broken slot's transition log is the behaviour log.
func TestPoolQuarantineRealVMs(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	td := startDaemonWith(t, imageDir, 2, func(c *Config) {
		c.PluginBinary = "none" // the pool is under test, not the plugins
		c.QuarantineAfter = 3
	})
	const broken = "slot0"
	save := filepath.Join(td.cfg.DataDir, "vms", broken, "clean.save")
	var mu sync.Mutex
	corrupted := 0
	hook := func(s *pool.Slot) {
		if s.Name() != broken {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if corrupted >= 3 {
			return
		}
		st, err := os.Stat(save)
		if err != nil {
			t.Errorf("stat save file: %v", err)
			return
		}
		f, err := os.OpenFile(save, os.O_WRONLY, 0)
		if err != nil {
			t.Errorf("open save file: %v", err)
			return
		}
		_, err = f.WriteAt([]byte("corrupted by the pool test....."), 0) // libvirt's header magic
		f.Close()
		if err != nil {
			t.Errorf("corrupt save file: %v", err)
			return
		}
		if err := os.Chtimes(save, st.ModTime(), st.ModTime()); err != nil {
			t.Errorf("chtimes: %v", err)
		}
		corrupted++
		t.Logf("test: corrupted %s's saved memory image before its restore #%d", broken, corrupted)
	}
	td.pool.SetRestoreHook(hook)

	sample := filepath.Join(samplesDir, "benign-reader")
	opts := jobs.Options{Timeout: 10 * time.Second, Window: time.Second}
	ctx := context.Background()
	var ids []string
	submit := func() {
		f, err := os.Open(sample)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		j, err := td.Submit(ctx, "benign-reader", f, opts)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	for range 4 {
		submit()
	}

	// Wait until the broken slot has come back and finished a job after
	// coming back, keeping the queue fed so it has one to take.
	deadline := time.Now().Add(15 * time.Minute)
	var healedAt time.Time
	var afterHeal jobs.Job
	for time.Now().Before(deadline) && afterHeal.ID == "" {
		time.Sleep(time.Second)
		// Keep a job waiting, so both slots always have one to take.
		if n, _ := td.store.Count(jobs.Queued); n == 0 {
			submit()
		}
		s := td.pool.Slot(broken).Snapshot(true)
		if healedAt.IsZero() {
			for _, tr := range s.Transitions {
				if tr.From == SlotQuarantined && tr.To == SlotIdle {
					healedAt = tr.At
				}
			}
		}
		if healedAt.IsZero() {
			continue
		}
		for _, id := range ids {
			j, err := td.Job(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.State == jobs.Done && j.Slot == broken && j.Updated.After(healedAt) {
				afterHeal = j
			}
		}
	}
	s0 := td.pool.Slot(broken).Snapshot(true)
	t.Logf("behaviour log of %s (quarantine after %d failures in a row):\n%s", broken, td.pool.QuarantineAfter(), behaviourLog(s0.Transitions))
	if healedAt.IsZero() {
		t.Fatalf("%s never came back from quarantine", broken)
	}
	if afterHeal.ID == "" {
		t.Fatalf("%s came back at %s but completed no job", broken, healedAt.Format(time.TimeOnly))
	}
	if !hasTransition(s0.Transitions, SlotRestoring, SlotQuarantined) {
		t.Fatalf("%s was not quarantined by restore failures", broken)
	}
	healed := slices.IndexFunc(s0.Transitions, func(tr api.SlotTransition) bool { return tr.From == SlotQuarantined && tr.To == SlotIdle })
	if !strings.Contains(s0.Transitions[healed].Reason, "probe restore verified") {
		t.Fatalf("came back without a verified probe restore: %s", s0.Transitions[healed].Reason)
	}

	// Every job ends done: the ones that failed on the broken slot were
	// retried on the other; the other slot kept working meanwhile.
	var quarantinedAt time.Time
	for _, tr := range s0.Transitions {
		if tr.To == SlotQuarantined && quarantinedAt.IsZero() {
			quarantinedAt = tr.At
		}
	}
	retried, duringQuarantine := 0, 0
	for _, id := range ids {
		var j jobs.Job
		for time.Now().Before(deadline) {
			var err error
			if j, err = td.Job(ctx, id); err != nil {
				t.Fatal(err)
			}
			if j.State.Final() {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if j.State != jobs.Done {
			t.Errorf("job %s ended %s: %s", j.ID, j.State, j.Error)
			continue
		}
		if slices.Contains(j.FailedSlots, broken) {
			retried++
			if j.Slot == broken {
				t.Errorf("job %s failed on %s and was retried there although slot1 was available", j.ID, broken)
			}
		}
		if j.Slot == "slot1" && j.Updated.After(quarantinedAt) && j.Updated.Before(healedAt) {
			duringQuarantine++
		}
		t.Logf("job %s: %s on %s, attempts %d, failed on %v", j.ID, j.State, j.Slot, j.Attempts, j.FailedSlots)
	}
	if retried < 3 {
		t.Errorf("%d jobs were retried after failing on %s, want 3 (one per corrupted restore)", retried, broken)
	}
	t.Logf("slot1 completed %d jobs while %s was quarantined (%s to %s)", duringQuarantine, broken,
		quarantinedAt.Format("15:04:05"), healedAt.Format("15:04:05"))
	h := td.pool.PoolHealth(ctx)
	if h.Status != "ok" {
		t.Errorf("pool health after recovery: %+v", h)
	}
	s1 := td.pool.Slot("slot1").Snapshot(false)
	t.Logf("end state: %s %s analyses=%d fails=%d; slot1 %s analyses=%d", broken, s0.State, s0.Analyses, s0.ConsecutiveFailures, s1.State, s1.Analyses)
}

// behaviourLog formats transitions one per line, with the time since the
// first.
func behaviourLog(tr []api.SlotTransition) string {
	if len(tr) == 0 {
		return "(no transitions)"
	}
	var b strings.Builder
	t0 := tr[0].At
	for _, x := range tr {
		from := x.From
		if from == "" {
			from = "-"
		}
		job := ""
		if x.Job != "" {
			job = " [job " + x.Job + "]"
		}
		fmt.Fprintf(&b, "  %s +%6.1fs  %-11s -> %-11s %s%s\n", x.At.Format("15:04:05.000"), x.At.Sub(t0).Seconds(), from, x.To, x.Reason, job)
	}
	return b.String()
}
