package daemon

// Cancel and delete of jobs (POST /api/v1/jobs/{id}/cancel, DELETE
// /api/v1/jobs/{id}). A queued job is cancelled in the store, atomically
// with the workers' claims; a job in progress (on its slot, or processing
// after its VM) is stopped by its analysis (analysis.Runner.RequestCancel)
// and ends cancelled.

import (
	"context"
	"fmt"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/analysis"
	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// cancelWait bounds how long Cancel waits for a running job to stop (the
// destroy step included).
var cancelWait = 2 * time.Minute

// Cancel cancels a job: a queued one at once, a running one by stopping
// its analysis and destroying its VM, a processing one by stopping its
// featurize, classify, fuse or report step (analysis/cancel.go). It returns the job in its final
// state; api.ErrConflict if the job had already finished (or finished
// before the cancel took effect).
func (d *Daemon) Cancel(ctx context.Context, id string) (jobs.Job, error) {
	ctx, stop := context.WithTimeout(ctx, cancelWait)
	defer stop()
	for {
		j, ok, err := d.store.CancelQueued(id, analysis.CancelNote)
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
		if done, ok := d.runner.RequestCancel(id); ok {
			select {
			case <-done:
			case <-ctx.Done():
				return j, fmt.Errorf("%w: job %s did not stop within %s", api.ErrUnavailable, id, cancelWait)
			}
			if j, err = d.store.Job(id); err != nil {
				return j, err
			}
			if j.State != jobs.Cancelled {
				return j, fmt.Errorf("%w: job %s ended %s before the cancel took effect", api.ErrConflict, id, j.State)
			}
			d.log.Info("job in progress cancelled", "job", id)
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
