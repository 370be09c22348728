package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/agent"
	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/orchestrator/agentclient"
)

// TestListenMode serves the agent on a unix socket as `smn-agent -listen`
// does and runs two sessions on two connections through the host client.
func TestListenMode(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := agent.New(agent.Config{WorkDir: filepath.Join(dir, "work"), Logger: log})
	go serveListener(context.Background(), "unix:"+sock, a, log)

	for i := 0; i < 2; i++ {
		var conn net.Conn
		var err error
		for start := time.Now(); time.Since(start) < 5*time.Second; time.Sleep(20 * time.Millisecond) {
			if conn, err = net.Dial("unix", sock); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		s, hello, err := agentclient.Handshake(ctx, conn, agentclient.WithLogger(log))
		if err != nil {
			t.Fatal(err)
		}
		if hello.Runs != i {
			t.Errorf("connection %d: hello.Runs %d", i, hello.Runs)
		}
		sample := []byte("#!/bin/sh\necho ok\n")
		sum := sha256.Sum256(sample)
		if err := s.PushSample(ctx, "s", bytes.NewReader(sample), int64(len(sample)), hex.EncodeToString(sum[:])); err != nil {
			t.Fatal(err)
		}
		res, err := s.Run(ctx, proto.Run{TimeoutMs: 5000, WindowMs: 100, MaxEvents: 1000, MaxWindows: 100}, func(trace.Window) error { return nil })
		if err != nil || res.Stdout != "ok\n" || res.Outcome != trace.OutcomeExited {
			t.Fatalf("run: %v %+v", err, res)
		}
		if err := s.Bye(); err != nil {
			t.Fatal(err)
		}
		conn.Close()
		cancel()
	}
}
