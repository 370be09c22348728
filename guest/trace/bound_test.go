package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// checkBounded fails t if tr keeps more than maxEvents calls or a string or
// list past the bounds.
func checkBounded(t *testing.T, tr *Trace, maxEvents int) {
	t.Helper()
	kept := 0
	names := map[string]bool{}
	for _, w := range tr.Windows {
		kept += len(w.Events) + len(w.API)
		for k, v := range w.Counts {
			names[k] = true
			if v < 0 || len(k) > MaxName {
				t.Fatalf("count %q=%d", k, v)
			}
		}
		for _, e := range w.Events {
			if len(e.Path) > MaxPath || len(e.Path2) > MaxPath || len(e.Addr) > MaxAddr || len(e.Argv) > MaxArgs+1 || len(e.Name) > MaxName {
				t.Fatalf("event not bounded: %d %d %d %d", len(e.Path), len(e.Path2), len(e.Addr), len(e.Argv))
			}
			for _, a := range e.Argv {
				if len(a) > MaxArgLen {
					t.Fatalf("argv entry of %d bytes", len(a))
				}
			}
			names[e.Name] = true
		}
		for _, c := range w.API {
			if len(c.Name()) > MaxName || len(c.Path) > MaxPath || len(c.Args) > MaxArgs+1 {
				t.Fatalf("API call not bounded")
			}
		}
	}
	if kept > maxEvents {
		t.Fatalf("%d calls kept, budget %d", kept, maxEvents)
	}
	if len(names) > MaxNames+1 {
		t.Fatalf("%d names", len(names))
	}
	if len(tr.Summary.Processes) > MaxProcs || len(tr.Summary.Error) > MaxText {
		t.Fatalf("summary not bounded")
	}
}

func FuzzReadJSONLLimits(f *testing.F) {
	var buf bytes.Buffer
	sampleTrace().WriteJSONL(&buf)
	f.Add(buf.Bytes(), 3)
	f.Add([]byte(`{"window":{"index":0,"start":0,"end":1,"events":[{},{},{}],"api":[{"module":"K","func":"F"}],"counts":{"a":1}}}`+"\n"+`{"summary":{}}`), 2)
	f.Add([]byte(`{"window":{"index":0,"events":null,"counts":null}}`+"\n"+`{"summary":{"processes":[{"pid":1,"argv":["a","b"]}]}}`), 1)
	f.Fuzz(func(t *testing.T, b []byte, maxEvents int) {
		maxEvents = 1 + abs(maxEvents)%100
		tr, err := ReadJSONLLimits(bytes.NewReader(b), Limits{MaxEvents: maxEvents, MaxOffered: 4 * maxEvents})
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrOverBudget) {
				t.Fatalf("error wraps neither ErrMalformed nor ErrOverBudget: %v", err)
			}
			return
		}
		checkBounded(t, tr, maxEvents)
		if _, err := json.Marshal(tr); err != nil {
			t.Fatal(err)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		if n = -n; n < 0 {
			return 0
		}
	}
	return n
}

// Finding 6 (issue 13): a decompression bomb of empty events. Reading it
// keeps at most the read budget and counts the rest as dropped.
func TestReadJSONLEventBomb(t *testing.T) {
	var b bytes.Buffer
	for i := 0; i < 20; i++ {
		b.WriteString(`{"window":{"index":`)
		b.WriteString(itoa(i))
		b.WriteString(`,"start":` + itoa(i) + `,"end":` + itoa(i+1) + `,"events":[`)
		b.WriteString(strings.Repeat("{},", 100_000))
		b.WriteString("{}]}}\n")
	}
	b.WriteString(`{"summary":{"outcome":"exited"}}` + "\n")
	tr, err := ReadJSONLLimits(&b, Limits{MaxEvents: 1000})
	if err != nil {
		t.Fatal(err)
	}
	checkBounded(t, tr, 1000)
	if bd := tr.Summary.Bounded; bd == nil || bd.Dropped != 20*100_001-1000 || !tr.Summary.Truncated {
		t.Fatalf("bounded %+v", tr.Summary.Bounded)
	}
	dropped := 0
	for _, w := range tr.Windows {
		dropped += w.Dropped
	}
	if dropped != 20*100_001-1000 {
		t.Fatalf("windows count %d dropped", dropped)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
