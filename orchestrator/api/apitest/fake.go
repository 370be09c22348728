// Package apitest provides an in-memory api.Service for tests of the API,
// the client and the CLI.
package apitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/scalemalnet/scalemalnet/plugins/host"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

// Fake is an in-memory Service. Its fields may be set before use; the
// methods are safe for concurrent use.
type Fake struct {
	MaxSample  int64 // default 1 MiB
	SubmitErr  error // returned by Submit when set
	HealthVal  api.Health
	PluginsVal []host.Status
	// ReloadVal and ReloadErr are what ReloadPlugins returns.
	ReloadVal host.ReloadReport
	ReloadErr error
	GCErr     error        // returned by GC when set
	GCReport  api.GCReport // returned by GC

	mu      sync.Mutex
	n       int
	jobs    map[string]*jobs.Job
	reports map[string]*report.Report
	traces  map[string][]byte
	pcaps   map[string][]byte
	samples map[string][]byte
	gcCalls []api.Policy
}

// NewFake returns an empty Fake.
func NewFake() *Fake {
	return &Fake{MaxSample: 1 << 20, HealthVal: api.Health{Status: "ok", Version: "test", SlotsTotal: 2, SlotsIdle: 2, Hypervisor: "qemu (TCG)"},
		jobs: map[string]*jobs.Job{}, reports: map[string]*report.Report{}, traces: map[string][]byte{}, samples: map[string][]byte{}}
}

// Submit stores the sample in memory and queues a job.
func (f *Fake) Submit(ctx context.Context, name string, body io.Reader, opts jobs.Options) (jobs.Job, error) {
	if f.SubmitErr != nil {
		return jobs.Job{}, f.SubmitErr
	}
	b, err := io.ReadAll(io.LimitReader(body, f.MaxSample+1))
	if err != nil {
		return jobs.Job{}, err
	}
	if int64(len(b)) > f.MaxSample {
		return jobs.Job{}, fmt.Errorf("sample: %w", api.ErrTooLarge)
	}
	if err := opts.Normalize(); err != nil {
		return jobs.Job{}, err
	}
	sum := sha256.Sum256(b)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	now := time.Date(2026, 11, 24, 1, 40, f.n, 0, time.UTC)
	j := &jobs.Job{
		ID:      fmt.Sprintf("20261124T0140%02dZ-%08d", f.n%60, f.n),
		Sample:  jobs.Sample{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b)), Name: store.SanitizeName(name), Type: "data"},
		Options: opts, State: jobs.Queued, Created: now, Updated: now,
		History: []jobs.Transition{{State: jobs.Queued, At: now}},
	}
	f.jobs[j.ID] = j
	f.samples[j.ID] = b
	return *j, nil
}

// SampleOf returns the bytes submitted for a job.
func (f *Fake) SampleOf(id string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.samples[id]
}

// Update changes a job; it panics if the job does not exist.
func (f *Fake) Update(id string, fn func(*jobs.Job)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.jobs[id])
}

// Finish moves a job to Done with a report and trace.
func (f *Fake) Finish(id string, r *report.Report, trace []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[id]
	j.State, j.HasReport, j.Step = jobs.Done, r != nil, ""
	j.History = append(j.History, jobs.Transition{State: jobs.Done, At: j.Created.Add(5 * time.Second)})
	j.Updated = j.Created.Add(5 * time.Second)
	if r != nil {
		f.reports[id] = r
	}
	if trace != nil {
		f.traces[id] = trace
	}
}

// Job returns a job or api.ErrNotFound.
func (f *Fake) Job(ctx context.Context, id string) (jobs.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok {
		return jobs.Job{}, fmt.Errorf("job %q: %w", id, api.ErrNotFound)
	}
	return *j, nil
}

// SetWaiting sets a job's Waiting reason, as the daemon fills it for a
// queued job.
func (f *Fake) SetWaiting(id, why string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if j, ok := f.jobs[id]; ok {
		j.Waiting = why
	}
}

// Jobs lists jobs newest first.
func (f *Fake) Jobs(ctx context.Context, q api.ListQuery) ([]jobs.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []jobs.Job
	for _, j := range f.jobs {
		if (q.State == "" || j.State == q.State) && (q.Before == "" || j.ID < q.Before) {
			out = append(out, *j)
		}
	}
	slices.SortFunc(out, func(a, b jobs.Job) int { return -bytes.Compare([]byte(a.ID), []byte(b.ID)) })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// Report returns a stored report, api.ErrNotReady while the job is active.
func (f *Fake) Report(ctx context.Context, id string) (*report.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok {
		return nil, fmt.Errorf("job %q: %w", id, api.ErrNotFound)
	}
	if r, ok := f.reports[id]; ok {
		return r, nil
	}
	if !j.State.Final() {
		return nil, fmt.Errorf("report of %s: %w", id, api.ErrNotReady)
	}
	return nil, fmt.Errorf("report of %s: %w", id, api.ErrNotFound)
}

// OpenTrace returns a stored trace; api.ErrNotFound if there is none
// (the handler turns that into not-ready while the job is active).
func (f *Fake) OpenTrace(ctx context.Context, id string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.traces[id]
	if !ok {
		return nil, fmt.Errorf("trace of %q: %w", id, api.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(t)), nil
}

// Plugins returns PluginsVal.
func (f *Fake) Plugins(ctx context.Context) []host.Status { return f.PluginsVal }

// ReloadPlugins returns ReloadVal (or ReloadErr).
func (f *Fake) ReloadPlugins(ctx context.Context) (host.ReloadReport, error) {
	return f.ReloadVal, f.ReloadErr
}

// Health returns HealthVal.
func (f *Fake) Health(ctx context.Context) api.Health { return f.HealthVal }

// GC records the policy and returns GCReport (or GCErr).
func (f *Fake) GC(ctx context.Context, p api.Policy) (api.GCReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gcCalls = append(f.gcCalls, p)
	if f.GCErr != nil {
		return api.GCReport{}, f.GCErr
	}
	return f.GCReport, nil
}

// GCCalls returns the policies GC was called with.
func (f *Fake) GCCalls() []api.Policy {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.gcCalls)
}

// Cancel ends an unfinished job as cancelled; api.ErrConflict for a
// finished one.
func (f *Fake) Cancel(ctx context.Context, id string) (jobs.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok {
		return jobs.Job{}, fmt.Errorf("job %q: %w", id, store.ErrNotFound)
	}
	if j.State.Final() {
		return jobs.Job{}, fmt.Errorf("%w: job %s is %s", api.ErrConflict, id, j.State)
	}
	if err := j.Move(jobs.Cancelled, j.Updated.Add(time.Second), "cancelled through the API"); err != nil {
		return jobs.Job{}, err
	}
	j.Step = ""
	return *j, nil
}

// Delete removes a finished job; store.ErrActive for an unfinished one.
func (f *Fake) Delete(ctx context.Context, id string) (jobs.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok {
		return jobs.Job{}, fmt.Errorf("job %q: %w", id, store.ErrNotFound)
	}
	if !j.State.Final() {
		return jobs.Job{}, fmt.Errorf("job %s is %s: %w", id, j.State, store.ErrActive)
	}
	delete(f.jobs, id)
	delete(f.reports, id)
	delete(f.traces, id)
	return *j, nil
}

// SetPcap stores a packet capture of a job (isolated network mode).
func (f *Fake) SetPcap(id string, b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pcaps == nil {
		f.pcaps = map[string][]byte{}
	}
	f.pcaps[id] = b
}

// OpenPcap returns a stored capture; api.ErrNotFound if there is none.
func (f *Fake) OpenPcap(ctx context.Context, id string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.pcaps[id]
	if !ok {
		return nil, fmt.Errorf("pcap of %q: %w", id, api.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}
