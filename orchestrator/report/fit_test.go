package report

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

func TestFitCutsLargestSectionsAndMarks(t *testing.T) {
	r := &Report{JobID: "j", Outcome: Outcome{Output: strings.Repeat("o", 1000)}}
	for i := 0; i < 2000; i++ {
		r.Behavior.FilesOpened = append(r.Behavior.FilesOpened, strings.Repeat("f", 1000))
	}
	for i := 0; i < 100; i++ {
		r.Behavior.FilesWritten = append(r.Behavior.FilesWritten, "w")
	}
	r.Behavior.Processes = Tree(chain(300))
	small, _ := json.Marshal(&Report{JobID: "j"})
	b, err := Fit(r, 600_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 600_000 {
		t.Fatalf("%d bytes", len(b))
	}
	if len(r.Truncated) != 1 || r.Truncated[0].Section != "behavior.files_opened" || r.Truncated[0].Total != 2000 ||
		r.Truncated[0].Kept != len(r.Behavior.FilesOpened) {
		t.Errorf("truncated %+v", r.Truncated)
	}
	if len(r.Behavior.FilesWritten) != 100 || countNodes(r.Behavior.Processes) != 300 {
		t.Errorf("cut a small section")
	}
	// Everything cut to nothing still fits a tiny bound, or says why not.
	if _, err := Fit(r, len(small)+600); err != nil {
		t.Fatal(err)
	}
	if _, err := Fit(&Report{JobID: strings.Repeat("x", 100)}, 10); err == nil {
		t.Fatal("fit a report that cannot be cut")
	}
}

func TestBuilderReappliesBounds(t *testing.T) {
	b := NewBuilder()
	counts := map[string]int{}
	for i := 0; i < 300; i++ {
		counts[strconv.Itoa(i)+strings.Repeat("c", 300)] = i + 1
	}
	argv := make([]string, 200)
	for i := range argv {
		argv[i] = strings.Repeat("a", 1000)
	}
	b.AddWindow(trace.Window{Counts: counts, Events: []trace.Event{
		{PID: 1, Name: "execve", Path: strings.Repeat("p", 10_000), Argv: argv},
		{PID: 1, Name: "connect", Addr: strings.Repeat("x", 10_000)},
	}})
	ws := b.Windows()[0]
	if len(ws.Counts) != MaxWindowNames+1 || ws.Counts[trace.OtherName] == 0 {
		t.Errorf("window lists %d names", len(ws.Counts))
	}
	for k := range ws.Counts {
		if len(k) > trace.MaxName {
			t.Errorf("name of %d bytes", len(k))
		}
	}
	beh := b.Behavior(trace.Summary{})
	e := beh.Executed[0]
	if len(e.Path) != trace.MaxPath || len(e.Argv) != trace.MaxArgs+1 || len(e.Argv[0]) != trace.MaxArgLen {
		t.Errorf("exec not bounded: %d, %d", len(e.Path), len(e.Argv))
	}
	if len(argv[0]) != 1000 {
		t.Error("caller's argv changed")
	}
	if len(beh.Connections[0].Addr) != trace.MaxAddr {
		t.Errorf("addr of %d bytes", len(beh.Connections[0].Addr))
	}
}
