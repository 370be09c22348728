package daemon

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"github.com/scalemalnet/scalemalnet/orchestrator/verdict"
	"log/slog"
	"net"
	"slices"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/orchestrator/agentclient"
	"github.com/scalemalnet/scalemalnet/orchestrator/fakenet"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
	"github.com/scalemalnet/scalemalnet/plugins/host"
)

// Trace budget per job: calls kept with details, windows streamed.
const (
	MaxKeptEvents = 200_000
	MaxWindows    = 3600
)

// probe is the Prober used when making a clean state: a full handshake, then
// a clean end of the session so the saved agent waits for the next host.
// ColdBootTimeout bounds making a clean state: cold boot, the agent's
// set-up (the root filesystem, Wine's warm-up: minutes under TCG on a busy
// host) and the save.
const ColdBootTimeout = 8 * time.Minute

// probe is the cold boot's handshake: the agent answers only once its
// set-up is done, so it may wait up to ColdBootTimeout.
func probe(ctx context.Context, conn net.Conn) (vm.AgentInfo, error) {
	sess, hello, err := agentclient.Handshake(ctx, conn, agentclient.WithHandshakeTimeout(ColdBootTimeout))
	if err != nil {
		return vm.AgentInfo{}, err
	}
	sess.Bye()
	return agentInfo(hello), nil
}

// jobRun carries one analysis through its steps.
type jobRun struct {
	d        *Daemon
	slot     *slotState
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
	// signatures: every matches set's rules (analysis.go addMatches)
	signatures []report.Signature
}

// runJob runs the VM steps of one claimed job (state restoring) on its
// slot and destroys the VM. On success the job moves to processing and is
// handed to the post-VM workers, so the slot takes its next job while
// featurize, classify, fuse and report run; on failure it ends failed, or
// back in the queue when the infrastructure failed and attempts remain.
func (d *Daemon) runJob(ctx context.Context, s *slotState, job jobs.Job) {
	log := d.log.With("job", job.ID, "slot", s.ID)
	log.Info("analysis starting", "sample", job.Sample.Name, "sha256", job.Sample.SHA256, "attempt", job.Attempts)
	defer d.runs.track(job.ID)() // cancel hook: the run can be cancelled (jobcontrol.go)
	r := &jobRun{d: d, slot: s, job: job, builder: report.NewBuilder()}
	r.steps = &stepRunner{parent: ctx, onStart: func(name string) {
		if name == StepSetTime {
			s.healthy() // restore and agent verified: the slot's failure streak ends
		}
		d.recordStep(job.ID, name, log)
	}}
	err := r.runVMSteps(ctx)
	if err == nil {
		r.machine = r.machineInfo() // the slot's VM is gone; the report keeps what it was
		err = d.handOff(ctx, r)
	}
	if err != nil {
		d.jobFailed(ctx, s, r, err)
	}
}

// runVMSteps walks the table's VM steps; destroy runs whatever happened.
func (r *jobRun) runVMSteps(ctx context.Context) error {
	d := r.d
	// cancel hook: a cancel ends the VM steps (jobcontrol.go)
	err := d.cancellable(r, func() error {
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
	err = d.explainVMLoss(ctx, r.slot, err) // "EOF" from a VM that went away says why
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
		if _, err := r.d.store.UpdateJob(r.job.ID, func(j *jobs.Job) error { return j.Move(st.Enter, time.Now().UTC(), "") }); err != nil {
			return err
		}
	}
	return r.steps.do(st.Name, st.Timeout(r.d.timeouts, r.job, r.d.cfg.StepGrace), func(ctx context.Context) error { return st.Run(r, ctx) })
}

// runPostSteps walks the table's steps after the VM: plugin steps (when
// there are plugins) never fail the job; the report step may.
func (r *jobRun) runPostSteps() error {
	if r.d.plugins != nil {
		// A reload during the job does not change its plugins (host.Set).
		r.plugins = r.d.plugins.Acquire()
		defer r.plugins.Release()
	}
	for _, st := range lifecycle {
		if st.WithVM || st.Plugins && r.d.plugins == nil {
			continue
		}
		if err := r.step(st); err != nil && st.Failure != FailNever {
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
	return r.slot.Destroy(ctx)
}

func (d *Daemon) recordStep(id, name string, log *slog.Logger) {
	if _, err := d.store.UpdateJob(id, func(j *jobs.Job) error { j.Step = name; return nil }); err != nil {
		log.Warn("record step", "step", name, "err", err)
	}
}

// finish logs a processed job, which the report step marked done in the
// report's transaction.
func (d *Daemon) finish(r *jobRun) {
	defer d.observeRun(r) // metrics hook: step durations, final state (extras.go)
	log := d.log.With("job", r.job.ID, "slot", r.machine.Slot)
	log.Info("analysis done", "outcome", r.summary.Outcome, "events", r.summary.Events, "steps", stepLine(r.steps.steps))
}

// jobFailed records a failed attempt: on the slot, and on the job (failed,
// or re-queued for an infrastructure failure with attempts left).
func (d *Daemon) jobFailed(ctx context.Context, s *slotState, r *jobRun, err error) {
	defer d.observeRun(r) // metrics hook: step durations, final state (extras.go)
	job := r.job
	log := d.log.With("job", job.ID, "slot", s.ID)
	now := time.Now().UTC()
	s.mu.Lock()
	s.lastErr, s.lastErrAt = err.Error(), now
	s.mu.Unlock()
	infra := ctx.Err() == nil && isInfraFailure(err)
	retry := ctx.Err() != nil || infra
	if isCleanStateFailure(err) {
		log.Warn("clean state failed verification; it will be rebuilt", "err", err)
		_ = s.Invalidate()
		if ctx.Err() == nil {
			d.slotFailed(s, "job "+job.ID, err) // may quarantine the slot
		}
	}
	if _, uerr := d.store.UpdateJob(job.ID, func(j *jobs.Job) error {
		if infra && !slices.Contains(j.FailedSlots, s.name) {
			j.FailedSlots = append(j.FailedSlots, s.name) // other slots take the retry
		}
		switch {
		case errors.Is(err, ErrJobCancelled): // cancel hook
			return j.Move(jobs.Cancelled, now, err.Error())
		case ctx.Err() != nil:
			return j.Move(jobs.Queued, now, "orchestrator stopping; re-queued")
		case retry && j.Attempts < MaxAttempts:
			return j.Move(jobs.Queued, now, fmt.Sprintf("attempt %d on %s failed: %v; re-queued", j.Attempts, s.name, err))
		case retry:
			return j.Move(jobs.Failed, now, attemptsReason(j, s.name, err))
		default:
			return j.Move(jobs.Failed, now, err.Error())
		}
	}); uerr != nil {
		log.Error("record failure", "err", uerr)
	}
	if retry {
		d.notify() // re-queued: another idle slot may take it now
	}
	log.Warn("analysis failed", "err", err, "retry", retry)
}

func (r *jobRun) waitAgent(ctx context.Context) error {
	conn, err := r.slot.DialAgent(ctx)
	if err != nil {
		return err
	}
	r.conn = conn
	sess, hello, err := agentclient.Handshake(ctx, conn)
	if err != nil {
		return err
	}
	r.sess, r.hello = sess, hello
	return r.slot.Verify(agentInfo(hello))
}

func (r *jobRun) pushSample(ctx context.Context) error {
	f, err := r.d.store.OpenSample(r.job.Sample.SHA256)
	if err != nil {
		return err
	}
	defer f.Close()
	return r.sess.PushSample(ctx, r.job.Sample.Name, f, r.job.Sample.Size, r.job.Sample.SHA256)
}

// run streams the trace into a gzip JSONL artifact while folding it into
// the report builder, until the agent's final summary.
func (r *jobRun) run(ctx context.Context) error {
	aw, err := r.d.store.CreateArtifact(r.job.ID, defaults.TraceArtifact)
	if err != nil {
		return err
	}
	r.artifact = aw
	r.zw = gzip.NewWriter(&limitWriter{w: aw, max: r.d.cfg.MaxArtifactBytes})
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
		Slot: r.slot.ID, Host: r.slot.Spec().Host, Domain: r.slot.Spec().Name, Hypervisor: r.d.accel, // issue 16 hook: Host
		Kernel: r.hello.Kernel, AgentVersion: r.hello.AgentVersion, BootID: r.hello.BootID,
		Image: r.d.img.Digest,
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
	if r.d.plugins != nil {
		rep.PluginProblems = r.pluginProblems()
	}
	if r.verdict == nil {
		rep.NoVerdict = r.d.noVerdict
		if rep.NoVerdict == "" {
			rep.NoVerdict = "no classifier plugins"
		}
	}
	// The report and the job's done state in one transaction (issue 13
	// finding 9): killed before it, the job is still processing and is
	// resumed; after it, the job is done with its report.
	return r.d.store.PutReportAndUpdate(r.job.ID, rep, func(j *jobs.Job) error {
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
