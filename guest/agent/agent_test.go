package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/guest/tracer"
)

type host struct {
	t    *testing.T
	c    net.Conn
	r    *proto.Reader
	w    *proto.Writer
	done chan error
	a    *Agent
}

func newHost(t *testing.T, cfg Config) *host {
	t.Helper()
	if cfg.WorkDir == "" {
		cfg.WorkDir = t.TempDir()
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	a := New(cfg)
	hc, gc := net.Pipe()
	h := &host{t: t, c: hc, r: proto.NewReader(hc), w: proto.NewWriter(hc), done: make(chan error, 1), a: a}
	go func() { h.done <- a.Serve(context.Background(), gc); gc.Close() }()
	t.Cleanup(func() { hc.Close() })
	hc.SetDeadline(time.Now().Add(10 * time.Second))
	return h
}

func (h *host) hello() proto.Hello {
	h.t.Helper()
	if err := h.w.Send(proto.TypeHostHello, proto.HostHello{Version: proto.Version, Session: "s1"}); err != nil {
		h.t.Fatal(err)
	}
	var hl proto.Hello
	if err := h.r.Expect(proto.TypeHello, &hl); err != nil {
		h.t.Fatal(err)
	}
	return hl
}

// expectError reads an Error frame, closes the connection and checks that
// Serve ends with an error.
func (h *host) expectError(contains string) {
	h.t.Helper()
	err := h.r.Expect(proto.TypeAck, nil)
	if !errors.Is(err, proto.ErrRemote) || !strings.Contains(err.Error(), contains) {
		h.t.Fatalf("want an error frame about %q, got %v", contains, err)
	}
	h.c.Close()
	select {
	case err := <-h.done:
		if err == nil {
			h.t.Fatal("Serve returned nil after an error")
		}
	case <-time.After(5 * time.Second):
		h.t.Fatal("Serve did not end after the host left")
	}
}

func (h *host) sample(data []byte) {
	h.t.Helper()
	sum := sha256.Sum256(data)
	h.w.Send(proto.TypeSampleBegin, proto.SampleBegin{Name: "../../etc/evil", Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
	h.w.WriteFrame(proto.TypeSampleChunk, data)
	h.w.WriteFrame(proto.TypeSampleEnd, nil)
}

func TestNoHostGivesEOF(t *testing.T) {
	h := newHost(t, Config{})
	h.c.Close()
	if err := <-h.done; err != io.EOF {
		t.Fatalf("got %v, want io.EOF", err)
	}
}

func TestHelloAndSetTime(t *testing.T) {
	h := newHost(t, Config{})
	hl := h.hello()
	if hl.Session != "s1" || hl.Version != proto.Version || hl.Runs != 0 || hl.BootID == "" || hl.UptimeMs <= 0 {
		t.Fatalf("hello %+v", hl)
	}
	h.w.Send(proto.TypeSetTime, proto.SetTime{UnixNano: time.Now().UnixNano()})
	var ack proto.Ack
	if err := h.r.Expect(proto.TypeAck, &ack); err != nil || ack.For != proto.TypeSetTime || !strings.Contains(ack.Note, "test mode") {
		t.Fatalf("ack %+v %v", ack, err)
	}
	h.w.WriteFrame(proto.TypeBye, nil)
	h.c.Close()
	if err := <-h.done; err != nil {
		t.Fatalf("clean session ended with %v", err)
	}
}

func TestSampleStoredSafely(t *testing.T) {
	dir := t.TempDir()
	h := newHost(t, Config{WorkDir: dir})
	h.hello()
	h.sample([]byte("#!/bin/sh\n"))
	var ack proto.Ack
	if err := h.r.Expect(proto.TypeAck, &ack); err != nil || ack.For != proto.TypeSampleEnd {
		t.Fatalf("%v %+v", err, ack)
	}
	st, err := os.Stat(filepath.Join(dir, "sample"))
	if err != nil || st.Mode().Perm() != 0o755 || st.Size() != 10 {
		t.Fatalf("sample file: %v %v", err, st)
	}
	if _, err := os.Stat(filepath.Join(dir, "../../etc/evil")); err == nil {
		t.Fatal("display name used as a path")
	}
}

func TestHostileHost(t *testing.T) {
	hello := func(h *host) { h.hello() }
	cases := map[string]struct {
		setup func(h *host) // synchronous: may read
		send  func(h *host) // concurrent with the read of the Error: writes only
		want  string
	}{
		"garbage": {nil, func(h *host) { h.c.Write([]byte("\x00\x01garbage and more garbage")) }, "bad magic"},
		"before hello": {nil, func(h *host) {
			h.w.Send(proto.TypeSetTime, proto.SetTime{})
		}, "before host-hello"},
		"wrong version": {nil, func(h *host) {
			h.w.Send(proto.TypeHostHello, proto.HostHello{Version: 99})
		}, "version"},
		"oversized sample": {hello, func(h *host) {
			h.w.Send(proto.TypeSampleBegin, proto.SampleBegin{Size: MaxSampleSize + 1, SHA256: strings.Repeat("0", 64)})
		}, "out of range"},
		"chunk past size": {hello, func(h *host) {
			h.w.Send(proto.TypeSampleBegin, proto.SampleBegin{Size: 2, SHA256: strings.Repeat("0", 64)})
			h.w.WriteFrame(proto.TypeSampleChunk, []byte("abc"))
			h.w.WriteFrame(proto.TypeSampleChunk, []byte("more, discarded")) // must not deadlock
			h.w.WriteFrame(proto.TypeSampleEnd, nil)
		}, "declared"},
		"short sample": {hello, func(h *host) {
			h.w.Send(proto.TypeSampleBegin, proto.SampleBegin{Size: 5, SHA256: strings.Repeat("0", 64)})
			h.w.WriteFrame(proto.TypeSampleChunk, []byte("abc"))
			h.w.WriteFrame(proto.TypeSampleEnd, nil)
		}, "5 declared"},
		"run without sample": {hello, func(h *host) {
			h.w.Send(proto.TypeRun, proto.Run{TimeoutMs: 1000, WindowMs: 100, MaxEvents: 1, MaxWindows: 1})
		}, "without a verified sample"},
		"invalid run": {func(h *host) {
			h.hello()
			h.sample([]byte("x"))
			if err := h.r.Expect(proto.TypeAck, nil); err != nil {
				t.Fatal(err)
			}
		}, func(h *host) {
			h.w.Send(proto.TypeRun, proto.Run{TimeoutMs: 1000, WindowMs: 1, MaxEvents: 1, MaxWindows: 1})
		}, "window"},
		"agent-only frame": {hello, func(h *host) {
			h.w.Send(proto.TypeFinal, proto.Final{})
		}, "unexpected final"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHost(t, Config{})
			if c.setup != nil {
				c.setup(h)
			}
			go c.send(h)
			h.expectError(c.want)
		})
	}
}

func TestHostLeavingStopsRun(t *testing.T) {
	cancelled := make(chan struct{})
	run := func(ctx context.Context, cfg tracer.Config, emit func(trace.Window) error) (trace.Summary, error) {
		if cfg.Dir == "" || !strings.HasSuffix(cfg.Path, "/sample") || cfg.Timeout != 30*time.Second {
			t.Errorf("tracer config %+v", cfg)
		}
		<-ctx.Done()
		close(cancelled)
		return trace.Summary{Outcome: trace.OutcomeTimeout}, ctx.Err()
	}
	h := newHost(t, Config{Run: run})
	h.hello()
	h.sample([]byte("#!/bin/sh\nsleep 1\n"))
	h.r.Expect(proto.TypeAck, nil)
	h.w.Send(proto.TypeRun, proto.Run{TimeoutMs: 30_000, WindowMs: 100, MaxEvents: 10, MaxWindows: 10})
	if err := h.r.Expect(proto.TypeAck, nil); err != nil {
		t.Fatal(err)
	}
	h.c.Close()
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("run not cancelled when the host left")
	}
	<-h.done
	if h.a.Runs() != 1 {
		t.Errorf("runs %d", h.a.Runs())
	}
}

func TestEncodeWindowSplits(t *testing.T) {
	w := trace.Window{Index: 3, Start: 30, End: 40, Counts: map[string]int{"read": 500}, Dropped: 2}
	for i := 0; i < 500; i++ {
		w.Events = append(w.Events, trace.Event{T: int64(i), Name: "read", Path: strings.Repeat("x", 200)})
	}
	const limit = 16 << 10
	parts, err := EncodeWindow(w, limit)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 5 {
		t.Fatalf("%d parts", len(parts))
	}
	var got []trace.Event
	for i, p := range parts {
		if len(p) > limit {
			t.Errorf("part %d has %d bytes", i, len(p))
		}
		var wp proto.WindowPart
		if err := json.Unmarshal(p, &wp); err != nil {
			t.Fatal(err)
		}
		last := i == len(parts)-1
		if wp.Last != last || wp.Index != 3 || (wp.Counts != nil) != last || (wp.Dropped != 0) != last {
			t.Errorf("part %d: last %v counts %v dropped %d", i, wp.Last, wp.Counts, wp.Dropped)
		}
		got = append(got, wp.Events...)
	}
	if len(got) != 500 || got[499].T != 499 {
		t.Fatalf("reassembled %d events", len(got))
	}
	small, _ := EncodeWindow(trace.Window{Index: 0}, limit)
	if len(small) != 1 {
		t.Fatal("small window split")
	}
}

// A fork bomb's process table is cut to MaxSummaryProcesses so the final
// frame still fits the protocol's frame limit.
func TestFinalProcessTableBounded(t *testing.T) {
	run := func(ctx context.Context, cfg tracer.Config, emit func(trace.Window) error) (trace.Summary, error) {
		s := trace.Summary{Outcome: trace.OutcomeExited}
		for i := 0; i < 10_001; i++ {
			s.Processes = append(s.Processes, trace.Process{PID: 100 + i, PPID: 99 + i, Exe: "/tmp/smn/sample", Argv: []string{"/tmp/smn/sample", "fork"}, Start: int64(i), Threads: 1, Syscalls: 3})
		}
		return s, nil
	}
	h := newHost(t, Config{Run: run})
	h.hello()
	h.sample([]byte("#!/bin/sh\n"))
	h.r.Expect(proto.TypeAck, nil)
	h.w.Send(proto.TypeRun, proto.Run{TimeoutMs: 10_000, WindowMs: 100, MaxEvents: 10, MaxWindows: 10})
	if err := h.r.Expect(proto.TypeAck, nil); err != nil {
		t.Fatal(err)
	}
	var fin proto.Final
	if err := h.r.Expect(proto.TypeFinal, &fin); err != nil {
		t.Fatalf("final frame: %v", err)
	}
	if len(fin.Summary.Processes) != MaxSummaryProcesses || fin.Summary.ProcessesDropped != 10_001-MaxSummaryProcesses {
		t.Fatalf("%d processes, %d dropped", len(fin.Summary.Processes), fin.Summary.ProcessesDropped)
	}
	if fin.Summary.Processes[0].PID != 100 {
		t.Errorf("the earliest processes are not the ones kept")
	}
	h.c.Close()
	<-h.done
}

// The session outlives a connection that ends without a bye: after a
// restore the port can report the end of the connection the clean state
// was saved with just after the new host's hello was answered, and the
// host's set-time then arrives on the next connection. It used to be
// refused there ("set-time before host-hello"), failing the attempt.
func TestSessionSurvivesReconnect(t *testing.T) {
	h := newHost(t, Config{})
	h.hello()
	h.c.Close()
	if err := <-h.done; err != nil {
		t.Fatalf("first connection: %v", err)
	}
	hc, gc := net.Pipe()
	defer hc.Close()
	done := make(chan error, 1)
	go func() { done <- h.a.Serve(context.Background(), gc); gc.Close() }()
	hc.SetDeadline(time.Now().Add(10 * time.Second))
	w, r := proto.NewWriter(hc), proto.NewReader(hc)
	w.Send(proto.TypeSetTime, proto.SetTime{UnixNano: time.Now().UnixNano()})
	var ack proto.Ack
	if err := r.Expect(proto.TypeAck, &ack); err != nil || ack.For != proto.TypeSetTime {
		t.Fatalf("set-time on the next connection: %+v %v", ack, err)
	}
	// A bye ends the session: a later connection needs a hello again.
	w.WriteFrame(proto.TypeBye, nil)
	hc.Close()
	if err := <-done; err != nil {
		t.Fatalf("second connection: %v", err)
	}
	hc3, gc3 := net.Pipe()
	defer hc3.Close()
	go func() { done <- h.a.Serve(context.Background(), gc3); gc3.Close() }()
	hc3.SetDeadline(time.Now().Add(10 * time.Second))
	proto.NewWriter(hc3).Send(proto.TypeSetTime, proto.SetTime{UnixNano: time.Now().UnixNano()})
	if err := proto.NewReader(hc3).Expect(proto.TypeAck, nil); !errors.Is(err, proto.ErrRemote) || !strings.Contains(err.Error(), "before host-hello") {
		t.Fatalf("after a bye: %v, want the before-host-hello error", err)
	}
}
