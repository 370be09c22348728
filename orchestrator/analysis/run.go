package analysis

// One analysis: a claimed job on a leased slot, through the lifecycle
// table's steps (lifecycle.go). The VM steps run on the slot (Run); the
// steps after the VM run on the post-VM workers (processor.go). The pool
// hands over a Lease and learns from it whether the slot failed.

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/orchestrator/agentclient"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"github.com/scalemalnet/scalemalnet/orchestrator/fakenet"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
	"github.com/scalemalnet/scalemalnet/orchestrator/verdict"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
	"github.com/scalemalnet/scalemalnet/plugins/host"
)

// Trace budget per job: calls kept with details, windows streamed.
const (
	MaxKeptEvents = 200_000
	MaxWindows    = 3600
)

// MaxAttempts is how often a job is started on a slot before it fails for
// infrastructure reasons (restore or agent failures, orchestrator restarts).
const MaxAttempts = 3

// Lease is a slot lent to one job by the pool, from its claim until the VM
// steps are over. The pool implements it.
type Lease interface {
	// Name is the slot's name (jobs.Job.FailedSlots, report.Machine.Slot).
	Name() string
	// VM is the slot's VM; only the holder of the lease uses it.
	VM() *vm.Slot
	// Restore is the restore step: the VM from the slot's clean state.
	Restore(ctx context.Context) error
	// Verify checks the agent's hello against the slot's clean state.
	Verify(h proto.Hello) error
	// Verified says restore and agent handshake went through: the slot's
	// failure streak ends.
	Verified()
	// Failed reports a failed attempt before the job's state is recorded:
	// cleanState when the slot's saved clean state is suspect (it counts
	// towards quarantine unless stopping).
	Failed(err error, cleanState, stopping bool)
	// FakeNet is the slot's fake internet (isolated network), or nil.
	FakeNet() *fakenet.Responder
}

// Config is what an analysis needs from the orchestrator.
type Config struct {
	Store      *store.Store
	Hypervisor vm.Hypervisor // tells a VM that went away (vmloss.go)
	// HostHypervisor is the hypervisor of a remote host (vm.Spec.Host);
	// nil when every slot is local (docs/scale-out.md).
	HostHypervisor func(host string) vm.Hypervisor
	Log            *slog.Logger
	Accel          string // the report's machine section
	// ImageDigest names the guest image in reports.
	ImageDigest      string
	Timeouts         StepTimeouts
	StepGrace        time.Duration // added to the job's timeout for the run step
	MaxArtifactBytes int64
	// Plugins run featurize and classify; nil: no plugin steps.
	Plugins *host.Manager
	// Fusion makes the verdict; nil when there is none (NoVerdict says why).
	Fusion    *Fuser
	NoVerdict string
	// Workers is how many jobs are processed at once after their VM;
	// default DefaultProcessWorkers.
	Workers int

	// Requeued is called after a job went back to the queue.
	Requeued func()
	// Ended is called when a run ends (done, failed, cancelled or
	// re-queued), for metrics.
	Ended func(jobID string, steps []report.Step)
	// SlotError records a failure after the VM against the slot that ran
	// the job.
	SlotError func(slot string, err error)
}

// Runner runs analyses. Its zero-value state is ready once Config is set;
// Start starts the post-VM workers.
type Runner struct {
	Config
	runs   runRegistry // runs in progress, for cancel (cancel.go)
	post   *processor
	resume []*jobRun
}

// New returns a Runner.
func New(cfg Config) *Runner {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Runner{Config: cfg}
}

// jobRun carries one analysis through its steps.
type jobRun struct {
	a        *Runner
	lease    Lease
	job      jobs.Job
	steps    *stepRunner
	hello    proto.Hello
	sess     *agentclient.Session
	conn     net.Conn
	builder  *report.Builder
	summary  trace.Summary
	traceRef report.TraceRef
	artifact *store.ArtifactWriter // trace being written; aborted unless committed
	sets     map[string]*setOutcome
	features []report.Feature
	votes    []report.Vote
	verdict  *report.Verdict
	machine  report.Machine     // set when the VM steps succeeded
	fakeNet  *fakenet.Responder // isolated mode: recording during run
	traffic  *report.Traffic    // isolated mode: set by collect
	zw       *gzip.Writer
	jw       *trace.JSONLWriter
	plugins  *host.Set // the plugins this job runs with, taken at its first plugin step
	// signatures: every matches set's rules (plugins.go addMatches)
	signatures []report.Signature
	// untrack ends the run's cancel registration (cancel.go), once the
	// job's final state is stored: by Run, or by process after a hand-off.
	untrack     func()
	untrackOnce sync.Once
	handedOff   bool
}

func (r *jobRun) untrackNow() {
	if r.untrack != nil {
		r.untrackOnce.Do(r.untrack)
	}
}

// Run runs the VM steps of one claimed job (state restoring) on its leased
// slot and destroys the VM. On success the job moves to processing and is
// handed to the post-VM workers, so the slot takes its next job while
// featurize, classify, fuse and report run; on failure it ends failed, or
// back in the queue when the infrastructure failed and attempts remain.
// The lease ends when Run returns.
func (a *Runner) Run(ctx context.Context, l Lease, job jobs.Job) {
	log := a.Log.With("job", job.ID, "slot", l.Name())
	log.Info("analysis starting", "sample", job.Sample.Name, "sha256", job.Sample.SHA256, "attempt", job.Attempts)
	r := &jobRun{a: a, lease: l, job: job, builder: report.NewBuilder()}
	r.untrack = a.runs.track(job.ID) // cancel hook: the run can be cancelled (cancel.go)
	defer func() {
		if !r.handedOff {
			r.untrackNow() // after the job's final state is stored
		}
	}()
	r.steps = &stepRunner{parent: ctx, onStart: func(name string) {
		if name == StepSetTime {
			l.Verified() // restore and agent verified: the slot's failure streak ends
		}
		a.recordStep(job.ID, name, log)
	}}
	err := r.runVMSteps(ctx)
	if err == nil {
		r.machine = r.machineInfo() // the slot's VM is gone; the report keeps what it was
		err = a.handOff(ctx, r)
	}
	if err != nil {
		a.jobFailed(ctx, r, err)
	}
}

// runVMSteps walks the table's VM steps; destroy runs whatever happened.
func (r *jobRun) runVMSteps(ctx context.Context) error {
	a := r.a
	// cancel hook: a cancel ends the VM steps (cancel.go)
	err := a.cancellable(r, func() error {
		for _, st := range lifecycle {
			if !st.WithVM || st.Name == StepDestroy {
				continue
			}
			if err := r.step(st); err != nil {
				return err
			}
		}
		return nil
	})
	err = a.explainVMLoss(ctx, r.lease.VM(), err) // "EOF" from a VM that went away says why
	if r.artifact != nil {
		r.artifact.Abort() // no-op once committed
	}
	// The VM goes whatever happened; the slot must be free for the next job.
	destroy, _ := stepNamed(StepDestroy)
	if derr := r.step(destroy); derr != nil && err == nil {
		err = derr
	}
	return err
}

// step runs one row of the table: the job's state change, then the work
// under the row's timeout.
func (r *jobRun) step(st Step) error {
	if st.Enter != "" {
		if _, err := r.a.Store.UpdateJob(r.job.ID, func(j *jobs.Job) error { return j.Move(st.Enter, time.Now().UTC(), "") }); err != nil {
			return err
		}
	}
	return r.steps.do(st.Name, st.Timeout(r.a.Timeouts, r.job, r.a.StepGrace), func(ctx context.Context) error { return st.Run(r, ctx) })
}

// runPostSteps walks the table's steps after the VM: plugin steps (when
// there are plugins) never fail the job; the report step may.
func (r *jobRun) runPostSteps() error {
	if r.a.Plugins != nil {
		// A reload during the job does not change its plugins (host.Set).
		r.plugins = r.a.Plugins.Acquire()
		defer r.plugins.Release()
	}
	for _, st := range lifecycle {
		if st.WithVM || st.Plugins && r.a.Plugins == nil {
			continue
		}
		if ctx := r.steps.parent; ctx.Err() != nil {
			return &StepError{Step: st.Name, Err: context.Cause(ctx)} // cancelled or stopping before the step
		}
		err := r.step(st)
		if ctx := r.steps.parent; ctx.Err() != nil {
			return &StepError{Step: st.Name, Err: context.Cause(ctx)} // cancelled or stopping during it: no further step
		}
		if err != nil && st.Failure != FailNever {
			return err
		}
	}
	return nil
}

func (r *jobRun) destroy(ctx context.Context) error {
	if r.fakeNet != nil {
		r.fakeNet.End() // a run that failed before collect: drop its capture
	}
	if r.conn != nil {
		r.conn.Close()
	}
	return r.lease.VM().Destroy(ctx)
}

func (a *Runner) recordStep(id, name string, log *slog.Logger) {
	if _, err := a.Store.UpdateJob(id, func(j *jobs.Job) error { j.Step = name; return nil }); err != nil {
		log.Warn("record step", "step", name, "err", err)
	}
}

// ended tells the metrics hook a run ended.
func (a *Runner) ended(r *jobRun) {
	if a.Ended != nil {
		a.Ended(r.job.ID, r.steps.steps)
	}
}

// finish logs a processed job, which the report step marked done in the
// report's transaction.
func (a *Runner) finish(r *jobRun) {
	defer a.ended(r) // metrics hook: step durations, final state
	log := a.Log.With("job", r.job.ID, "slot", r.machine.Slot)
	log.Info("analysis done", "outcome", r.summary.Outcome, "events", r.summary.Events, "steps", stepLine(r.steps.steps))
}

// jobFailed records a failed attempt: on the slot (through the lease), and
// on the job (failed, or re-queued for an infrastructure failure with
// attempts left).
func (a *Runner) jobFailed(ctx context.Context, r *jobRun, err error) {
	defer a.ended(r) // metrics hook: step durations, final state
	job, slot := r.job, r.lease.Name()
	log := a.Log.With("job", job.ID, "slot", slot)
	now := time.Now().UTC()
	infra := ctx.Err() == nil && IsInfraFailure(err)
	retry := ctx.Err() != nil || infra
	clean := IsCleanStateFailure(err)
	if clean {
		log.Warn("clean state failed verification; it will be rebuilt", "err", err)
	}
	r.lease.Failed(err, clean, ctx.Err() != nil) // may quarantine the slot
	if _, uerr := a.Store.UpdateJob(job.ID, func(j *jobs.Job) error {
		if infra && !slices.Contains(j.FailedSlots, slot) {
			j.FailedSlots = append(j.FailedSlots, slot) // other slots take the retry
		}
		switch {
		case errors.Is(err, ErrJobCancelled): // cancel hook
			return j.Move(jobs.Cancelled, now, err.Error())
		case ctx.Err() != nil:
			return j.Move(jobs.Queued, now, "orchestrator stopping; re-queued")
		case retry && j.Attempts < MaxAttempts:
			return j.Move(jobs.Queued, now, fmt.Sprintf("attempt %d on %s failed: %v; re-queued", j.Attempts, slot, err))
		case retry:
			return j.Move(jobs.Failed, now, attemptsReason(j, slot, err))
		default:
			return j.Move(jobs.Failed, now, err.Error())
		}
	}); uerr != nil {
		log.Error("record failure", "err", uerr)
	}
	if retry && a.Requeued != nil {
		a.Requeued() // re-queued: another idle slot may take it now
	}
	log.Warn("analysis failed", "err", err, "retry", retry)
}

// attemptsReason is the error of a job that failed MaxAttempts times for
// infrastructure reasons: every attempt, where it ran and why it failed.
func attemptsReason(j *jobs.Job, slot string, err error) string {
	var parts []string
	for _, t := range j.History {
		if strings.HasSuffix(t.Note, "; re-queued") && !strings.HasPrefix(t.Note, "orchestrator stopping") {
			parts = append(parts, strings.TrimSuffix(t.Note, "; re-queued"))
		}
	}
	parts = append(parts, fmt.Sprintf("attempt %d on %s failed: %v", j.Attempts, slot, err))
	return fmt.Sprintf("gave up after %d attempts: %s", j.Attempts, strings.Join(parts, "; "))
}

func (r *jobRun) waitAgent(ctx context.Context) error {
	conn, err := r.lease.VM().DialAgent(ctx)
	if err != nil {
		return err
	}
	r.conn = conn
	sess, hello, err := agentclient.Handshake(ctx, conn)
	if err != nil {
		return err
	}
	r.sess, r.hello = sess, hello
	return r.lease.Verify(hello)
}

func (r *jobRun) pushSample(ctx context.Context) error {
	f, err := r.a.Store.OpenSample(r.job.Sample.SHA256)
	if err != nil {
		return err
	}
	defer f.Close()
	return r.sess.PushSample(ctx, r.job.Sample.Name, f, r.job.Sample.Size, r.job.Sample.SHA256)
}

// run streams the trace into a gzip JSONL artifact while folding it into
// the report builder, until the agent's final summary.
func (r *jobRun) run(ctx context.Context) error {
	aw, err := r.a.Store.CreateArtifact(r.job.ID, defaults.TraceArtifact)
	if err != nil {
		return err
	}
	r.artifact = aw
	r.zw = gzip.NewWriter(&limitWriter{w: aw, max: r.a.MaxArtifactBytes})
	r.jw = trace.NewJSONLWriter(r.zw)
	req := proto.Run{
		TimeoutMs:  r.job.Options.Timeout.Milliseconds(),
		WindowMs:   r.job.Options.Window.Milliseconds(),
		Args:       r.job.Options.Args,
		MaxEvents:  MaxKeptEvents,
		MaxWindows: MaxWindows,
		Export:     r.job.Options.Export,
	}
	r.beginCapture()
	sum, err := r.sess.Run(ctx, req, func(w trace.Window) error {
		r.builder.AddWindow(w)
		return r.jw.Window(&w)
	})
	if err != nil {
		return err
	}
	r.summary = sum
	return nil
}

// collect ends the agent session and commits the trace artifact.
func (r *jobRun) collect(ctx context.Context) error {
	r.sess.Bye()
	if err := r.jw.Summary(&r.summary); err != nil {
		return err
	}
	if err := r.zw.Close(); err != nil {
		return err
	}
	ref, err := r.artifact.Commit()
	if err != nil {
		return err
	}
	r.traceRef = report.TraceRef{Path: ref.Path, Format: "jsonl+gzip", Size: ref.Size, SHA256: ref.SHA256}
	return r.endCapture()
}

// machineInfo is the report's machine section, taken while the job still
// has its slot.
func (r *jobRun) machineInfo() report.Machine {
	m := report.Machine{
		Slot: r.lease.Name(), Host: r.lease.VM().Spec().Host, Domain: r.lease.VM().Spec().Name, Hypervisor: r.a.Accel,
		Kernel: r.hello.Kernel, AgentVersion: r.hello.AgentVersion, BootID: r.hello.BootID,
		Image: r.a.ImageDigest,
	}
	r.setNetwork(&m)
	return m
}

func (r *jobRun) storeReport(ctx context.Context) error {
	rep := &report.Report{
		Schema:   report.SchemaVersion,
		JobID:    r.job.ID,
		Sample:   r.job.Sample,
		Options:  r.job.Options,
		Machine:  r.machine,
		Steps:    r.steps.steps,
		Outcome:  report.OutcomeOf(r.summary),
		Behavior: r.builder.Behavior(r.summary),
		Windows:  r.builder.Windows(),
		Trace:    r.traceRef,
		Network:  r.traffic,
		Features: r.features,
		Votes:    r.votes,
		Verdict:  r.verdict,
		Created:  time.Now().UTC(),
	}
	rep.Signatures = sortedSignatures(r.signatures)
	if r.a.Plugins != nil {
		rep.PluginProblems = r.pluginProblems()
	}
	if r.verdict == nil {
		rep.NoVerdict = r.a.NoVerdict
		if rep.NoVerdict == "" {
			rep.NoVerdict = "no classifier plugins"
		}
	}
	// The report and the job's done state in one transaction (issue 13
	// finding 9): killed before it, the job is still processing and is
	// resumed; after it, the job is done with its report.
	return r.a.Store.PutReportAndUpdate(r.job.ID, rep, func(j *jobs.Job) error {
		j.Verdict = verdict.Brief(r.verdict)
		j.Signatures = signatureNames(r.signatures)
		return j.Move(jobs.Done, time.Now().UTC(), "")
	})
}

func stepLine(steps []report.Step) string {
	s := ""
	for _, st := range steps {
		s += fmt.Sprintf("%s=%s ", st.Name, st.Duration.Round(time.Millisecond))
	}
	return s
}

// ErrArtifactTooLarge is wrapped when a job's trace artifact outgrows
// Config.MaxArtifactBytes.
var ErrArtifactTooLarge = errors.New("trace artifact too large")

// limitWriter fails writes that would take the total past max, writing
// nothing of them.
type limitWriter struct {
	w   io.Writer
	n   int64
	max int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n+int64(len(p)) > l.max {
		return 0, fmt.Errorf("%w: the compressed trace would exceed %d MiB (MaxArtifactBytes); the run was stopped",
			ErrArtifactTooLarge, l.max>>20)
	}
	n, err := l.w.Write(p)
	l.n += int64(n)
	return n, err
}
