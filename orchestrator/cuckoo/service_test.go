package cuckoo_test

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
	"github.com/scalemalnet/scalemalnet/plugins/host"
)

// storeService is the orchestrator's API service without the VM pool: the
// same store calls the daemon makes for submissions, jobs and reports, on
// a real bbolt store. Tests move jobs through their states with the store
// as the daemon's workers would.
type storeService struct {
	st *store.Store
}

func (s storeService) Submit(ctx context.Context, name string, body io.Reader, opts jobs.Options) (jobs.Job, error) {
	if err := opts.Normalize(); err != nil {
		return jobs.Job{}, err
	}
	smp, err := s.st.PutSample(ctx, body, name, 1<<20)
	if err != nil {
		return jobs.Job{}, err
	}
	return s.st.CreateJob(ctx, smp, opts)
}

func (s storeService) Job(ctx context.Context, id string) (jobs.Job, error) { return s.st.Job(id) }
func (s storeService) Jobs(ctx context.Context, q store.ListQuery) ([]jobs.Job, error) {
	return s.st.ListJobs(q)
}
func (s storeService) Report(ctx context.Context, id string) (*report.Report, error) {
	j, err := s.st.Job(id)
	if err != nil {
		return nil, err
	}
	if !j.HasReport {
		return nil, fmt.Errorf("%w: job %s is %s", api.ErrNotReady, id, j.State)
	}
	return s.st.Report(id)
}
func (s storeService) OpenTrace(ctx context.Context, id string) (io.ReadCloser, error) {
	return s.st.OpenArtifact(id, "trace.jsonl.gz")
}
func (s storeService) Health(ctx context.Context) api.Health {
	n, _ := s.st.Count(jobs.Queued)
	return api.Health{Status: "ok", Version: "test", SlotsTotal: 2, SlotsIdle: 1, Queued: n, Hypervisor: "qemu (TCG)"}
}
func (s storeService) Plugins(ctx context.Context) []host.Status { return []host.Status{} }
func (s storeService) GC(ctx context.Context, p store.Policy) (store.GCReport, error) {
	return s.st.GC(ctx, p)
}

// finish drives a queued job to done with rep, as a worker would.
func finish(st *store.Store, id string, rep *report.Report) error {
	for _, to := range []jobs.State{jobs.Restoring, jobs.Running, jobs.Collecting} {
		if err := advance(st, id, to); err != nil {
			return err
		}
	}
	rep.JobID = id
	j, err := st.Job(id)
	if err != nil {
		return err
	}
	rep.Sample, rep.Options = j.Sample, j.Options
	if err := st.PutReport(id, rep); err != nil {
		return err
	}
	return advance(st, id, jobs.Done)
}

func advance(st *store.Store, id string, to jobs.State) error {
	_, err := st.UpdateJob(id, func(j *jobs.Job) error {
		if to == jobs.Restoring {
			j.Slot = "slot0"
		}
		return j.Move(to, time.Now().UTC(), "")
	})
	return err
}
