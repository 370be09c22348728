package report

import (
	"fmt"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

func TestBuilderBehavior(t *testing.T) {
	b := NewBuilder()
	b.AddWindow(trace.Window{Index: 0, Start: 0, End: 1e9,
		Counts: map[string]int{"openat": 3, "execve": 1, "connect": 3, "unlink": 1},
		Events: []trace.Event{
			{PID: 10, Name: "execve", Path: "/tmp/smn/sample", Argv: []string{"sample"}},
			{PID: 10, Name: "openat", Path: "/etc/passwd", Flags: "O_RDONLY", Ret: 3},
			{PID: 10, Name: "openat", Path: "/etc/shadow", Flags: "O_WRONLY|O_APPEND", Ret: 4},
			{PID: 10, Name: "openat", Path: "/nonexistent", Flags: "O_RDONLY", Ret: -2, Err: "ENOENT"},
			{PID: 11, Name: "connect", Addr: "inet 127.0.0.1:22", Ret: -111, Err: "ECONNREFUSED"},
			{PID: 11, Name: "connect", Addr: "inet 127.0.0.1:22", Ret: 0},
			{PID: 11, Name: "connect", Addr: "inet 127.0.0.1:3333", Ret: -115, Err: "EINPROGRESS"},
			{PID: 10, Name: "unlink", Path: "/tmp/x", Ret: 0},
		}})
	b.AddWindow(trace.Window{Index: 1, Start: 1e9, End: 2e9})
	sum := trace.Summary{Outcome: trace.OutcomeExited, Processes: []trace.Process{
		{PID: 10, Exe: "/tmp/smn/sample", Start: 0},
		{PID: 11, PPID: 10, Exe: "/bin/sh", Start: 5},
		{PID: 12, PPID: 11, Start: 9},
	}}
	beh := b.Behavior(sum)
	if got := fmt.Sprint(beh.FilesOpened); got != "[/etc/passwd /etc/shadow]" {
		t.Errorf("opened %s", got)
	}
	if got := fmt.Sprint(beh.FilesWritten); got != "[/etc/shadow]" {
		t.Errorf("written %s", got)
	}
	if got := fmt.Sprint(beh.FilesDeleted); got != "[/tmp/x]" {
		t.Errorf("deleted %s", got)
	}
	if len(beh.Executed) != 1 || !beh.Executed[0].OK {
		t.Errorf("executed %+v", beh.Executed)
	}
	if len(beh.Connections) != 2 || beh.Connections[0].Attempts != 2 || beh.Connections[0].OK != 1 ||
		beh.Connections[1].OK != 1 {
		t.Errorf("connections %+v", beh.Connections)
	}
	if len(beh.Processes) != 1 || len(beh.Processes[0].Children) != 1 || len(beh.Processes[0].Children[0].Children) != 1 {
		t.Errorf("tree %+v", beh.Processes)
	}
	if beh.TopCalls[0].Name != "connect" || beh.TopCalls[0].Count != 3 {
		t.Errorf("top %+v", beh.TopCalls)
	}
	ws := b.Windows()
	if len(ws) != 2 || ws[0].Total != 8 || ws[1].Total != 0 || ws[1].StartMs != 1000 {
		t.Errorf("windows %+v", ws)
	}
}

func TestBuilderCaps(t *testing.T) {
	b := NewBuilder()
	var evs []trace.Event
	for i := 0; i < MaxListed+50; i++ {
		evs = append(evs, trace.Event{PID: 1, Name: "openat", Path: fmt.Sprintf("/f%d", i), Ret: 3})
	}
	b.AddWindow(trace.Window{Events: evs})
	beh := b.Behavior(trace.Summary{})
	if len(beh.FilesOpened) != MaxListed || beh.Omitted != 50 {
		t.Fatalf("cap: %d listed, %d omitted", len(beh.FilesOpened), beh.Omitted)
	}
}

func TestTreeOrphansAreRoots(t *testing.T) {
	tr := Tree([]trace.Process{{PID: 5, PPID: 99, Start: 2}, {PID: 4, PPID: 4, Start: 1}})
	if len(tr) != 2 || tr[0].PID != 4 {
		t.Fatalf("%+v", tr)
	}
}
