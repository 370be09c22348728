package daemon

import (
	"bytes"
	"context"
	"errors"
	"github.com/scalemalnet/scalemalnet/orchestrator/analysis"
	"github.com/scalemalnet/scalemalnet/orchestrator/pool/pooltest"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
	"log/slog"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/errkind"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

// Issue 13 finding 11: Submit beyond MaxQueued is refused as unavailable
// (503) and queue full, and the jobs already queued are untouched.
func TestSubmitQueueFull(t *testing.T) {
	dir := t.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	cfg := Config{DataDir: dir, Logger: quiet, MinFreeBytes: -1, PluginBinary: "none", MaxQueued: 2}
	if err := cfg.setDefaults(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir, store.Options{Logger: quiet, MaxQueued: cfg.MaxQueued})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := &Daemon{cfg: cfg, log: quiet, store: st, hv: pooltest.New(t), img: pooltest.Image(t), accel: vm.AccelTCG, instance: "unit",
		timeouts: analysis.DefaultStepTimeouts, runDir: t.TempDir()}
	setPool(t, d)
	ctx := context.Background()
	opts := jobs.Options{Timeout: time.Second, Window: time.Second}
	var queued []jobs.Job
	for i := range 2 {
		j, err := d.Submit(ctx, "s", bytes.NewReader([]byte{0x7f, 'E', 'L', 'F', byte(i)}), opts)
		if err != nil {
			t.Fatal(err)
		}
		queued = append(queued, j)
	}
	_, err = d.Submit(ctx, "s", bytes.NewReader([]byte("\x7fELF third")), opts)
	if !errors.Is(err, api.ErrUnavailable) || !errors.Is(err, errkind.ErrQueueFull) {
		t.Fatalf("3rd submission with max 2: got %v, want ErrUnavailable and ErrQueueFull", err)
	}
	if n, _ := st.Count(jobs.Queued); n != 2 {
		t.Fatalf("%d queued, want 2", n)
	}
	for _, q := range queued {
		if j, err := st.Job(q.ID); err != nil || j.State != jobs.Queued {
			t.Fatalf("queued job %s after the refusal: %v %v", q.ID, j.State, err)
		}
	}
}
