package daemon

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/orchestrator/agentclient"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// Trace budget per job: calls kept with details, windows streamed.
const (
	MaxKeptEvents = 200_000
	MaxWindows    = 3600
)

// probe is the Prober used when making a clean state: a full handshake, then
// a clean end of the session so the saved agent waits for the next host.
func probe(ctx context.Context, conn net.Conn) (vm.AgentInfo, error) {
	sess, hello, err := agentclient.Handshake(ctx, conn)
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
	zw       *gzip.Writer
	jw       *trace.JSONLWriter
}

// runJob runs one claimed job (state restoring) to a final state, or back to
// the queue when the infrastructure failed and attempts remain.
func (d *Daemon) runJob(ctx context.Context, s *slotState, job jobs.Job) {
	log := d.log.With("job", job.ID, "slot", s.ID)
	log.Info("analysis starting", "sample", job.Sample.Name, "sha256", job.Sample.SHA256, "attempt", job.Attempts)
	r := &jobRun{d: d, slot: s, job: job, builder: report.NewBuilder()}
	r.steps = &stepRunner{parent: ctx, onStart: func(name string) {
		if name == StepSetTime {
			s.healthy() // restore and agent verified: the slot's failure streak ends
		}
		if _, err := d.store.UpdateJob(job.ID, func(j *jobs.Job) error { j.Step = name; return nil }); err != nil {
			log.Warn("record step", "step", name, "err", err)
		}
	}}
	err := r.analyse()
	err = d.explainVMLoss(ctx, s, err) // "EOF" from a VM that went away says why
	if r.artifact != nil {
		r.artifact.Abort() // no-op once committed
	}
	// The VM goes whatever happened; the slot must be free for the next job.
	if derr := r.steps.do(StepDestroy, d.timeouts.Destroy, func(ctx context.Context) error {
		if r.conn != nil {
			r.conn.Close()
		}
		return s.Destroy(ctx)
	}); derr != nil && err == nil {
		err = derr
	}
	if err == nil && d.plugins != nil {
		// Plugin failures are recorded in the report; they never fail the job.
		_ = r.steps.do(StepFeaturize, d.timeouts.Featurize, r.featurize)
		_ = r.steps.do(StepClassify, d.timeouts.Classify, r.classify)
		_ = r.steps.do(StepFuse, d.timeouts.Report, r.fuse)
	}
	if err == nil {
		err = r.steps.do(StepReport, d.timeouts.Report, r.storeReport)
	}
	now := time.Now().UTC()
	if err == nil {
		if _, err := d.store.UpdateJob(job.ID, func(j *jobs.Job) error {
			j.HasReport = true
			if v := r.verdict; v != nil {
				j.Verdict = &jobs.VerdictBrief{Label: v.Label, Probability: v.Probability, Family: v.Family}
			}
			return j.Move(jobs.Done, now, "")
		}); err != nil {
			log.Error("mark done", "err", err)
		}
		log.Info("analysis done", "outcome", r.summary.Outcome, "events", r.summary.Events, "steps", stepLine(r.steps.steps))
		return
	}
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
	log.Warn("analysis failed", "err", err, "retry", retry)
}

// isInfraFailure tells failures of the sandbox (worth retrying elsewhere)
// from failures caused by the sample or the guest's answers during the run.
func isInfraFailure(err error) bool {
	if errors.Is(err, ErrVMStopped) {
		return true // QEMU died under the job, at whatever step
	}
	var se *StepError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Step {
	case StepRestore, StepWaitAgent, StepSetTime, StepPushSample, StepDestroy:
		return true
	}
	return false
}

func isCleanStateFailure(err error) bool {
	var se *StepError
	return errors.As(err, &se) && (se.Step == StepRestore || se.Step == StepWaitAgent) ||
		errors.Is(err, vm.ErrNoCleanState)
}

func (r *jobRun) analyse() error {
	d, t := r.d, r.d.timeouts
	move := func(to jobs.State) error {
		_, err := d.store.UpdateJob(r.job.ID, func(j *jobs.Job) error { return j.Move(to, time.Now().UTC(), "") })
		return err
	}
	if err := r.steps.do(StepRestore, t.Restore, func(ctx context.Context) error { return d.restoreSlot(ctx, r.slot) }); err != nil {
		return err
	}
	if err := r.steps.do(StepWaitAgent, t.WaitAgent, r.waitAgent); err != nil {
		return err
	}
	if err := r.steps.do(StepSetTime, t.SetTime, func(ctx context.Context) error {
		return r.sess.SetTime(ctx, time.Now())
	}); err != nil {
		return err
	}
	if err := r.steps.do(StepPushSample, t.PushSample, r.pushSample); err != nil {
		return err
	}
	if err := move(jobs.Running); err != nil {
		return err
	}
	if err := r.steps.do(StepRun, r.job.Options.Timeout+d.cfg.StepGrace, r.run); err != nil {
		return err
	}
	if err := move(jobs.Collecting); err != nil {
		return err
	}
	return r.steps.do(StepCollect, t.Collect, r.collect)
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
	aw, err := r.d.store.CreateArtifact(r.job.ID, "trace.jsonl.gz")
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
	}
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
	return nil
}

func (r *jobRun) storeReport(ctx context.Context) error {
	rep := &report.Report{
		Schema:  report.SchemaVersion,
		JobID:   r.job.ID,
		Sample:  r.job.Sample,
		Options: r.job.Options,
		Machine: report.Machine{
			Slot: r.slot.ID, Domain: r.slot.Spec().Name, Hypervisor: r.d.accel,
			Kernel: r.hello.Kernel, AgentVersion: r.hello.AgentVersion, BootID: r.hello.BootID,
			Image: r.d.img.Digest,
		},
		Steps:    r.steps.steps,
		Outcome:  report.OutcomeOf(r.summary),
		Behavior: r.builder.Behavior(r.summary),
		Windows:  r.builder.Windows(),
		Trace:    r.traceRef,
		Features: r.features,
		Votes:    r.votes,
		Verdict:  r.verdict,
		Created:  time.Now().UTC(),
	}
	r.setNetwork(&rep.Machine)
	if r.d.plugins != nil {
		rep.PluginProblems = r.pluginProblems()
	}
	if r.verdict == nil {
		rep.NoVerdict = r.d.noVerdict
		if rep.NoVerdict == "" {
			rep.NoVerdict = "no classifier plugins"
		}
	}
	return r.d.store.PutReport(r.job.ID, rep)
}

func stepLine(steps []report.Step) string {
	s := ""
	for _, st := range steps {
		s += fmt.Sprintf("%s=%s ", st.Name, st.Duration.Round(time.Millisecond))
	}
	return s
}
