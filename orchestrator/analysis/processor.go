package analysis

// The post-VM workers. Once a job's VM is destroyed its slot takes the next
// job at once, and the job (state processing) waits here for featurize,
// classify, fuse and report: a bounded pool of ProcessWorkers goroutines
// fed by a bounded queue (a full queue holds the slot worker back, so
// memory stays bounded). What processing needs beyond the stored trace is
// kept as the job's artifact "processing.json", so a job left processing by
// a restart is resumed from its trace instead of run again.

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"sync"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

// DefaultProcessWorkers is the default number of post-VM workers.
const DefaultProcessWorkers = 2

// processingArtifact names the job's hand-off record.
const processingArtifact = "processing.json"

// handoffRecord is what a job in processing needs besides its trace.
type handoffRecord struct {
	Machine report.Machine  `json:"machine"`
	Steps   []report.Step   `json:"steps"`
	Trace   report.TraceRef `json:"trace"`
	Network *report.Traffic `json:"network,omitempty"` // isolated mode: the traffic log
}

// processor runs the post-VM steps of jobs handed over by slot workers.
type processor struct {
	queue chan *jobRun
	ctx   context.Context
	wg    sync.WaitGroup
}

// Start starts the post-VM workers; they stop when ctx ends, leaving jobs
// not yet processed in state processing for the next start. Jobs found
// processing by Recover are queued first.
func (a *Runner) Start(ctx context.Context, wg *sync.WaitGroup) {
	n := a.Workers
	if n <= 0 {
		n = DefaultProcessWorkers
	}
	p := &processor{queue: make(chan *jobRun, 4*n), ctx: ctx}
	a.post = p
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case r := <-p.queue:
					a.process(ctx, r)
				}
			}
		}()
	}
	for _, r := range a.resume {
		select {
		case p.queue <- r:
		default:
			go func() { // more resumed jobs than the queue holds
				select {
				case p.queue <- r:
				case <-ctx.Done():
				}
			}()
		}
	}
	a.resume = nil
}

// Resume takes a job found in state processing at start: it is processed
// from its hand-off record and trace once Start runs. An error says the job
// cannot be resumed (it must run again).
func (a *Runner) Resume(j jobs.Job) error {
	r, err := a.resumable(j)
	if err != nil {
		return err
	}
	r.untrack = a.runs.track(j.ID) // cancellable while it waits
	a.resume = append(a.resume, r)
	return nil
}

// handOff moves a job whose VM steps succeeded to processing, records what
// processing needs, and queues it for the post-VM workers. The slot is free
// as soon as it returns.
func (a *Runner) handOff(ctx context.Context, r *jobRun) error {
	rec := handoffRecord{Machine: r.machine, Steps: r.steps.steps, Trace: r.traceRef, Network: r.traffic}
	if err := a.writeHandoff(r.job.ID, rec); err != nil {
		return &StepError{Step: StepReport, Err: fmt.Errorf("record hand-off: %w", err)}
	}
	if _, err := a.Store.UpdateJob(r.job.ID, func(j *jobs.Job) error {
		return j.Move(jobs.Processing, time.Now().UTC(), "VM destroyed; slot released")
	}); err != nil {
		return err
	}
	r.handedOff = true // the run's cancel registration goes with it (process ends it)
	if a.post == nil { // no post-VM workers (unit tests that drive Run alone)
		a.process(ctx, r)
		return nil
	}
	select {
	case a.post.queue <- r:
	case <-a.post.ctx.Done(): // stopping: the job stays processing and is resumed at the next start
		r.untrackNow()
	}
	return nil
}

func (a *Runner) writeHandoff(id string, rec handoffRecord) error {
	aw, err := a.Store.CreateArtifact(id, processingArtifact)
	if err != nil {
		return err
	}
	defer aw.Abort()
	if err := json.NewEncoder(aw).Encode(rec); err != nil {
		return err
	}
	_, err = aw.Commit()
	return err
}

// process runs the post-VM steps of one job and records how it ended. A job
// interrupted by the orchestrator stopping stays processing; one cancelled
// through the API (Cancel) stops at its current step and ends cancelled.
func (a *Runner) process(ctx context.Context, r *jobRun) {
	defer r.untrackNow()
	log := a.Log.With("job", r.job.ID, "slot", r.machine.Slot)
	r.steps.parent = ctx
	r.steps.onStart = func(name string) { a.recordStep(r.job.ID, name, log) }
	var postErr error
	err := a.cancellable(r, func() error { postErr = r.runPostSteps(); return postErr }) // cancel hook
	if postErr == nil {
		err = nil // the report is stored, the job done: a cancel came too late
	}
	if ctx.Err() != nil {
		log.Info("processing interrupted; resumed at the next start")
		return
	}
	if err == nil {
		a.finish(r)
		return
	}
	defer a.ended(r)
	cancelled := errors.Is(err, ErrJobCancelled)
	if !cancelled && a.SlotError != nil {
		a.SlotError(r.machine.Slot, err)
	}
	if _, uerr := a.Store.UpdateJob(r.job.ID, func(j *jobs.Job) error {
		if cancelled {
			return j.Move(jobs.Cancelled, time.Now().UTC(), err.Error())
		}
		return j.Move(jobs.Failed, time.Now().UTC(), err.Error())
	}); uerr != nil {
		log.Error("record failure", "err", uerr)
	}
	if cancelled {
		log.Info("analysis cancelled while processing", "err", err)
		return
	}
	log.Warn("analysis failed", "err", err, "retry", false)
}

// resumable rebuilds the run of a job left in processing from its hand-off
// record and its trace.
func (a *Runner) resumable(j jobs.Job) (*jobRun, error) {
	f, err := a.Store.OpenArtifact(j.ID, processingArtifact)
	if err != nil {
		return nil, err
	}
	var rec handoffRecord
	err = json.NewDecoder(f).Decode(&rec)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", processingArtifact, err)
	}
	r := &jobRun{a: a, job: j, builder: report.NewBuilder(), machine: rec.Machine, traceRef: rec.Trace, traffic: rec.Network,
		steps: &stepRunner{steps: rec.Steps}}
	tf, err := a.Store.OpenArtifact(j.ID, defaults.TraceArtifact)
	if err != nil {
		return nil, err
	}
	defer tf.Close()
	zr, err := gzip.NewReader(tf)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	t, err := trace.ReadJSONL(zr)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	for _, w := range t.Windows {
		r.builder.AddWindow(w)
	}
	r.summary = t.Summary
	return r, nil
}
