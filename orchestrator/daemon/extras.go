package daemon

// What the orchestrator serves beside its API on the same listener (the
// Cuckoo-compatible API, Prometheus metrics), and the metrics' view of the
// daemon's state. Kept apart from daemon.go so the hooks there stay one
// line each.

import (
	"errors"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/cuckoo"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/metrics"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
	"github.com/scalemalnet/scalemalnet/orchestrator/web"
)

// handlerOptions are the API handler's options: the pool routes, the
// Cuckoo-compatible routes and GET /metrics (behind the API token).
func (d *Daemon) handlerOptions() api.HandlerOptions {
	m := d.metrics.Load()
	if m == nil {
		m = metrics.New(metricsSource{d})
		d.metrics.Store(m)
	}
	ch := cuckoo.NewHandler(d, d.store, cuckoo.Options{Token: d.token, MaxSample: d.cfg.MaxSample, Logger: d.log})
	mounts := append(cuckoo.Mounts(ch), api.Mount{Pattern: "GET /metrics", Handler: m.Handler()})
	return api.HandlerOptions{MaxSample: d.cfg.MaxSample, Logger: d.log, Pool: d.pool, Mounts: mounts,
		UI: web.New(d, d.token, web.Options{Logger: d.log, MaxSample: d.cfg.MaxSample})}
}

// observeRun feeds the metrics with a finished run: each step's duration
// and the job's final state.
func (d *Daemon) observeRun(id string, steps []report.Step) {
	m := d.metrics.Load()
	if m == nil {
		return
	}
	for _, st := range steps {
		m.ObserveStep(st.Name, st.Duration, st.Error != "")
	}
	if j, err := d.store.Job(id); err == nil && j.State.Final() {
		m.JobFinished(string(j.State))
	}
}

// metricsSource is the daemon's state as the metrics read it at scrape
// time.
type metricsSource struct{ d *Daemon }

var allStates = []jobs.State{jobs.Queued, jobs.Restoring, jobs.Running, jobs.Collecting, jobs.Processing, jobs.Done, jobs.Failed, jobs.Cancelled}

func (m metricsSource) JobCounts() (map[string]int, error) {
	out := map[string]int{}
	var errs []error
	for _, st := range allStates {
		n, err := m.d.store.Count(st)
		errs = append(errs, err)
		out[string(st)] = n
	}
	return out, errors.Join(errs...)
}

func (m metricsSource) Slots() []metrics.Slot {
	var out []metrics.Slot
	for _, s := range m.d.pool.Slots() {
		p := s.Snapshot(false)
		ms := metrics.Slot{Name: p.Name, State: p.State, Analyses: p.Analyses, ConsecutiveFailures: p.ConsecutiveFailures}
		ms.BootTime = s.BootTime()
		out = append(out, ms)
	}
	return out
}

func (m metricsSource) Plugins() []metrics.Plugin {
	if m.d.plugins == nil {
		return nil
	}
	var out []metrics.Plugin
	for _, p := range m.d.plugins.List() {
		out = append(out, metrics.Plugin{Name: p.Name, State: p.State, Calls: p.Calls, Failures: p.Failures, Restarts: p.Restarts})
	}
	return out
}

func (m metricsSource) Usage() (metrics.Usage, error) {
	u, err := m.d.store.Usage()
	if err != nil {
		return metrics.Usage{}, err
	}
	return metrics.Usage{DBBytes: u.DBBytes, ArtifactBytes: u.ArtifactBytes, SampleBytes: u.SampleBytes}, nil
}

// The store is what the Cuckoo-compatible API maps task ids with.
var _ cuckoo.Tasks = (*store.Store)(nil)
