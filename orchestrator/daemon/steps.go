package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

// Step names of an analysis, in order. They appear in job status (Job.Step)
// and in the report's timings.
const (
	StepRestore    = "restore"     // start the slot's VM from its clean memory state
	StepWaitAgent  = "wait-agent"  // connect to the agent, handshake, verify clean state
	StepSetTime    = "set-time"    // the restored guest clock is frozen at save time
	StepPushSample = "push-sample" // send the sample, guest verifies its SHA-256
	StepRun        = "run"         // run under the tracer; windows stream into the trace artifact
	StepCollect    = "collect"     // final summary, end the session, commit the trace artifact
	StepDestroy    = "destroy"     // stop the VM; the slot is free again
	StepReport     = "report"      // build and store the report
)

// StepTimeouts bounds each step, so a hang anywhere ends in a clear failure.
// The run step's bound is the job's timeout plus Config.StepGrace.
type StepTimeouts struct {
	Restore, WaitAgent, SetTime, PushSample, Collect, Destroy, Report time.Duration
	Featurize, Classify                                               time.Duration // all plugins of the kind together
}

// DefaultStepTimeouts suit TCG on a loaded 2-core host; KVM hosts finish far
// earlier.
var DefaultStepTimeouts = StepTimeouts{
	Restore:    90 * time.Second,
	WaitAgent:  30 * time.Second,
	SetTime:    10 * time.Second,
	PushSample: 60 * time.Second,
	Collect:    30 * time.Second,
	Destroy:    30 * time.Second,
	Report:     30 * time.Second,
	Featurize:  5 * time.Minute,
	Classify:   5 * time.Minute,
}

// ErrStepTimeout is wrapped when a step exceeds its bound.
var ErrStepTimeout = errors.New("step timed out")

// StepError says which step failed.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("step %s: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// stepRunner runs named steps with timeouts and records their timings.
type stepRunner struct {
	parent  context.Context
	steps   []report.Step
	onStart func(name string)
}

// do runs f under a deadline of d and records the step. A deadline hit is
// reported as ErrStepTimeout, distinct from the parent context ending.
func (r *stepRunner) do(name string, d time.Duration, f func(ctx context.Context) error) error {
	if r.onStart != nil {
		r.onStart(name)
	}
	ctx, cancel := context.WithTimeoutCause(r.parent, d, fmt.Errorf("%w: %s exceeded %s", ErrStepTimeout, name, d))
	defer cancel()
	start := time.Now()
	err := f(ctx)
	if err != nil && ctx.Err() != nil && r.parent.Err() == nil {
		err = fmt.Errorf("%w (%v)", context.Cause(ctx), err)
	}
	st := report.Step{Name: name, Duration: time.Since(start)}
	if err != nil {
		st.Error = err.Error()
		r.steps = append(r.steps, st)
		return &StepError{Step: name, Err: err}
	}
	r.steps = append(r.steps, st)
	return nil
}
