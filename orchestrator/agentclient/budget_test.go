package agentclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// runCollect handshakes with guest (which then gets the Run), runs with the
// given budget and returns the windows and summary Run delivered.
func runCollect(t *testing.T, maxEvents int, maxRunBytes int64, guest func(c net.Conn, r *proto.Reader, w *proto.Writer)) ([]trace.Window, trace.Summary, error) {
	t.Helper()
	conn := fakeGuest(t, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
		if !hello(r, w) {
			return
		}
		if r.Expect(proto.TypeRun, nil) != nil || w.Send(proto.TypeAck, proto.Ack{For: proto.TypeRun}) != nil {
			return
		}
		guest(c, r, w)
		// Drain whatever the host sends (an Error on failure) until it hangs up.
		for {
			if _, err := r.ReadFrame(); err != nil {
				return
			}
		}
	})
	s, _, err := Handshake(context.Background(), conn, WithLogger(quietLogger()), WithMaxRunBytes(maxRunBytes))
	if err != nil {
		t.Fatal(err)
	}
	var wins []trace.Window
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sum, err := s.Run(ctx, proto.Run{TimeoutMs: 60_000, WindowMs: 100, MaxEvents: maxEvents, MaxWindows: 100},
		func(w trace.Window) error { wins = append(wins, w); return nil })
	return wins, sum, err
}

// heapPeak samples the live heap until stop is called and returns the
// highest HeapAlloc seen above the level at the start.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak.Load() {
				peak.Store(ms.HeapAlloc - base)
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

// floodPart is a window part of n empty events: "{}," is 3 wire bytes that
// decode into a whole trace.Event struct.
func floodPart(index, n int, last bool) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"index":%d,"start":%d,"end":%d,"events":[`, index, index*100, (index+1)*100)
	b.WriteString(strings.Repeat("{},", n-1))
	fmt.Fprintf(&b, `{}],"last":%v}`, last)
	return b.Bytes()
}

// Finding 1 (issue 13): 6.29 MB of window parts of "{}" events, for a run
// that asked for MaxEvents=10, decoded into 2,096,952 events and 431 MiB of
// live heap. The host must count kept events across parts against the
// budget, never append past it, and end a run that sends far more than its
// budget with ErrOverBudget.
func TestRunPartFloodBounded(t *testing.T) {
	const perPart = (proto.DefaultMaxPayload - 100) / 3
	for _, c := range []struct {
		maxEvents int
		bound     uint64 // live heap growth allowed
	}{
		{10, 48 << 20},
		{200_000, 256 << 20}, // the orchestrator's budget: 200,000 empty events kept, garbage of the growing slices included
	} {
		t.Run(fmt.Sprint(c.maxEvents), func(t *testing.T) {
			stop := heapPeak()
			wins, _, err := runCollect(t, c.maxEvents, 512<<20, func(conn net.Conn, r *proto.Reader, w *proto.Writer) {
				for i := 0; i < 6; i++ {
					if w.WriteFrame(proto.TypeWindow, floodPart(0, perPart, false)) != nil {
						return
					}
				}
				w.WriteFrame(proto.TypeWindow, floodPart(0, 1, true))
				w.Send(proto.TypeFinal, proto.Final{Summary: trace.Summary{Windows: 1}})
			})
			peak := stop()
			t.Logf("MaxEvents %d, 6 parts of %d events: err %v, peak heap +%d KiB", c.maxEvents, perPart, err, peak>>10)
			if !errors.Is(err, ErrOverBudget) || !errors.Is(err, ErrGuest) {
				t.Errorf("err %v, want ErrOverBudget (and ErrGuest)", err)
			}
			kept := 0
			for _, w := range wins {
				kept += len(w.Events)
			}
			if kept > c.maxEvents {
				t.Errorf("%d events kept for a budget of %d", kept, c.maxEvents)
			}
			if peak > c.bound {
				t.Errorf("peak live heap grew by %d MiB, bound %d MiB", peak>>20, c.bound>>20)
			}
		})
	}
}

// An honest-looking run a little over its budget keeps MaxEvents calls,
// system calls and Windows API calls together, and counts the rest.
func TestRunBudgetAcrossPartsAndWindows(t *testing.T) {
	ev := func(name string) trace.Event { return trace.Event{Name: name, PID: 1, TID: 1} }
	wins, sum, err := runCollect(t, 10, 1<<20, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
		p := proto.WindowPart{Window: trace.Window{Index: 0, Start: 0, End: 100}}
		for i := 0; i < 6; i++ {
			p.Events = append(p.Events, ev("read"))
		}
		w.Send(proto.TypeWindow, p)
		last := proto.WindowPart{Window: trace.Window{Index: 0, Start: 0, End: 100,
			Counts: map[string]int{"read": 6}, APICounts: map[string]int{"KERNEL32.CreateFileA": 7}, Dropped: 1}, Last: true}
		for i := 0; i < 7; i++ {
			last.API = append(last.API, trace.APICall{Module: "KERNEL32", Func: "CreateFileA", TID: 1})
		}
		w.Send(proto.TypeWindow, last)
		w.Send(proto.TypeWindow, proto.WindowPart{Window: trace.Window{Index: 1, Start: 100, End: 200,
			Counts: map[string]int{"write": 3}, Events: []trace.Event{ev("write"), ev("write"), ev("write")}}, Last: true})
		w.Send(proto.TypeFinal, proto.Final{Summary: trace.Summary{Windows: 2, Events: 9, Kept: 9,
			Bounded: &trace.Bounded{Dropped: 12345}}}) // the guest's claim is replaced
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(wins) != 2 {
		t.Fatalf("%d windows", len(wins))
	}
	w0, w1 := wins[0], wins[1]
	if len(w0.Events) != 6 || len(w0.API) != 4 || w0.APIDropped != 3 || w0.Dropped != 1 {
		t.Errorf("window 0: %d events, %d API, %d API dropped, %d dropped", len(w0.Events), len(w0.API), w0.APIDropped, w0.Dropped)
	}
	if len(w1.Events) != 0 || w1.Dropped != 3 || w1.Counts["write"] != 3 {
		t.Errorf("window 1: %d events, %d dropped, counts %v", len(w1.Events), w1.Dropped, w1.Counts)
	}
	if b := sum.Bounded; b == nil || b.Dropped != 3 || b.APIDropped != 3 || !sum.Truncated || !sum.APITruncated {
		t.Errorf("summary %+v bounded %+v", sum, b)
	}
}

// A guest that keeps sending empty parts of one window ends the run.
func TestRunEndlessEmptyParts(t *testing.T) {
	_, _, err := runCollect(t, 10, 512<<20, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
		p := proto.WindowPart{Window: trace.Window{Index: 0, Start: 0, End: 100}}
		for w.Send(proto.TypeWindow, p) == nil {
		}
	})
	if !errors.Is(err, ErrOverBudget) {
		t.Fatalf("err %v, want ErrOverBudget", err)
	}
}

// Finding 3 (host side): strings and lists are re-bounded to the tracer's
// limits, marked, and distinct call names are capped per run.
func TestRunBoundsStringsAndNames(t *testing.T) {
	wins, sum, err := runCollect(t, 100, 16<<20, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
		argv := make([]string, 1000)
		for i := range argv {
			argv[i] = strings.Repeat("a", 500)
		}
		big := proto.WindowPart{Window: trace.Window{Index: 0, Start: 0, End: 100, Events: []trace.Event{
			{Name: "execve", Path: strings.Repeat("p", 200_000), Argv: argv, Addr: strings.Repeat("x", 10_000)},
			{Name: strings.Repeat("n", 10_000)},
		}}}
		w.Send(proto.TypeWindow, big)
		counts := map[string]int{}
		for i := 0; i < trace.MaxNames+500; i++ {
			counts[fmt.Sprintf("sys_%d", i)] = 2
		}
		w.Send(proto.TypeWindow, proto.WindowPart{Window: trace.Window{Index: 0, Start: 0, End: 100, Counts: counts}, Last: true})
		w.Send(proto.TypeFinal, proto.Final{Summary: trace.Summary{Windows: 1,
			Processes: []trace.Process{{PID: 1, Exe: strings.Repeat("e", 100_000), Argv: argv}}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	ev := wins[0].Events[0]
	if len(ev.Path) != trace.MaxPath || len(ev.Argv) != trace.MaxArgs+1 || ev.Argv[trace.MaxArgs] != "..." ||
		len(ev.Argv[0]) != trace.MaxArgLen || len(ev.Addr) != trace.MaxAddr || !ev.Cut {
		t.Errorf("event not bounded: path %d, argv %d, addr %d, cut %v", len(ev.Path), len(ev.Argv), len(ev.Addr), ev.Cut)
	}
	if n := len(wins[0].Events[1].Name); n != trace.MaxName {
		t.Errorf("name of %d bytes", n)
	}
	// Two names went to the events; the counts fill the rest of the set.
	if n := len(wins[0].Counts); n != trace.MaxNames-2+1 || wins[0].Counts[trace.OtherName] != 2*502 {
		t.Errorf("%d distinct names, %d under %s", n, wins[0].Counts[trace.OtherName], trace.OtherName)
	}
	p := sum.Processes[0]
	if len(p.Exe) != trace.MaxPath || len(p.Argv) != trace.MaxArgs+1 || sum.Bounded == nil || sum.Bounded.Cut < 2 {
		t.Errorf("process not bounded: exe %d, argv %d, bounded %+v", len(p.Exe), len(p.Argv), sum.Bounded)
	}
}

// Finding 4 (issue 13): a guest Error frame of up to 1 MiB with escape
// sequences went verbatim into the job's error. It is cut to
// proto.MaxErrorText and stripped of control and bidi characters.
func TestRunGuestErrorSanitised(t *testing.T) {
	msg := "\x1b[2J\x1b]0;owned\x07tracer \u202eexploded\u2066 \x9b31m\u009b1m" + strings.Repeat("A\r\n", 100_000)
	_, _, err := runCollect(t, 10, 1<<20, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
		w.Send(proto.TypeError, proto.Error{Message: msg})
	})
	if !errors.Is(err, proto.ErrRemote) {
		t.Fatalf("err %v", err)
	}
	s := err.Error()
	if len(s) > proto.MaxErrorText+200 {
		t.Errorf("error of %d bytes", len(s))
	}
	if strings.ContainsAny(s, "\x1b\x07\r\n\u202e\u2066\u009b") {
		t.Errorf("control characters kept: %q", s[:100])
	}
	if !strings.Contains(s, "tracer exploded") {
		t.Errorf("text lost: %q", s[:100])
	}
}
