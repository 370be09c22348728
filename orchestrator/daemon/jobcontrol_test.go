package daemon

import (
	"context"
	"errors"
	"github.com/scalemalnet/scalemalnet/orchestrator/analysis"
	"github.com/scalemalnet/scalemalnet/orchestrator/pool"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

// TestCancelRunningAndQueuedJobs: a job stopped in its restore step ends
// cancelled with its VM destroyed and the slot free for the next job; a
// queued job is cancelled at once; delete refuses an active job and
// removes a finished one; /metrics shows the outcome.
func TestCancelRunningAndQueuedJobs(t *testing.T) {
	e := newPoolDaemon(t, Config{Slots: 1}, "")
	h := api.NewHandler(e.Daemon, "tok", e.handlerOptions()) // registers the metrics
	waitFor(t, "slot0 idle", func() bool { return e.slotStateOf("slot0") == SlotIdle })

	entered, release := make(chan struct{}), make(chan struct{})
	first := true
	hook := func(s *pool.Slot) {
		if first {
			first = false
			close(entered)
			<-release
		}
	}
	e.pool.SetRestoreHook(hook)

	running := e.submit(t)
	<-entered // the worker is in the restore step of the job
	queued := e.submit(t)

	if _, err := e.Delete(context.Background(), running.ID); !errors.Is(err, store.ErrActive) {
		t.Fatalf("delete of a running job: %v, want ErrActive", err)
	}
	j, err := e.Cancel(context.Background(), queued.ID)
	if err != nil || j.State != jobs.Cancelled || j.Error != analysis.CancelNote {
		t.Fatalf("cancel queued: %+v %v", j, err)
	}

	type result struct {
		j   jobs.Job
		err error
	}
	done := make(chan result, 1)
	go func() {
		j, err := e.Cancel(context.Background(), running.ID)
		done <- result{j, err}
	}()
	waitFor(t, "the cancel to reach the run", func() bool {
		return e.runner.CancelRequested(running.ID)
	})
	close(release)
	res := <-done
	if res.err != nil || res.j.State != jobs.Cancelled || !strings.Contains(res.j.Error, "during step restore") {
		t.Fatalf("cancel running: %+v %v", res.j, res.err)
	}
	if res.j.HasReport {
		t.Fatal("a cancelled job has a report")
	}
	// The slot was not blamed and takes the next job.
	next := e.submit(t)
	if j := e.waitJob(t, next.ID); j.State != jobs.Done {
		t.Fatalf("next job %s: %s", j.State, j.Error)
	}
	if got := e.slotStateOf("slot0"); got == SlotQuarantined || got == SlotBroken {
		t.Fatalf("slot %s after a cancel", got)
	}
	if _, err := e.Cancel(context.Background(), next.ID); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("cancel of a done job: %v, want ErrConflict", err)
	}
	for _, id := range []string{running.ID, queued.ID, next.ID} {
		if _, err := e.Delete(context.Background(), id); err != nil {
			t.Fatalf("delete %s: %v", id, err)
		}
	}
	if p, err := e.store.Check(); err != nil || len(p) != 0 {
		t.Fatalf("store check: %v %v", p, err)
	}

	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Authorization", "Bearer tok")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`scalemalnet_jobs_finished_total{state="cancelled"} 1`,
		`scalemalnet_jobs_finished_total{state="done"} 1`,
		`scalemalnet_step_duration_seconds_count{result="error",step="restore"} 1`,
		`scalemalnet_slots{state="idle"} 1`,
		`scalemalnet_queue_depth 0`,
		`scalemalnet_store_db_bytes `,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 401 {
		t.Fatalf("/metrics without the token: %d", rec.Code)
	}
}
