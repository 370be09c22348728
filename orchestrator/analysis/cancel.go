package analysis

// Cancel of a job in progress (the daemon's Cancel cancels queued jobs in
// the store). The hooks are in Run and process (marked "cancel hook"):
// runRegistry knows the job's run from its claim until its final state is
// stored; cancellable makes the VM steps (restore ... collect) end at once
// with ErrJobCancelled, the destroy step then runs as always (the VM goes),
// and the job ends in state cancelled. A job in state processing (waiting
// for or in featurize, classify, fuse, report) stops at its current step and
// ends cancelled too; only a cancel that arrives after the report is stored
// finds the job done (the daemon answers 409).

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrJobCancelled is wrapped by the error of a run a user cancelled.
var ErrJobCancelled = errors.New("cancelled")

// CancelNote is the job's error when it is cancelled through the API.
const CancelNote = "cancelled through the API"

// runRegistry tracks the runs in progress by job id.
type runRegistry struct {
	mu   sync.Mutex
	runs map[string]*runHandle
}

type runHandle struct {
	done      chan struct{} // closed when the run has recorded the final state
	mu        sync.Mutex
	cancel    context.CancelCauseFunc // set while the analysis steps run
	requested bool
}

// track registers a run; the returned func unregisters it (deferred by
// the run, after the job's final state is stored).
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
		h.cancel(fmt.Errorf("%w: %s", ErrJobCancelled, CancelNote))
	}
}

// cancellable runs steps of r (f) under a context a cancel
// ends; a cancelled run returns an error wrapping ErrJobCancelled (not a
// StepError, so it is neither retried nor counted against the slot).
func (a *Runner) cancellable(r *jobRun, f func() error) error {
	h := a.runs.get(r.job.ID)
	if h == nil {
		return f()
	}
	parent := r.steps.parent
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	h.mu.Lock()
	h.cancel = cancel
	if h.requested {
		cancel(fmt.Errorf("%w: %s", ErrJobCancelled, CancelNote))
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

// RequestCancel asks the run of job id to stop. ok is false when no run of
// it is known here (not claimed yet, or already over); otherwise done is
// closed once the job's final state (or, when the orchestrator stops, its
// state for the next start) is stored.
func (a *Runner) RequestCancel(id string) (done <-chan struct{}, ok bool) {
	h := a.runs.get(id)
	if h == nil {
		return nil, false
	}
	h.request()
	return h.done, true
}

// CancelRequested reports whether a cancel of job id's run was asked for
// (tests wait for it).
func (a *Runner) CancelRequested(id string) bool {
	h := a.runs.get(id)
	if h == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requested
}
