package trace

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func sampleTrace() *Trace {
	fd := 3
	exit := 0
	return &Trace{
		Windows: []Window{
			{Index: 0, Start: 0, End: 1e9, Counts: map[string]int{"openat": 1, "read": 2},
				Events: []Event{
					{T: 10, PID: 1, TID: 1, Nr: 257, Name: "openat", Ret: 3, Path: "/etc/passwd", Flags: "O_RDONLY"},
					{T: 5, PID: 1, TID: 1, Nr: 0, Name: "read", Ret: -9, Err: "EBADF", FD: &fd},
				}},
			{Index: 1, Start: 1e9, End: 2e9, Dropped: 4, Counts: map[string]int{"write": 4}},
		},
		Summary: Summary{Outcome: OutcomeExited, Events: 7, Kept: 2, Windows: 2, Truncated: true,
			Processes: []Process{{PID: 1, Exe: "/tmp/smn/sample", Exit: &exit, Threads: 1, Syscalls: 7}}},
	}
}

func TestJSONLRoundTrip(t *testing.T) {
	tr := sampleTrace()
	var buf bytes.Buffer
	if err := tr.WriteJSONL(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSONL(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, tr) {
		t.Fatalf("round trip changed the trace:\n got %+v\nwant %+v", got, tr)
	}
	ev := got.Events()
	if len(ev) != 2 || ev[0].T != 5 || !ev[0].Failed() || ev[1].Failed() {
		t.Fatalf("events not in time order or Failed wrong: %+v", ev)
	}
	if got.Windows[0].Total() != 3 {
		t.Fatalf("total %d", got.Windows[0].Total())
	}
}

func TestReadJSONLRejects(t *testing.T) {
	var buf bytes.Buffer
	sampleTrace().WriteJSONL(&buf)
	full := buf.String()
	lines := strings.SplitAfter(full, "\n")
	cases := map[string]string{
		"empty":            "",
		"no summary":       lines[0] + lines[1],
		"truncated line":   full[:len(full)-20],
		"not json":         "hello\n",
		"two summaries":    full + lines[2],
		"window after end": full + lines[0],
		"unknown line":     `{"other":1}` + "\n",
		"out of order":     lines[1] + lines[0] + lines[2],
		"negative count":   `{"window":{"index":0,"start":0,"end":1,"counts":{"read":-1}}}` + "\n" + lines[2],
		"bad pid":          `{"summary":{"outcome":"exited","processes":[{"pid":0}]}}` + "\n",
	}
	for name, in := range cases {
		if _, err := ReadJSONL(strings.NewReader(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}

func FuzzReadJSONL(f *testing.F) {
	var buf bytes.Buffer
	sampleTrace().WriteJSONL(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte(`{"summary":{}}`))
	f.Add([]byte(`{"window":{"index":0,"end":-1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ReadJSONL(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not wrapping ErrMalformed: %v", err)
			}
			return
		}
		if err := tr.Validate(); err != nil {
			t.Fatalf("accepted an invalid trace: %v", err)
		}
		var out bytes.Buffer
		if err := tr.WriteJSONL(&out); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadJSONL(&out); err != nil {
			t.Fatalf("re-encoding an accepted trace made it unreadable: %v", err)
		}
	})
}
