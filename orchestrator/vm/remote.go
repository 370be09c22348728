package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"libvirt.org/go/libvirt"
)

// ErrHost is wrapped by failures of a hypervisor host's connection: the
// host is unreachable, its libvirtd restarted or the network was cut.
var ErrHost = errors.New("hypervisor host unavailable")

// HostFiles is what a slot on a remote host (Spec.Remote) needs from its
// hypervisor besides the domain calls: the agent channel relayed by
// libvirtd, and the files the slot keeps on that host (saved state,
// console log), which the orchestrator cannot open itself.
type HostFiles interface {
	// OpenChannel connects to the domain's virtio-serial channel name
	// through libvirt's stream API (virDomainOpenChannel).
	OpenChannel(ctx context.Context, domain, name string) (net.Conn, error)
	// StatFile reports size and modification time of a file on the host,
	// in a directory made ready with EnsureDir. A missing file wraps
	// os.ErrNotExist.
	StatFile(ctx context.Context, path string) (size int64, mtime time.Time, err error)
	// RemoveFile deletes a file on the host (missing is not an error).
	RemoveFile(ctx context.Context, path string) error
	// TailFile returns up to n bytes from the end of a file on the host.
	TailFile(ctx context.Context, path string, n int64) ([]byte, error)
}

var eventLoop sync.Once

// startEventLoop registers libvirt's default event loop and runs it for
// the life of the process. It must happen before the first connection is
// opened; it is what lets a remote connection send keepalives (a dead
// host is noticed within seconds instead of at the next TCP timeout) and
// report its close.
func startEventLoop() {
	eventLoop.Do(func() {
		if err := libvirt.EventRegisterDefaultImpl(); err != nil {
			return // connections still work, without keepalive
		}
		go func() {
			for {
				if err := libvirt.EventRunDefaultImpl(); err != nil {
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	})
}

// IsRemoteURI tells whether a libvirt URI names another host (a transport
// such as qemu+tcp, qemu+tls, qemu+ssh, or a host name).
func IsRemoteURI(uri string) bool {
	u, err := url.Parse(uri)
	if err != nil {
		return false
	}
	return strings.Contains(u.Scheme, "+") || u.Host != ""
}

// Keepalive settings for remote connections: a probe every 5 s, the
// connection closed after 3 unanswered ones.
const (
	keepaliveInterval = 5
	keepaliveCount    = 3
)

// URI is the connection's libvirt URI.
func (l *Libvirt) URI() string { return l.uri }

// Alive reports whether the connection still works; it fails with ErrHost
// when the host is gone or the connection was closed.
func (l *Libvirt) Alive(ctx context.Context) error {
	l.mu.Lock()
	closed := l.closedReason
	l.mu.Unlock()
	if closed != "" {
		return fmt.Errorf("%w: %s: connection closed: %s", ErrHost, l.uri, closed)
	}
	_, err := call(ctx, "ping "+l.uri, func() (uint32, error) { return l.conn.GetVersion() })
	if err != nil {
		return fmt.Errorf("%w: %w", ErrHost, err)
	}
	return nil
}

func (l *Libvirt) watchClose() {
	if !l.remote {
		return
	}
	_ = l.conn.SetKeepAlive(keepaliveInterval, keepaliveCount)
	_ = l.conn.RegisterCloseCallback(func(_ *libvirt.Connect, reason libvirt.ConnectCloseReason) {
		why := map[libvirt.ConnectCloseReason]string{
			libvirt.CONNECT_CLOSE_REASON_ERROR:     "error",
			libvirt.CONNECT_CLOSE_REASON_EOF:       "end of file (libvirtd stopped or restarted)",
			libvirt.CONNECT_CLOSE_REASON_KEEPALIVE: "keepalive timeout (host unreachable)",
			libvirt.CONNECT_CLOSE_REASON_CLIENT:    "closed by client",
		}[reason]
		if why == "" {
			why = fmt.Sprintf("reason %d", reason)
		}
		l.mu.Lock()
		l.closedReason = why
		l.mu.Unlock()
	})
}

// OpenChannel opens the domain's channel through libvirtd: libvirtd
// connects to the channel's unix socket on its own host and relays the
// bytes over this (authenticated) libvirt connection, so no port of the
// guest or of QEMU is exposed on the network.
func (l *Libvirt) OpenChannel(ctx context.Context, domain, name string) (net.Conn, error) {
	return call(ctx, "open channel "+name+" of "+domain, func() (net.Conn, error) {
		d, err := l.conn.LookupDomainByName(domain)
		if err != nil {
			return nil, mapErr(err)
		}
		defer d.Free()
		st, err := l.conn.NewStream(0)
		if err != nil {
			return nil, err
		}
		if err := d.OpenChannel(name, st, libvirt.DOMAIN_CHANNEL_FORCE); err != nil {
			st.Free()
			return nil, err
		}
		return newStreamConn(st, l.uri+"/"+domain+"/"+name), nil
	})
}

// streamConn is a libvirt stream as a net.Conn. libvirt's blocking stream
// calls cannot be interrupted, so a reader goroutine receives into a
// buffer and Read waits on it with the read deadline; a Write runs in its
// own goroutine and is abandoned (the connection then counts as broken)
// when the write deadline passes. Close aborts the stream without waiting
// for a dead host to answer.
type streamConn struct {
	st   *libvirt.Stream
	name string

	mu        sync.Mutex
	cond      *sync.Cond
	buf       []byte
	rerr      error
	closed    bool
	rdead     time.Time
	wdead     time.Time
	rdeadTick *time.Timer
	broken    error
	wmu       sync.Mutex
	closeOnce sync.Once
	recvDone  chan struct{}
	sending   sync.WaitGroup
}

func newStreamConn(st *libvirt.Stream, name string) *streamConn {
	c := &streamConn{st: st, name: name, recvDone: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	go c.recvLoop()
	return c
}

func (c *streamConn) recvLoop() {
	defer close(c.recvDone)
	p := make([]byte, 64<<10)
	for {
		n, err := c.st.Recv(p)
		c.mu.Lock()
		if n > 0 {
			c.buf = append(c.buf, p[:n]...)
		}
		if err != nil {
			if c.closed {
				err = net.ErrClosed
			} else if !errors.Is(err, io.EOF) {
				err = fmt.Errorf("%w: channel %s: %v", ErrHost, c.name, err)
			}
			c.rerr = err
		}
		c.cond.Broadcast()
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
func (timeoutError) Is(t error) bool { return t == os.ErrDeadlineExceeded }

func (c *streamConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if c.closed {
			return 0, net.ErrClosed
		}
		if len(c.buf) > 0 {
			n := copy(p, c.buf)
			c.buf = c.buf[n:]
			return n, nil
		}
		if c.rerr != nil {
			return 0, c.rerr
		}
		if !c.rdead.IsZero() && !time.Now().Before(c.rdead) {
			return 0, timeoutError{}
		}
		c.cond.Wait()
	}
}

func (c *streamConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	if c.broken != nil {
		c.mu.Unlock()
		return 0, c.broken
	}
	dead := c.wdead
	c.mu.Unlock()
	done := make(chan error, 1)
	c.sending.Add(1)
	go func() {
		defer c.sending.Done()
		q := p
		for len(q) > 0 {
			n, err := c.st.Send(q)
			if err != nil {
				done <- err
				return
			}
			q = q[n:]
		}
		done <- nil
	}()
	var timer <-chan time.Time
	if !dead.IsZero() {
		t := time.NewTimer(time.Until(dead))
		defer t.Stop()
		timer = t.C
	}
	select {
	case err := <-done:
		if err != nil {
			return 0, fmt.Errorf("%w: channel %s: %v", ErrHost, c.name, err)
		}
		return len(p), nil
	case <-timer:
		c.mu.Lock()
		c.broken = fmt.Errorf("%w: channel %s: a write timed out", ErrHost, c.name)
		c.mu.Unlock()
		return 0, timeoutError{}
	}
}

func (c *streamConn) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		if c.rdeadTick != nil {
			c.rdeadTick.Stop()
		}
		c.cond.Broadcast()
		c.mu.Unlock()
		// Abort tells libvirtd to close its end; on a dead host it waits
		// for the connection to fail, so it is not waited for. The stream
		// is freed only once no Recv or Send uses it any more (a call
		// stuck on a dead host keeps it, and its memory, until it fails).
		done := make(chan struct{})
		go func() {
			_ = c.st.Abort()
			<-c.recvDone
			c.sending.Wait()
			_ = c.st.Free()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
	})
	return nil
}

func (c *streamConn) SetDeadline(t time.Time) error {
	_ = c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func (c *streamConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rdead = t
	if c.rdeadTick != nil {
		c.rdeadTick.Stop()
		c.rdeadTick = nil
	}
	if !t.IsZero() {
		c.rdeadTick = time.AfterFunc(time.Until(t), func() {
			c.mu.Lock()
			c.cond.Broadcast()
			c.mu.Unlock()
		})
	}
	c.cond.Broadcast()
	return nil
}

func (c *streamConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.wdead = t
	c.mu.Unlock()
	return nil
}

type streamAddr string

func (a streamAddr) Network() string { return "libvirt-channel" }
func (a streamAddr) String() string  { return string(a) }

func (c *streamConn) LocalAddr() net.Addr  { return streamAddr("orchestrator") }
func (c *streamConn) RemoteAddr() net.Addr { return streamAddr(c.name) }
