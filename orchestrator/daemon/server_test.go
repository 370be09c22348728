package daemon

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
)

// Issue 13 finding 5: the API server bounds every phase of a connection.
// The defaults must let long uploads through; each bound, made short here,
// must really close a connection that overstays it.
func TestAPIServerTimeouts(t *testing.T) {
	d := DefaultServerTimeouts
	if d.ReadHeader <= 0 || d.Read < 10*time.Minute || d.Write < 10*time.Minute || d.Idle <= 0 || d.Idle > 5*time.Minute {
		t.Fatalf("default timeouts %+v: want all set, Read and Write long enough for a 64 MiB upload", d)
	}
	srv := newAPIServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, "ok")
	}), ServerTimeouts{ReadHeader: 300 * time.Millisecond, Read: 600 * time.Millisecond, Write: 2 * time.Second, Idle: 300 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	closedWithin := func(t *testing.T, c net.Conn, br *bufio.Reader, within time.Duration) {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(within))
		start := time.Now()
		for {
			if _, err := br.ReadByte(); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("connection still open after %s", time.Since(start).Round(time.Millisecond))
				}
				return
			}
		}
	}
	t.Run("silent client", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		closedWithin(t, c, bufio.NewReader(c), 5*time.Second)
	})
	t.Run("idle kept-alive connection", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Close {
			t.Fatal("server closed a good keep-alive request's connection at once")
		}
		closedWithin(t, c, br, 5*time.Second)
	})
	t.Run("trickled body", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
		done := make(chan struct{})
		go func() { // one byte every 50 ms: never finishes within Read
			defer close(done)
			for i := 0; i < 200; i++ {
				if _, err := c.Write([]byte("a")); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		br := bufio.NewReader(c)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatalf("trickled body accepted: %d %s", resp.StatusCode, strings.TrimSpace(string(b)))
			}
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("trickled body: no answer and connection still open after 5 s")
		}
		c.Close()
		<-done
	})
}

// Issue 13 finding 12: New refuses a non-loopback plain-HTTP address before
// it opens anything, unless AllowInsecureListen is set.
func TestNewRefusesInsecureListen(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":7433", "[::]:0"} {
		_, err := New(context.Background(), Config{DataDir: t.TempDir(), Listen: addr, ImageDir: t.TempDir()})
		if !errors.Is(err, api.ErrInsecureListen) {
			t.Fatalf("listen %s: got %v, want api.ErrInsecureListen", addr, err)
		}
	}
	// Allowed: the check passes and New goes on (to fail later on the
	// empty image directory, which is not this test's business).
	_, err := New(context.Background(), Config{DataDir: t.TempDir(), Listen: "0.0.0.0:0", ImageDir: t.TempDir(), AllowInsecureListen: true})
	if errors.Is(err, api.ErrInsecureListen) {
		t.Fatalf("AllowInsecureListen ignored: %v", err)
	}
}
