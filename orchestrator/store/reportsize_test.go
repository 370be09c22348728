package store

import (
	"context"
	"fmt"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

// Finding 3 (issue 13): the builder took every call name and string it was
// given, and reports near 1 GB ended up as one bbolt value loaded on every
// GET. A report built from a hostile trace must be stored in at most
// 16 MiB, and still decode.
func TestPutReportHostileTraceBounded(t *testing.T) {
	const bound = 16 << 20
	s := openTest(t, t.TempDir())
	smp := putTestSample(t, s, "content", "a.bin")
	j, err := s.CreateJob(context.Background(), smp, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := report.NewBuilder()
	long := strings.Repeat("n", 100)
	argv := make([]string, 65)
	for i := range argv {
		argv[i] = strings.Repeat("a", 256)
	}
	for i := 0; i < 1000; i++ {
		w := trace.Window{Index: i, Start: int64(i) * 1e9, End: int64(i+1) * 1e9, Counts: map[string]int{}}
		for k := 0; k < 500; k++ {
			w.Counts[fmt.Sprintf("%s%d", long, k)] = 1
		}
		if i < 10 {
			for k := 0; k < 50; k++ {
				w.Events = append(w.Events, trace.Event{PID: 1, Name: "execve", Path: strings.Repeat("p", 4096) + fmt.Sprint(k), Argv: argv})
			}
		}
		b.AddWindow(w)
	}
	rep := &report.Report{JobID: j.ID, Behavior: b.Behavior(trace.Summary{}), Windows: b.Windows()}
	if err := s.PutReport(j.ID, rep); err != nil {
		t.Fatal(err)
	}
	var size int
	s.view(func(tx *bolt.Tx) error { size = len(tx.Bucket(bktReports).Get([]byte(j.ID))); return nil })
	t.Logf("stored report: %d bytes", size)
	if size > bound {
		t.Errorf("stored report of %d bytes, bound %d", size, bound)
	}
	back, err := s.Report(j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Windows) == 0 || len(back.Behavior.Executed) == 0 {
		t.Errorf("cut too much: %d windows, %d execs", len(back.Windows), len(back.Behavior.Executed))
	}
}
