package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"log/slog"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/orchestrator/api/apitest"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

// storeService is an api.Service (and api.Searcher) over a real store
// (bbolt and files), without VMs: tests fill it with jobs whose traces they
// wrote.
type storeService = apitest.StoreService

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// sampleTrace is a run of a small process tree: a shell that forks a
// downloader and a worker, with file, exec and connect calls, and (api)
// Windows API calls with registry keys. hostile puts markup, an ANSI
// escape and an RTL override in paths, argv and names.
func sampleTrace(windows int, api bool, hostile string) *trace.Trace {
	fd := 3
	tr := &trace.Trace{}
	for i := 0; i < windows; i++ {
		w := trace.Window{Index: i, Start: int64(i) * 1e9, End: int64(i+1) * 1e9, Counts: map[string]int{}}
		add := func(e trace.Event) {
			e.T = w.Start + int64(len(w.Events))*1000
			w.Events = append(w.Events, e)
			w.Counts[e.Name]++
		}
		for k := 0; k < 3+i%4; k++ {
			add(trace.Event{PID: 100, TID: 100, Nr: 0, Name: "read", FD: &fd, Size: 512, Ret: 512})
		}
		if i == 0 {
			add(trace.Event{PID: 100, TID: 100, Nr: 59, Name: "execve", Path: "/tmp/sample", Argv: []string{"/tmp/sample", hostile}})
			add(trace.Event{PID: 100, TID: 100, Nr: 57, Name: "fork", Child: 101, Ret: 101})
			add(trace.Event{PID: 100, TID: 100, Nr: 57, Name: "fork", Child: 102, Ret: 102})
		}
		if i >= 1 {
			for k := 0; k < 2*i; k++ {
				add(trace.Event{PID: 101, TID: 101, Nr: 257, Name: "openat", Path: "/etc/" + hostile + "passwd", Flags: "O_RDONLY", Ret: -2, Err: "ENOENT"})
			}
			add(trace.Event{PID: 102, TID: 102, Nr: 42, Name: "connect", FD: &fd, Addr: "inet 203.0.113.7:4444", Ret: -111, Err: "ECONNREFUSED"})
			add(trace.Event{PID: 102, TID: 102, Nr: 257, Name: "openat", Path: "/tmp/.cache/" + hostile, Flags: "O_WRONLY|O_CREAT", Ret: 4})
		}
		w.Dropped = i % 3
		w.Counts["read"] += w.Dropped
		if api {
			w.APICounts = map[string]int{}
			for k := 0; k < 2+i%3; k++ {
				c := trace.APICall{T: w.Start + int64(k)*500, PID: 100, TID: 9, Module: "KERNEL32", Func: "CreateFileA", Args: []string{`"C:\\x` + hostile + `"`}, Path: `C:\x` + hostile, Ret: "0x40"}
				w.API = append(w.API, c)
				w.APICounts[c.Name()]++
			}
			c := trace.APICall{T: w.Start + 9000, PID: 100, TID: 9, Module: "advapi32", Func: "RegOpenKeyExA", Path: `HKLM\Software\Run` + hostile, Ret: "0"}
			w.API = append(w.API, c)
			w.APICounts[c.Name()]++
		}
		tr.Windows = append(tr.Windows, w)
	}
	exit0 := 0
	tr.Summary = trace.Summary{Outcome: trace.OutcomeExited, DurationNs: int64(windows) * 1e9, Windows: windows,
		Processes: []trace.Process{
			{PID: 100, Exe: "/tmp/sample", Argv: []string{"/tmp/sample", hostile}, Threads: 1, Exit: &exit0},
			{PID: 101, PPID: 100, Exe: "/usr/bin/wget" + hostile, Argv: []string{"wget", "http://203.0.113.7/" + hostile}, Threads: 1, Exit: &exit0},
			{PID: 102, PPID: 100, Exe: "/tmp/.cache/worker", Threads: 2, Killed: true},
		}}
	for _, w := range tr.Windows {
		tr.Summary.Events += w.Total()
		tr.Summary.Kept += len(w.Events)
	}
	return tr
}

// addJob stores a sample, a done job with tr as its trace artifact, and a
// report built from it like the daemon builds one, with a verdict.
func addJob(t testing.TB, st *store.Store, name string, content []byte, tr *trace.Trace, verdict *report.Verdict) jobs.Job {
	t.Helper()
	ctx := context.Background()
	smp, err := st.PutSample(ctx, bytes.NewReader(content), name, 0)
	if err != nil {
		t.Fatal(err)
	}
	j, err := st.CreateJob(ctx, smp, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []jobs.State{jobs.Restoring, jobs.Running, jobs.Collecting} {
		if j, err = st.UpdateJob(j.ID, func(j *jobs.Job) error { return j.Move(s, time.Now(), "test") }); err != nil {
			t.Fatal(err)
		}
	}
	aw, err := st.CreateArtifact(j.ID, "trace.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(aw)
	if err := tr.WriteJSONL(zw); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	art, err := aw.Commit()
	if err != nil {
		t.Fatal(err)
	}
	b := report.NewBuilder()
	for _, w := range tr.Windows {
		b.AddWindow(w)
	}
	rep := &report.Report{Schema: report.SchemaVersion, JobID: j.ID, Sample: smp, Options: j.Options,
		Machine:  report.Machine{Slot: "slot0", Hypervisor: "qemu", Kernel: "6.1.0-test"},
		Outcome:  report.OutcomeOf(tr.Summary),
		Behavior: b.Behavior(tr.Summary), Windows: b.Windows(),
		Trace:   report.TraceRef{Path: art.Path, Format: "jsonl+gzip", Size: art.Size, SHA256: art.SHA256},
		Steps:   []report.Step{{Name: "restore", Duration: 2 * time.Second}, {Name: "run", Duration: 5 * time.Second}},
		Verdict: verdict, Created: time.Now().UTC()}
	if verdict == nil {
		rep.NoVerdict = "no fusion model configured"
	} else if verdict.Label == report.VerdictMalware {
		rep.Signatures = []report.Signature{{Match: features.Match{ID: "socket-shell", Source: "signatures", Severity: 5,
			Description: "A connected socket becomes a shell's standard input or output", Techniques: []string{"T1059.004"},
			Evidence: []string{"pid 7 execve /bin/sh " + hostile}, Count: 1}, Featurizer: "signatures", Set: "signature-matches"}}
	}
	if err := st.PutReport(j.ID, rep); err != nil {
		t.Fatal(err)
	}
	j, err = st.UpdateJob(j.ID, func(j *jobs.Job) error {
		if verdict != nil {
			j.Verdict = &jobs.VerdictBrief{Label: verdict.Label, Probability: verdict.Probability, Family: verdict.Family}
		}
		return j.Move(jobs.Done, time.Now(), "")
	})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func malwareVerdict(family string) *report.Verdict {
	return &report.Verdict{Label: report.VerdictMalware, Probability: 0.93, Threshold: 0.5, ThresholdRule: "youden",
		Method: "soft-vote", Model: "fusion.json", Family: family, FamilyScore: 0.81,
		Contributions: []report.Contribution{
			{Classifier: "callseq-cnn", Raw: 0.97, Calibrated: 0.95, Weight: 0.4, Term: 0.38, Delta: 0.21},
			{Classifier: "header-rf", Raw: 0.2, Calibrated: 0.25, Weight: 0.3, Term: 0.075, Delta: -0.08},
			{Classifier: "image-cnn", Raw: 0.88, Calibrated: 0.9, Weight: 0.3, Term: 0.27, Delta: 0.12},
		}}
}

func jobName(i int) string { return fmt.Sprintf("sample-%02d", i) }
