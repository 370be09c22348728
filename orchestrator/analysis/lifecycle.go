package analysis

// The analysis lifecycle as one table of steps (lifecycle below). A job's
// steps run in table order: the VM steps on the job's slot, then, with the
// VM destroyed and the slot already taking the next job, the processing
// steps on the post-VM workers (processor.go). Each row says how long the
// step may take, whether it needs the VM, and whether its failure is the
// sandbox's (retried on another slot) or the sample's (the job fails).
// Timeouts, retry classification, VM-loss explanation and the report's step
// list all come from the table.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
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
	StepFeaturize  = "featurize"   // featurizer plugins turn the sample and its trace into feature sets
	StepClassify   = "classify"    // classifier plugins vote
	StepFuse       = "fuse"        // the fusion model turns the votes into the two-stage verdict
	StepReport     = "report"      // build and store the report
)

// Failure says whose fault a failed step is.
type Failure int

const (
	// FailSample: the sample or the guest's answers during the run; the
	// job fails without a retry.
	FailSample Failure = iota
	// FailInfra: the sandbox (restore, agent, VM); the job is retried on
	// another slot, up to MaxAttempts.
	FailInfra
	// FailNever: the step records its problems in the report and never
	// fails the job (plugins and fusion).
	FailNever
)

// Step is one row of the lifecycle table.
type Step struct {
	Name string
	// Timeout bounds the step; the run step's depends on the job.
	Timeout func(t StepTimeouts, j jobs.Job, grace time.Duration) time.Duration
	// WithVM: the step needs the slot's VM (it runs before the slot is
	// released).
	WithVM bool
	// Guest: the step talks to the guest agent, so its failure may be the
	// VM going away (see explainVMLoss).
	Guest bool
	// CleanState: a failure means the slot's saved clean state is suspect.
	CleanState bool
	// Failure classifies a failure of the step.
	Failure Failure
	// Enter is the job state the job moves to when the step starts ("":
	// unchanged).
	Enter jobs.State
	// Plugins: the step runs only when plugins are configured.
	Plugins bool
	// Run does the work.
	Run func(r *jobRun, ctx context.Context) error
}

func fixed(f func(t StepTimeouts) time.Duration) func(StepTimeouts, jobs.Job, time.Duration) time.Duration {
	return func(t StepTimeouts, _ jobs.Job, _ time.Duration) time.Duration { return f(t) }
}

// lifecycle is the table. Destroy runs whatever happened before it.
var lifecycle = []Step{
	{Name: StepRestore, Timeout: fixed(func(t StepTimeouts) time.Duration { return t.Restore }), WithVM: true, CleanState: true, Failure: FailInfra,
		Run: func(r *jobRun, ctx context.Context) error { return r.lease.Restore(ctx) }},
	{Name: StepWaitAgent, Timeout: fixed(func(t StepTimeouts) time.Duration { return t.WaitAgent }), WithVM: true, Guest: true, CleanState: true, Failure: FailInfra,
		Run: (*jobRun).waitAgent},
	{Name: StepSetTime, Timeout: fixed(func(t StepTimeouts) time.Duration { return t.SetTime }), WithVM: true, Guest: true, Failure: FailInfra,
		Run: func(r *jobRun, ctx context.Context) error { return r.sess.SetTime(ctx, time.Now()) }},
	{Name: StepPushSample, Timeout: fixed(func(t StepTimeouts) time.Duration { return t.PushSample }), WithVM: true, Guest: true, Failure: FailInfra,
		Run: (*jobRun).pushSample},
	{Name: StepRun, Timeout: func(_ StepTimeouts, j jobs.Job, grace time.Duration) time.Duration { return j.Options.Timeout + grace },
		WithVM: true, Guest: true, Failure: FailSample, Enter: jobs.Running, Run: (*jobRun).run},
	{Name: StepCollect, Timeout: fixed(func(t StepTimeouts) time.Duration { return t.Collect }), WithVM: true, Guest: true, Failure: FailSample,
		Enter: jobs.Collecting, Run: (*jobRun).collect},
	{Name: StepDestroy, Timeout: fixed(func(t StepTimeouts) time.Duration { return t.Destroy }), WithVM: true, Failure: FailInfra,
		Run: (*jobRun).destroy},
	{Name: StepFeaturize, Timeout: fixed(func(t StepTimeouts) time.Duration { return t.Featurize }), Failure: FailNever, Plugins: true,
		Run: (*jobRun).featurize},
	{Name: StepClassify, Timeout: fixed(func(t StepTimeouts) time.Duration { return t.Classify }), Failure: FailNever, Plugins: true,
		Run: (*jobRun).classify},
	{Name: StepFuse, Timeout: fixed(func(t StepTimeouts) time.Duration { return t.Fuse }), Failure: FailNever, Plugins: true,
		Run: (*jobRun).fuse},
	{Name: StepReport, Timeout: fixed(func(t StepTimeouts) time.Duration { return t.Report }), Failure: FailSample,
		Run: (*jobRun).storeReport},
}

// stepNamed returns the table's row for name.
func stepNamed(name string) (Step, bool) {
	for _, s := range lifecycle {
		if s.Name == name {
			return s, true
		}
	}
	return Step{}, false
}

// StepNames lists the lifecycle's steps in order.
func StepNames() []string {
	out := make([]string, len(lifecycle))
	for i, s := range lifecycle {
		out[i] = s.Name
	}
	return out
}

// StepTimeouts bounds each step, so a hang anywhere ends in a clear failure.
// The run step's bound is the job's timeout plus Config.StepGrace.
type StepTimeouts struct {
	Restore, WaitAgent, SetTime, PushSample, Collect, Destroy, Report time.Duration
	Featurize, Classify                                               time.Duration // all plugins of the kind together
	Fuse                                                              time.Duration
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
	Fuse:       30 * time.Second,
}

// MergeTimeouts returns def with the non-zero fields of set.
func MergeTimeouts(def, set StepTimeouts) StepTimeouts {
	for _, f := range []struct{ dst, src *time.Duration }{
		{&def.Restore, &set.Restore}, {&def.WaitAgent, &set.WaitAgent}, {&def.SetTime, &set.SetTime},
		{&def.PushSample, &set.PushSample}, {&def.Collect, &set.Collect}, {&def.Destroy, &set.Destroy},
		{&def.Report, &set.Report}, {&def.Featurize, &set.Featurize}, {&def.Classify, &set.Classify},
		{&def.Fuse, &set.Fuse},
	} {
		if *f.src > 0 {
			*f.dst = *f.src
		}
	}
	return def
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

// IsInfraFailure tells failures of the sandbox (worth retrying elsewhere)
// from failures caused by the sample or the guest's answers during the run.
func IsInfraFailure(err error) bool {
	if errors.Is(err, ErrVMStopped) {
		return true // QEMU died under the job, at whatever step
	}
	if errors.Is(err, vm.ErrHost) {
		return true // the slot's hypervisor host failed under the job (docs/scale-out.md)
	}
	var se *StepError
	if !errors.As(err, &se) {
		return false
	}
	st, ok := stepNamed(se.Step)
	return ok && st.Failure == FailInfra
}

// IsCleanStateFailure: the slot's saved clean state did not come up as
// saved.
func IsCleanStateFailure(err error) bool {
	var se *StepError
	if errors.As(err, &se) {
		if st, ok := stepNamed(se.Step); ok && st.CleanState {
			return true
		}
	}
	return errors.Is(err, vm.ErrNoCleanState)
}
