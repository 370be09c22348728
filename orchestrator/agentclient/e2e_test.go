package agentclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/agent"
	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/guest/tracer"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startAgent serves a real agent on one end of a pipe and returns the other.
func startAgent(t *testing.T, cfg agent.Config) (net.Conn, *agent.Agent) {
	t.Helper()
	if cfg.WorkDir == "" {
		cfg.WorkDir = t.TempDir()
	}
	cfg.Logger = quietLogger()
	a := agent.New(cfg)
	host, guest := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- a.Serve(context.Background(), guest) }()
	t.Cleanup(func() {
		host.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("agent did not stop after the host closed")
		}
		guest.Close()
	})
	return host, a
}

func push(t *testing.T, s *Session, data []byte) {
	t.Helper()
	sum := sha256.Sum256(data)
	if err := s.PushSample(context.Background(), "sample.sh", bytes.NewReader(data), int64(len(data)), hex.EncodeToString(sum[:])); err != nil {
		t.Fatalf("push sample: %v", err)
	}
}

func TestEndToEndRealTracer(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("tracer needs linux/amd64")
	}
	conn, a := startAgent(t, agent.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, hello, err := Handshake(ctx, conn, WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if hello.Runs != 0 || hello.Version != proto.Version || hello.AgentVersion != agent.Version || hello.Kernel == "" || hello.CPUs < 1 {
		t.Fatalf("hello %+v", hello)
	}
	if err := s.SetTime(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho hello \"$1\"\nls / >/dev/null\ncat /nonexistent 2>/dev/null\nexit 3\n"
	push(t, s, []byte(script))
	var wins []trace.Window
	sum, err := s.Run(ctx, proto.Run{TimeoutMs: 10_000, WindowMs: 50, Args: []string{"world"}, MaxEvents: 100_000, MaxWindows: 1000},
		func(w trace.Window) error { wins = append(wins, w); return nil })
	if err != nil {
		t.Fatal(err)
	}
	tr := trace.Trace{Windows: wins, Summary: sum}
	if err := tr.Validate(); err != nil {
		t.Fatal(err)
	}
	if sum.Outcome != trace.OutcomeExited || sum.ExitCode != 3 || sum.Stdout != "hello world\n" {
		t.Fatalf("summary %+v", sum)
	}
	var sawCat bool
	for _, e := range tr.Events() {
		if e.Name == "openat" && e.Path == "/nonexistent" && e.Err == "ENOENT" {
			sawCat = true
		}
	}
	if !sawCat || len(sum.Processes) < 3 {
		t.Errorf("trace lacks the script's children: cat seen %v, %d processes", sawCat, len(sum.Processes))
	}
	// Only one run per session.
	if _, err := s.Run(ctx, proto.Run{TimeoutMs: 1000, WindowMs: 50, MaxEvents: 10, MaxWindows: 10}, func(trace.Window) error { return nil }); !errors.Is(err, proto.ErrRemote) {
		t.Fatalf("second run: %v", err)
	}
	if a.Runs() != 1 {
		t.Errorf("agent counts %d runs", a.Runs())
	}
}

func TestHelloCountsRunsAcrossSessions(t *testing.T) {
	run := func(ctx context.Context, cfg tracer.Config, emit func(trace.Window) error) (trace.Summary, error) {
		if err := emit(trace.Window{Index: 0, Start: 0, End: 10}); err != nil {
			return trace.Summary{}, err
		}
		return trace.Summary{Outcome: trace.OutcomeExited, Windows: 1}, nil
	}
	conn, _ := startAgent(t, agent.Config{Run: run})
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		s, hello, err := Handshake(ctx, conn, WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		if hello.Runs != i {
			t.Fatalf("session %d: hello.Runs = %d", i, hello.Runs)
		}
		push(t, s, []byte("x"))
		if _, err := s.Run(ctx, proto.Run{TimeoutMs: 1000, WindowMs: 10, MaxEvents: 10, MaxWindows: 10}, func(trace.Window) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if err := s.Bye(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLargeWindowIsSplitAndReassembled(t *testing.T) {
	long := strings.Repeat("p", 3000)
	var sent trace.Window
	run := func(ctx context.Context, cfg tracer.Config, emit func(trace.Window) error) (trace.Summary, error) {
		sent = trace.Window{Index: 0, Start: 0, End: 100, Counts: map[string]int{"openat": 2000}, Dropped: 7}
		for i := 0; i < 2000; i++ {
			sent.Events = append(sent.Events, trace.Event{T: int64(i), Name: "openat", Path: fmt.Sprintf("%s/%d", long, i)})
		}
		if err := emit(sent); err != nil {
			return trace.Summary{}, err
		}
		return trace.Summary{Outcome: trace.OutcomeExited, Windows: 1}, nil
	}
	conn, _ := startAgent(t, agent.Config{Run: run})
	ctx := context.Background()
	s, _, err := Handshake(ctx, conn, WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	push(t, s, []byte("x"))
	var got []trace.Window
	if _, err := s.Run(ctx, proto.Run{TimeoutMs: 1000, WindowMs: 10, MaxEvents: 2000, MaxWindows: 10},
		func(w trace.Window) error { got = append(got, w); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Events) != 2000 || got[0].Dropped != 7 || got[0].Counts["openat"] != 2000 {
		t.Fatalf("reassembled %d windows", len(got))
	}
	for i, e := range got[0].Events {
		if e.T != int64(i) || e.Path != sent.Events[i].Path {
			t.Fatalf("event %d out of order or corrupted", i)
		}
	}
}

func TestSampleHashMismatch(t *testing.T) {
	conn, _ := startAgent(t, agent.Config{})
	s, _, err := Handshake(context.Background(), conn, WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	err = s.PushSample(context.Background(), "x", strings.NewReader("abc"), 3, strings.Repeat("0", 64))
	if !errors.Is(err, proto.ErrRemote) || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("err %v", err)
	}
	if err := s.SetTime(context.Background(), time.Now()); !errors.Is(err, ErrBroken) {
		t.Fatalf("session still usable: %v", err)
	}
}
