package apitest

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
	"github.com/scalemalnet/scalemalnet/plugins/host"
)

// StoreService is the orchestrator's API service without the VM pool: the
// store calls the daemon makes for submissions, jobs, reports, cancel and
// delete, on a real bbolt store. Tests move jobs through their states with
// Advance and Finish, as the daemon's workers would.
type StoreService struct {
	Store *store.Store
}

var (
	_ api.Service    = StoreService{}
	_ api.JobControl = StoreService{}
)

// Submit stores the sample (at most 1 MiB) and queues a job.
func (s StoreService) Submit(ctx context.Context, name string, body io.Reader, opts jobs.Options) (jobs.Job, error) {
	if err := opts.Normalize(); err != nil {
		return jobs.Job{}, err
	}
	smp, err := s.Store.PutSample(ctx, body, name, 1<<20)
	if err != nil {
		return jobs.Job{}, err
	}
	return s.Store.CreateJob(ctx, smp, opts)
}

// Job returns a job.
func (s StoreService) Job(ctx context.Context, id string) (jobs.Job, error) { return s.Store.Job(id) }

// Jobs lists jobs.
func (s StoreService) Jobs(ctx context.Context, q api.ListQuery) ([]jobs.Job, error) {
	return s.Store.ListJobs(store.ListQuery(q))
}

// SearchJobs pages a search through the store's indexes (api.Searcher).
func (s StoreService) SearchJobs(ctx context.Context, q api.ListQuery) (api.Page, error) {
	p, err := s.Store.SearchJobs(store.ListQuery(q))
	return api.Page(p), err
}

// Report returns a finished job's report; api.ErrNotReady before.
func (s StoreService) Report(ctx context.Context, id string) (*report.Report, error) {
	j, err := s.Store.Job(id)
	if err != nil {
		return nil, err
	}
	if !j.HasReport {
		return nil, fmt.Errorf("%w: job %s is %s", api.ErrNotReady, id, j.State)
	}
	return s.Store.Report(id)
}

// OpenPcap opens the packet capture artifact (api.PcapService).
func (s StoreService) OpenPcap(ctx context.Context, id string) (io.ReadCloser, error) {
	return s.Store.OpenArtifact(id, "traffic.pcap")
}

// OpenTrace opens the trace artifact.
func (s StoreService) OpenTrace(ctx context.Context, id string) (io.ReadCloser, error) {
	return s.Store.OpenArtifact(id, "trace.jsonl.gz")
}

// Health reports two slots, one idle.
func (s StoreService) Health(ctx context.Context) api.Health {
	n, _ := s.Store.Count(jobs.Queued)
	return api.Health{Status: "ok", Version: "test", SlotsTotal: 2, SlotsIdle: 1, Queued: n, Hypervisor: "qemu (TCG)"}
}

// Plugins reports none.
func (s StoreService) Plugins(ctx context.Context) []host.Status { return []host.Status{} }

// ReloadPlugins reloads nothing: there are no plugins.
func (s StoreService) ReloadPlugins(ctx context.Context) (host.ReloadReport, error) {
	return host.ReloadReport{Kept: []string{}}, nil
}

// GC runs the store's GC.
func (s StoreService) GC(ctx context.Context, p api.Policy) (api.GCReport, error) {
	r, err := s.Store.GC(ctx, store.Policy(p))
	return api.GCReport(r), err
}

// Cancel cancels a queued job (there are no runs to stop here).
func (s StoreService) Cancel(ctx context.Context, id string) (jobs.Job, error) {
	j, ok, err := s.Store.CancelQueued(id, "cancelled through the API")
	if err != nil || ok {
		return j, err
	}
	return j, fmt.Errorf("%w: job %s is %s", api.ErrConflict, id, j.State)
}

// Delete deletes a finished job.
func (s StoreService) Delete(ctx context.Context, id string) (jobs.Job, error) {
	return s.Store.DeleteJob(id)
}

// Advance moves a job to state to (slot0 claims it for Restoring).
func Advance(st *store.Store, id string, to jobs.State) error {
	_, err := st.UpdateJob(id, func(j *jobs.Job) error {
		if to == jobs.Restoring {
			j.Slot = "slot0"
		}
		return j.Move(to, time.Now().UTC(), "")
	})
	return err
}

// Finish drives a queued job to done with rep (its job id, sample and
// options filled in) and trace, if not nil, as its trace artifact.
func Finish(st *store.Store, id string, rep *report.Report, traceData []byte) error {
	for _, to := range []jobs.State{jobs.Restoring, jobs.Running, jobs.Collecting} {
		if err := Advance(st, id, to); err != nil {
			return err
		}
	}
	if traceData != nil {
		w, err := st.CreateArtifact(id, "trace.jsonl.gz")
		if err != nil {
			return err
		}
		w.Write(traceData)
		a, err := w.Commit()
		if err != nil {
			return err
		}
		rep.Trace = report.TraceRef{Path: a.Path, Format: "jsonl+gzip", Size: a.Size, SHA256: a.SHA256}
	}
	j, err := st.Job(id)
	if err != nil {
		return err
	}
	rep.JobID, rep.Sample, rep.Options = id, j.Sample, j.Options
	if err := st.PutReport(id, rep); err != nil {
		return err
	}
	return Advance(st, id, jobs.Done)
}

// RichReport is what a finished analysis of a connecting, forking sample
// reports, with a malware verdict, votes of each kind and window counts.
func RichReport() *report.Report {
	exit0 := 0
	return &report.Report{
		Schema:  report.SchemaVersion,
		Machine: report.Machine{Slot: "slot0", Domain: "smn-1234-slot0", Hypervisor: "qemu", Kernel: "6.1.0-28-amd64", Network: "isolated", GuestAddr: "10.0.2.15"},
		Network: &report.Traffic{
			DNS:         []report.DNSQuery{{Name: "evil.example", Type: "A", Answer: "10.0.2.4", Server: "10.0.2.3"}},
			HTTP:        []report.HTTPRequest{{Method: "GET", Host: "evil.example", Path: "/gate.php", Dst: "10.0.2.4:80", UA: "curl/7.88"}},
			TLS:         []report.TLSHello{{SNI: "c2.example", Dst: "10.0.2.4:443"}},
			Connections: []report.NetConn{{Proto: "tcp", Dst: "10.0.2.4", Port: 80, Count: 1}},
			Packets:     42, Bytes: 4242,
			Pcap: &report.FileRef{Path: "artifacts/x/traffic.pcap", Format: "pcap", Size: 4938, SHA256: "00"},
		},
		Outcome: report.Outcome{Status: trace.Outcome("exited"), Events: 1234},
		Behavior: report.Behavior{
			Processes: []report.ProcessNode{{
				Process:  trace.Process{PID: 100, Exe: "/tmp/sample", Argv: []string{"/tmp/sample", "-x"}, Exit: &exit0, Threads: 1, Syscalls: 1000},
				Children: []report.ProcessNode{{Process: trace.Process{PID: 101, PPID: 100, Exe: "/bin/sh", Argv: []string{"sh", "-c", "id"}, Start: 5e8, Threads: 1, Syscalls: 234}}},
			}},
			FilesOpened:  []string{"/etc/passwd"},
			FilesWritten: []string{"/tmp/.hidden"},
			Executed:     []report.Exec{{PID: 101, Path: "/bin/sh", Argv: []string{"sh", "-c", "id"}, OK: true}},
			Connections: []report.Connection{
				{PID: 100, Addr: "inet 93.184.216.34:80", Attempts: 2, OK: 1},
				{PID: 100, Addr: "inet 93.184.216.34:443", Attempts: 1, OK: 1},
				{PID: 100, Addr: "inet 127.0.0.1:22", Attempts: 1},
				{PID: 100, Addr: "unix /run/x", Attempts: 1},
			},
		},
		Votes: []report.Vote{
			{Classifier: "callseq-mlp", Stage: "detection", Inputs: []string{"dynamic"}, Scores: []report.ClassScore{{Class: "benign", Score: 0.1}, {Class: "malware", Score: 0.9}}},
			{Classifier: "header-rf", Stage: "detection", Inputs: []string{"static"}, Abstained: true, Reason: "not a PE"},
			{Classifier: "image-cnn", Stage: "detection", Error: "plugin crashed"},
		},
		Verdict: &report.Verdict{Label: report.VerdictMalware, Probability: 0.913, Threshold: 0.5, ThresholdRule: "f1", Method: "soft-vote",
			Family: "Mirai", FamilyScore: 0.7, Contributions: []report.Contribution{{Classifier: "callseq-mlp", Raw: 0.9, Calibrated: 0.913, Weight: 1, Term: 0.913, Delta: 0.4}}},
		Steps:   []report.Step{{Name: "restore", Duration: 1500 * time.Millisecond}, {Name: "run", Duration: 2 * time.Second}},
		Windows: []report.WindowStat{{Index: 0, StartMs: 0, Total: 1234, Counts: map[string]int{"read": 1000, "connect": 3}}},
		Created: time.Now().UTC(),
	}
}
