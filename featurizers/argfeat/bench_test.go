//go:build linux && amd64

package argfeat

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/featurizers/callseq"
	"github.com/scalemalnet/scalemalnet/featurizers/datasets"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/guest/tracer"
)

// benchTrace is a run of n calls over 20 processes in 1 s windows: mostly
// file I/O with opens of varied paths, execs, sockets, connects, dups and
// forks, as a busy shell script's trace looks.
func benchTrace(n int) *trace.Trace {
	r := rand.New(rand.NewPCG(7, 9))
	paths := []string{"/etc/passwd", "/etc/hostname", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/tmp/work/file", "/proc/self/status",
		"/var/log/syslog", "/home/u/.bashrc", "data.txt", "/etc/ld.so.cache", "/usr/share/locale/locale.alias"}
	progs := [][]string{{"/bin/sh", "sh", "-c", "cat /etc/hostname | wc -l"}, {"/usr/bin/cat", "cat", "/etc/passwd"},
		{"/usr/bin/python3.11", "python3", "-c", "print(1)"}, {"/usr/bin/curl", "curl", "http://10.1.2.3/x"}}
	t := &trace.Trace{Summary: trace.Summary{Outcome: trace.OutcomeExited, Events: n, Kept: n}}
	const perWindow = 5000
	for i := 0; i < n; i++ {
		if i%perWindow == 0 {
			k := len(t.Windows)
			t.Windows = append(t.Windows, trace.Window{Index: k, Start: int64(k) * 1e9, End: int64(k+1) * 1e9, Counts: map[string]int{}})
		}
		w := &t.Windows[len(t.Windows)-1]
		pid := 100 + r.IntN(20)
		fd := 3 + r.IntN(8)
		e := trace.Event{T: w.Start + int64(i%perWindow), PID: pid, TID: pid}
		switch k := r.IntN(100); {
		case k < 30:
			e.Name, e.FD, e.Size, e.Ret = "read", &fd, 4096, 4096
		case k < 50:
			e.Name, e.FD, e.Size, e.Ret = "write", &fd, 100, 100
		case k < 65:
			e.Name, e.Path, e.Flags, e.Ret = "openat", paths[r.IntN(len(paths))], "O_RDONLY|O_CLOEXEC", int64(fd)
			if k < 55 {
				e.Flags = "O_WRONLY|O_CREAT|O_TRUNC"
			}
		case k < 75:
			e.Name, e.FD = "close", &fd
		case k < 80:
			e.Name, e.Path, e.Ret = "newfstatat", paths[r.IntN(len(paths))], 0
		case k < 82:
			p := progs[r.IntN(len(progs))]
			e.Name, e.Path, e.Argv = "execve", p[0], p[1:]
		case k < 84:
			e.Name, e.Ret = "socket", int64(fd)
		case k < 86:
			e.Name, e.FD, e.Addr, e.Ret = "connect", &fd, fmt.Sprintf("inet 10.0.%d.%d:443", r.IntN(4), r.IntN(250)), -115
			e.Err = "EINPROGRESS"
		case k < 88:
			e.Name, e.FD, e.Ret = "dup2", &fd, int64(r.IntN(3))
		case k < 89:
			e.Name, e.Child, e.Ret = "clone", 100+r.IntN(20), 1
		default:
			e.Name, e.Ret = "mmap", 0x7f0000000000
		}
		w.Events = append(w.Events, e)
		w.Counts[e.Name]++
	}
	return t
}

// callseqBaseline is what the callseq built-in featurizer does per trace:
// the id sequence and the unigram counts over the tracer's vocabulary.
func callseqBaseline(tb testing.TB) func(*trace.Trace) {
	names := [][]string{tracer.SyscallNames()}
	vocab := callseq.BuildVocabulary(names, callseq.VocabOptions{})
	model, err := callseq.FitNGrams(names, callseq.NGramOptions{N: 1})
	if err != nil {
		tb.Fatal(err)
	}
	seq := &callseq.Sequence{Vocab: vocab, Length: 1000, Keep: callseq.KeepHead, Pad: callseq.PadEnd, WithSchema: true}
	ng := &callseq.NGrams{Model: model}
	return func(t *trace.Trace) {
		if _, err := seq.FeaturizeTrace(t, datasets.SplitWhole); err != nil {
			tb.Fatal(err)
		}
		if _, err := ng.FeaturizeTrace(t, datasets.SplitWhole); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkExtract measures Extract on a 200k-call trace against the
// callseq featurizer (the baseline) on the same trace, alternating the two
// in every iteration so that machine load hits both alike; "ratio" is
// trace-args time / callseq time.
//
//	go test ./featurizers/argfeat -run '^$' -bench Extract -benchtime 10x
func BenchmarkExtract(b *testing.B) {
	t := benchTrace(200_000)
	base := callseqBaseline(b)
	var args, cs time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		Extract(t)
		t1 := time.Now()
		base(t)
		args += t1.Sub(t0)
		cs += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(args.Milliseconds())/n, "args-ms/op")
	b.ReportMetric(float64(cs.Milliseconds())/n, "callseq-ms/op")
	b.ReportMetric(float64(args)/float64(cs), "ratio")
	b.ReportMetric(200_000*n/args.Seconds(), "args-calls/s")
}

// BenchmarkExtractOnly is Extract alone on the same trace, for its
// allocations (BenchmarkExtract's B/op are mostly callseq's).
func BenchmarkExtractOnly(b *testing.B) {
	t := benchTrace(200_000)
	b.ReportAllocs()
	for b.Loop() {
		Extract(t)
	}
}
