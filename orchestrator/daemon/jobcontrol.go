package daemon

// Cancel and delete of jobs (POST /api/v1/jobs/{id}/cancel, DELETE
// /api/v1/jobs/{id}). A queued job is cancelled in the store, atomically
// with the workers' claims. A running job is stopped through the hooks in
// runJob (worker.go, marked "cancel hook"): runRegistry knows the job's
// run, cancellable makes the analysis steps (restore ... collect) end at
// once with ErrJobCancelled, the destroy step then runs as always (the VM
// goes), and the job ends in state cancelled. A cancel that arrives after
// the analysis steps (featurize, classify, report) waits for them: the job
// then ends done and the cancel answers 409.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// ErrJobCancelled is wrapped by the error of a run a user cancelled.
var ErrJobCancelled = errors.New("cancelled")

// cancelNote is the job's error when it is cancelled through the API.
const cancelNote = "cancelled through the API"

// runRegistry tracks the runs in progress by job id.
type runRegistry struct {
	mu   sync.Mutex
	runs map[string]*runHandle
}

type runHandle struct {
	done      chan struct{} // closed when runJob has recorded the final state
	mu        sync.Mutex
	cancel    context.CancelCauseFunc // set while the analysis steps run
	requested bool
}

// track registers a run; the returned func unregisters it (deferred by
// runJob, after the job's final state is stored).
func (rr *runRegistry) track(id string) func() {
	h := &runHandle{done: make(chan struct{})}
	rr.mu.Lock()
	if rr.runs == nil {
		rr.runs = map[string]*runHandle{}
	}
	rr.runs[id] = h
	rr.mu.Unlock()
	return func() {
		rr.mu.Lock()
		if rr.runs[id] == h {
			delete(rr.runs, id)
		}
		rr.mu.Unlock()
		close(h.done)
	}
}

func (rr *runRegistry) get(id string) *runHandle {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return rr.runs[id]
}

// request asks the run to stop.
func (h *runHandle) request() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requested = true
	if h.cancel != nil {
		h.cancel(fmt.Errorf("%w: %s", ErrJobCancelled, cancelNote))
	}
}

// cancellable runs the analysis steps of r (f) under a context a cancel
// ends; a cancelled run returns an error wrapping ErrJobCancelled (not a
// StepError, so it is neither retried nor counted against the slot).
func (d *Daemon) cancellable(r *jobRun, f func() error) error {
	h := d.runs.get(r.job.ID)
	if h == nil {
		return f()
	}
	parent := r.steps.parent
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	h.mu.Lock()
	h.cancel = cancel
	if h.requested {
		cancel(fmt.Errorf("%w: %s", ErrJobCancelled, cancelNote))
	}
	h.mu.Unlock()
	r.steps.parent = ctx
	err := f()
	r.steps.parent = parent // destroy and the later steps run whatever happened
	h.mu.Lock()
	h.cancel = nil
	h.mu.Unlock()
	if cause := context.Cause(ctx); errors.Is(cause, ErrJobCancelled) && parent.Err() == nil {
		var se *StepError
		if errors.As(err, &se) {
			return fmt.Errorf("%w during step %s", cause, se.Step)
		}
		return cause
	}
	return err
}

// cancelWait bounds how long Cancel waits for a running job to stop (the
// destroy step included).
var cancelWait = 2 * time.Minute

// Cancel cancels a job: a queued one at once, a running one by stopping
// its analysis and destroying its VM. It returns the job in its final
// state; api.ErrConflict if the job had already finished (or finished
// before the cancel took effect).
func (d *Daemon) Cancel(ctx context.Context, id string) (jobs.Job, error) {
	ctx, stop := context.WithTimeout(ctx, cancelWait)
	defer stop()
	for {
		j, ok, err := d.store.CancelQueued(id, cancelNote)
		if err != nil {
			return jobs.Job{}, err
		}
		if ok {
			d.log.Info("job cancelled while queued", "job", id)
			return j, nil
		}
		if j.State.Final() {
			return j, fmt.Errorf("%w: job %s is already %s", api.ErrConflict, id, j.State)
		}
		if h := d.runs.get(id); h != nil {
			h.request()
			select {
			case <-h.done:
			case <-ctx.Done():
				return j, fmt.Errorf("%w: job %s did not stop within %s", api.ErrUnavailable, id, cancelWait)
			}
			if j, err = d.store.Job(id); err != nil {
				return j, err
			}
			if j.State != jobs.Cancelled {
				return j, fmt.Errorf("%w: job %s ended %s before the cancel took effect", api.ErrConflict, id, j.State)
			}
			d.log.Info("running job cancelled", "job", id)
			return j, nil
		}
		// Claimed a moment ago, or running on another orchestrator
		// sharing nothing: wait for its run to register.
		select {
		case <-ctx.Done():
			return j, fmt.Errorf("%w: job %s is %s but no run of it is known here", api.ErrUnavailable, id, j.State)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Delete deletes a finished job with its report and artifacts.
func (d *Daemon) Delete(ctx context.Context, id string) (jobs.Job, error) {
	j, err := d.store.DeleteJob(id)
	if err != nil {
		return j, err
	}
	d.log.Info("job deleted", "job", id, "state", j.State)
	return j, nil
}

var _ api.JobControl = (*Daemon)(nil)
