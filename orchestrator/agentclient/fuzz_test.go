package agentclient

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// FuzzDecodePart: any window-part payload a guest can send is decoded
// within the run's budget and the tracer's bounds, or refused with
// ErrMalformed / ErrOverBudget.
func FuzzDecodePart(f *testing.F) {
	f.Add([]byte(`{"index":0,"start":0,"end":100,"events":[{"name":"read","path":"/x","argv":["a"]},{}],"counts":{"read":2},"last":true}`))
	f.Add([]byte(`{"index":1,"api":[{"module":"KERNEL32","func":"CreateFileA","args":["x"]}],"api_counts":{"KERNEL32.CreateFileA":1},"api_dropped":3}`))
	f.Add([]byte(`{"events":[{},{},{},{},{},{},{},{},{},{},{},{},{}],"last":false}`))
	f.Add([]byte(`{"counts":{"a":-1}}`))
	f.Add([]byte(`{"events":null,"counts":null,"last":null}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		bd := trace.NewBounder(trace.Limits{MaxEvents: 5, MaxOffered: 10, MaxNames: 8})
		w, _, err := decodePart(bd, payload)
		if err != nil {
			if !errors.Is(err, trace.ErrMalformed) && !errors.Is(err, trace.ErrOverBudget) {
				t.Fatalf("error wraps neither ErrMalformed nor ErrOverBudget: %v", err)
			}
			return
		}
		if n := len(w.Events) + len(w.API); n > 5 {
			t.Fatalf("%d calls kept, budget 5", n)
		}
		if len(w.Counts) > 9 || len(w.APICounts) > 9 || w.Dropped < 0 || w.APIDropped < 0 {
			t.Fatalf("counts not bounded: %d names, dropped %d", len(w.Counts), w.Dropped)
		}
		for k, v := range w.Counts {
			if v < 0 || len(k) > trace.MaxName {
				t.Fatalf("count %q=%d", k, v)
			}
		}
		for _, e := range w.Events {
			if len(e.Path) > trace.MaxPath || len(e.Argv) > trace.MaxArgs+1 || len(e.Addr) > trace.MaxAddr {
				t.Fatal("event not bounded")
			}
		}
		if _, err := json.Marshal(w); err != nil {
			t.Fatal(err)
		}
	})
}
