package daemon

import (
	"context"
	"errors"
	"fmt"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"github.com/scalemalnet/scalemalnet/plugins/host"
	"io"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/errkind"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// The Daemon is the API's Service.
var _ api.Service = (*Daemon)(nil)

// Submit stores the sample and queues a job for it.
func (d *Daemon) Submit(ctx context.Context, name string, body io.Reader, opts jobs.Options) (jobs.Job, error) {
	if err := opts.Normalize(); err != nil {
		return jobs.Job{}, err
	}
	if opts.Network == jobs.NetworkUser && !d.cfg.AllowUserNetwork {
		return jobs.Job{}, fmt.Errorf("%w: %w", jobs.ErrInvalid, ErrUserNetworkOff)
	}
	if err := d.pool.CheckNetwork(opts); err != nil {
		return jobs.Job{}, err
	}
	if err := d.checkFreeSpace(); err != nil {
		return jobs.Job{}, err
	}
	if err := d.checkQueue(); err != nil {
		return jobs.Job{}, err
	}
	sample, err := d.store.PutSample(ctx, body, name, d.cfg.MaxSample)
	if err != nil {
		return jobs.Job{}, err
	}
	job, err := d.store.CreateJob(ctx, sample, opts)
	if err != nil {
		if errors.Is(err, store.ErrQueueFull) { // filled between the check and here
			return jobs.Job{}, fmt.Errorf("%w: %w", api.ErrUnavailable, err)
		}
		return jobs.Job{}, err
	}
	d.log.Info("job queued", "job", job.ID, "sample", sample.Name, "sha256", sample.SHA256, "size", sample.Size)
	d.notify()
	return job, nil
}

// Job returns one job.
// A queued job says why it waits (jobs.Job.Waiting).
func (d *Daemon) Job(ctx context.Context, id string) (jobs.Job, error) {
	j, err := d.store.Job(id)
	if err == nil && j.State == jobs.Queued {
		j.Waiting = d.pool.WaitReason(j)
	}
	return j, err
}

// Jobs lists jobs, newest first.
func (d *Daemon) Jobs(ctx context.Context, q api.ListQuery) ([]jobs.Job, error) {
	return d.store.ListJobs(store.ListQuery(q))
}

// Report returns a finished job's report.
func (d *Daemon) Report(ctx context.Context, id string) (*report.Report, error) {
	j, err := d.store.Job(id)
	if err != nil {
		return nil, err
	}
	if !j.HasReport {
		if j.State == jobs.Failed {
			return nil, fmt.Errorf("%w: job %s failed: %s", api.ErrNotReady, id, j.Error)
		}
		return nil, fmt.Errorf("%w: job %s is %s", api.ErrNotReady, id, j.State)
	}
	return d.store.Report(id)
}

// OpenTrace opens a finished job's trace artifact (gzip JSONL).
func (d *Daemon) OpenTrace(ctx context.Context, id string) (io.ReadCloser, error) {
	j, err := d.store.Job(id)
	if err != nil {
		return nil, err
	}
	if !j.HasReport {
		return nil, fmt.Errorf("%w: job %s is %s", api.ErrNotReady, id, j.State)
	}
	return d.store.OpenArtifact(id, defaults.TraceArtifact)
}

// OpenPcap opens a finished job's packet capture (the isolated network
// mode's traffic.pcap); api.ErrNotFound for a job that ran without it.
func (d *Daemon) OpenPcap(ctx context.Context, id string) (io.ReadCloser, error) {
	j, err := d.store.Job(id)
	if err != nil {
		return nil, err
	}
	if !j.HasReport {
		return nil, fmt.Errorf("%w: job %s is %s", api.ErrNotReady, id, j.State)
	}
	f, err := d.store.OpenArtifact(id, defaults.PcapArtifact)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: job %s has no packet capture (network %s; only network isolated records one)", api.ErrNotFound, id, vm.NetworkName(j.Options.Network))
	}
	return f, err
}

// Health summarises the orchestrator's state.
func (d *Daemon) Health(ctx context.Context) api.Health {
	ps := d.pool.Summary()
	h := api.Health{Status: "ok", Version: Version, Hypervisor: d.hv.Describe() + " (" + d.accel + ")",
		SlotsTotal: ps.Total, SlotsIdle: ps.Idle, SlotsQuarantined: ps.OutOfService, Problems: ps.Problems}
	h.ReloadError = d.pool.ReloadError()
	for _, p := range d.pluginProblems() {
		h.Problems = append(h.Problems, api.Problem{Kind: api.ProblemPlugin, Message: p})
	}
	for _, p := range h.Problems { // the two lists of older orchestrators
		if p.Kind == api.ProblemPlugin {
			h.PluginProblems = append(h.PluginProblems, p.Message)
		} else {
			h.Reasons = append(h.Reasons, p.Message)
		}
	}
	if len(h.Problems) > 0 || ps.Total == 0 {
		h.Status = "degraded"
	}
	if n, err := d.store.Count(jobs.Queued); err == nil {
		h.Queued = n
	}
	return h
}

// Plugins lists the plugins and their health.
func (d *Daemon) Plugins(ctx context.Context) []host.Status {
	if d.plugins == nil {
		return []host.Status{}
	}
	return d.plugins.List()
}

// checkQueue refuses a submission while MaxQueued jobs are queued (issue
// 13 finding 11), before the sample is stored. The error wraps
// api.ErrUnavailable (503) and errkind.ErrQueueFull.
func (d *Daemon) checkQueue() error {
	if d.cfg.MaxQueued <= 0 {
		return nil
	}
	n, err := d.store.Count(jobs.Queued)
	if err != nil {
		return err
	}
	if n >= d.cfg.MaxQueued {
		d.log.Warn("submission refused: queue full", "queued", n, "max_queued", d.cfg.MaxQueued)
		return fmt.Errorf("%w: %w: %d jobs are queued, the limit (max_queued) is %d; retry when the queue has drained",
			api.ErrUnavailable, errkind.ErrQueueFull, n, d.cfg.MaxQueued)
	}
	return nil
}
