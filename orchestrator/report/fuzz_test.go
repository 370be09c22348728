package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// FuzzBuilder: any trace the reader accepts builds a report that fits its
// bound and decodes again.
func FuzzBuilder(f *testing.F) {
	f.Add([]byte(`{"window":{"index":0,"start":0,"end":1000000000,"counts":{"openat":2,"execve":1},"events":[` +
		`{"pid":1,"name":"openat","path":"/etc/passwd","flags":"O_RDONLY","ret":3},` +
		`{"pid":1,"name":"execve","path":"/bin/sh","argv":["sh","-c","x"]},` +
		`{"pid":2,"name":"connect","addr":"inet 10.0.2.2:80","ret":-111,"err":"ECONNREFUSED"}]}}` + "\n" +
		`{"summary":{"outcome":"exited","processes":[{"pid":1},{"pid":2,"ppid":1},{"pid":3,"ppid":2},{"pid":3,"ppid":3}]}}`))
	f.Add([]byte(`{"summary":{"processes":[{"pid":5,"ppid":6},{"pid":6,"ppid":5},{"pid":5,"ppid":5}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := trace.ReadJSONLLimits(bytes.NewReader(b), trace.Limits{MaxEvents: 100})
		if err != nil {
			return
		}
		bl := NewBuilder()
		for _, w := range tr.Windows {
			bl.AddWindow(w)
		}
		r := &Report{Behavior: bl.Behavior(tr.Summary), Windows: bl.Windows(), Outcome: OutcomeOf(tr.Summary)}
		if n := countNodes(r.Behavior.Processes); n != len(tr.Summary.Processes) {
			t.Fatalf("tree holds %d of %d processes", n, len(tr.Summary.Processes))
		}
		out, err := Fit(r, 64<<10)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) > 64<<10 {
			t.Fatalf("%d bytes", len(out))
		}
		var back Report
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("stored report does not decode: %v", err)
		}
	})
}
