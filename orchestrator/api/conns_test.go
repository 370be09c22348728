package api_test

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/api/apitest"
)

// Issue 13 finding 5: clients without the token must not keep connections
// (and so file descriptors) open after their 401. Many unauthenticated
// keep-alive connections each get 401 with Connection: close, and the
// server closes every one of them.
func TestUnauthorizedConnectionsClosed(t *testing.T) {
	f := apitest.NewFake()
	h := api.NewHandler(f, token, api.HandlerOptions{MaxSample: f.MaxSample, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewUnstartedServer(h)
	var open atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	const n = 200
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, c)
		auth := ""
		if i%2 == 1 {
			auth = "Authorization: Bearer wrong\r\n"
		}
		if _, err := io.WriteString(c, "GET /api/v1/jobs HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n"+auth+"\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("conn %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("conn %d: status %d, want 401", i, resp.StatusCode)
		}
		if !resp.Close {
			t.Fatalf("conn %d: 401 without Connection: close", i)
		}
		// The server has closed its end: the next read is EOF, not a
		// timeout.
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Fatalf("conn %d: after the 401 the connection is still open (read: %v)", i, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for open.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := open.Load(); got != 0 {
		t.Fatalf("%d of %d unauthenticated connections still open on the server", got, n)
	}

	// An authorized client keeps its connection (keep-alive works).
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := 0; i < 2; i++ {
		if _, err := io.WriteString(c, "GET /api/v1/health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+token+"\r\n\r\n"); err != nil {
			t.Fatalf("request %d on the kept connection: %v", i, err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("authorized request %d: status %d close=%v", i, resp.StatusCode, resp.Close)
		}
	}
}
