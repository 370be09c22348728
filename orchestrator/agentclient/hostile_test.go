package agentclient

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// fakeGuest runs guest on the far end of a pipe and returns the near end.
func fakeGuest(t *testing.T, guest func(c net.Conn, r *proto.Reader, w *proto.Writer)) net.Conn {
	t.Helper()
	host, g := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		guest(g, proto.NewReader(g), proto.NewWriter(g))
	}()
	t.Cleanup(func() {
		host.Close()
		g.Close()
		<-done
	})
	return host
}

// hello answers the next HostHello correctly.
func hello(r *proto.Reader, w *proto.Writer) bool {
	var hh proto.HostHello
	if r.Expect(proto.TypeHostHello, &hh) != nil {
		return false
	}
	return w.Send(proto.TypeHello, proto.Hello{Version: proto.Version, Session: hh.Session}) == nil
}

func handshakeErr(t *testing.T, guest func(c net.Conn, r *proto.Reader, w *proto.Writer)) error {
	t.Helper()
	conn := fakeGuest(t, guest)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, _, err := Handshake(ctx, conn, WithLogger(quietLogger()), WithHelloInterval(100*time.Millisecond))
	if time.Since(start) > 1500*time.Millisecond {
		t.Errorf("handshake took %v past its deadline", time.Since(start))
	}
	if err == nil {
		t.Fatal("handshake succeeded")
	}
	return err
}

func header(typ proto.Type, n uint32, sum uint32) []byte {
	h := []byte{'S', 'M', proto.Version, byte(typ), 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(h[4:], n)
	binary.BigEndian.PutUint32(h[8:], sum)
	return h
}

func TestHostileGuestHandshake(t *testing.T) {
	cases := []struct {
		name  string
		want  error
		guest func(c net.Conn, r *proto.Reader, w *proto.Writer)
	}{
		{"garbage", proto.ErrProtocol, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
			r.ReadFrame()
			c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		}},
		{"truncated frame", io.ErrUnexpectedEOF, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
			r.ReadFrame()
			c.Write(header(proto.TypeHello, 100, 0))
			c.Write([]byte(`{"version":1`))
			c.Close()
		}},
		{"oversized length", proto.ErrTooLarge, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
			r.ReadFrame()
			c.Write(header(proto.TypeHello, 0xffffffff, 0))
		}},
		{"checksum mismatch", proto.ErrProtocol, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
			r.ReadFrame()
			c.Write(append(header(proto.TypeHello, 2, 12345), '{', '}'))
		}},
		{"frame version", proto.ErrVersion, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
			r.ReadFrame()
			h := header(proto.TypeHello, 0, 0)
			h[2] = proto.Version + 1
			c.Write(h)
		}},
		{"hello version", proto.ErrVersion, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
			var hh proto.HostHello
			r.Expect(proto.TypeHostHello, &hh)
			w.Send(proto.TypeHello, proto.Hello{Version: proto.Version + 1, Session: hh.Session})
		}},
		{"error frame", proto.ErrRemote, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
			r.ReadFrame()
			w.Send(proto.TypeError, proto.Error{Message: "no"})
		}},
		{"never answers", ErrTimeout, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
			for {
				if _, err := r.ReadFrame(); err != nil {
					return
				}
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := handshakeErr(t, c.guest)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
		})
	}
}

func TestHandshakeResendsAndSkipsStale(t *testing.T) {
	hellos := make(chan int, 1)
	conn := fakeGuest(t, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
		var first proto.HostHello
		r.Expect(proto.TypeHostHello, &first) // ignored: agent "not ready"
		var second proto.HostHello
		r.Expect(proto.TypeHostHello, &second)
		// A late answer to the first, a stale frame, then the right one.
		w.Send(proto.TypeHello, proto.Hello{Version: proto.Version, Session: first.Session})
		w.Send(proto.TypeFinal, proto.Final{})
		w.Send(proto.TypeHello, proto.Hello{Version: proto.Version, Session: second.Session, Runs: 0})
		hellos <- 2
		r.ReadFrame()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	s, h, err := Handshake(ctx, conn, WithLogger(quietLogger()), WithHelloInterval(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if h.Session != s.ID() || <-hellos != 2 {
		t.Fatalf("hello for %s, session %s", h.Session, s.ID())
	}
}

// runAgainst handshakes with guest, which must then handle a sample push
// and a Run, and returns Run's error.
func runAgainst(t *testing.T, ctx context.Context, maxWindows int, guest func(c net.Conn, r *proto.Reader, w *proto.Writer)) (int, error) {
	t.Helper()
	conn := fakeGuest(t, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
		if !hello(r, w) {
			return
		}
		if r.Expect(proto.TypeRun, nil) != nil || w.Send(proto.TypeAck, proto.Ack{For: proto.TypeRun}) != nil {
			return
		}
		guest(c, r, w)
	})
	s, _, err := Handshake(context.Background(), conn, WithLogger(quietLogger()), WithMaxRunBytes(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	_, err = s.Run(ctx, proto.Run{TimeoutMs: 60_000, WindowMs: 100, MaxEvents: 10, MaxWindows: maxWindows},
		func(trace.Window) error { n++; return nil })
	return n, err
}

func TestHostileGuestRun(t *testing.T) {
	win := func(i int, last bool) proto.WindowPart {
		return proto.WindowPart{Window: trace.Window{Index: i, Start: int64(i) * 100, End: int64(i+1) * 100}, Last: last}
	}
	t.Run("window flood", func(t *testing.T) {
		n, err := runAgainst(t, context.Background(), 5, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
			for i := 0; ; i++ {
				if w.Send(proto.TypeWindow, win(i, true)) != nil {
					return
				}
			}
		})
		if !errors.Is(err, ErrGuest) || n != 6 {
			t.Fatalf("err %v after %d windows", err, n)
		}
	})
	t.Run("endless parts", func(t *testing.T) {
		_, err := runAgainst(t, context.Background(), 5, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
			p := win(0, false)
			for i := 0; i < 100; i++ {
				p.Events = append(p.Events, trace.Event{Name: "read", Path: "/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})
			}
			for w.Send(proto.TypeWindow, p) == nil {
			}
		})
		if !errors.Is(err, ErrGuest) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("out of order", func(t *testing.T) {
		_, err := runAgainst(t, context.Background(), 5, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
			w.Send(proto.TypeWindow, win(0, true))
			w.Send(proto.TypeWindow, win(2, true))
		})
		if !errors.Is(err, ErrGuest) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("summary disagrees", func(t *testing.T) {
		_, err := runAgainst(t, context.Background(), 5, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
			w.Send(proto.TypeWindow, win(0, true))
			w.Send(proto.TypeFinal, proto.Final{Summary: trace.Summary{Windows: 3}})
		})
		if !errors.Is(err, ErrGuest) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("silent guest", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := runAgainst(t, ctx, 5, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
			w.Send(proto.TypeWindow, win(0, true))
			r.ReadFrame() // blocks until the host gives up
		})
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
			t.Fatalf("err %v after %v", err, time.Since(start))
		}
	})
	t.Run("error frame", func(t *testing.T) {
		_, err := runAgainst(t, context.Background(), 5, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
			w.Send(proto.TypeError, proto.Error{Message: "tracer exploded"})
		})
		if !errors.Is(err, proto.ErrRemote) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("garbage mid-run", func(t *testing.T) {
		_, err := runAgainst(t, context.Background(), 5, func(c net.Conn, r *proto.Reader, w *proto.Writer) {
			w.Send(proto.TypeWindow, win(0, true))
			c.Write([]byte{0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 0})
		})
		if !errors.Is(err, proto.ErrProtocol) {
			t.Fatalf("err %v", err)
		}
	})
}
