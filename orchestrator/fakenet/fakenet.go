// Package fakenet is the isolated guest network ("isolated" mode): a fake
// internet in user space for one VM slot.
//
// The slot's virtio NIC is a QEMU socket netdev (libvirt
// <interface type='client'>) connected to the slot's Responder on the
// host's loopback. The stream carries the guest's Ethernet frames, each
// after a 4-byte big-endian length (QEMU's socket netdev framing). The
// Responder terminates them in a gVisor network stack (gvisor.dev/gvisor
// pkg/tcpip) that lives in the orchestrator's process and has no route to
// anything: there is no tap device, no bridge, no host socket opened on the
// guest's behalf, so a packet from the guest can reach only this code,
// whatever address it is sent to.
//
// What the stack answers:
//   - ARP for the gateway (10.0.2.2), the resolver (10.0.2.3) and the
//     sinkhole (10.0.2.4); every other IPv4 destination is accepted too
//     (promiscuous), so the guest's packets to any address reach the
//     responder through its default route;
//   - DNS (UDP port 53, any address): every A question is answered with the
//     sinkhole address, other types get an empty answer;
//   - TCP on every port of every address: the connection is accepted; an
//     HTTP/1 request gets its request line and Host header logged and a
//     small 200 response; a TLS ClientHello gets its SNI logged and the
//     connection closed (no decryption); anything else is read and
//     discarded;
//   - other UDP: logged and discarded.
//
// Between Begin and End every frame is written to an in-memory pcap
// (bounded) and the DNS questions, HTTP requests, TLS server names and
// connections are logged (bounded lists).
package fakenet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// The fake internet's addresses. They are QEMU user-mode networking's, so
// the guest agent configures its NIC the same way in both modes.
var (
	GuestAddr = [4]byte{10, 0, 2, 15}
	Gateway   = [4]byte{10, 0, 2, 2}
	Resolver  = [4]byte{10, 0, 2, 3}
	Sinkhole  = [4]byte{10, 0, 2, 4}
	// GatewayMAC is the stack's link address (slirp's, so a guest's ARP
	// cache saved with its clean state stays right).
	GatewayMAC = []byte{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02}
)

// Bounds.
const (
	DefaultMaxPcapBytes = 32 << 20 // per job
	DefaultMaxEntries   = 1024     // per list of the log
	MaxFrame            = 65536    // a longer length prefix ends the stream
	maxActive           = 512      // connections and flows served at once
	connIdle            = 20 * time.Second
	maxSniff            = 16 << 10 // bytes read of a stream to classify it
	maxDrain            = 1 << 20  // bytes read of a stream before it is closed
)

// ErrStream is the kind of errors of a malformed frame stream.
var ErrStream = errors.New("fakenet: frame stream")

// Config configures a Responder.
type Config struct {
	MaxPcapBytes int // 0: DefaultMaxPcapBytes
	MaxEntries   int // 0: DefaultMaxEntries
	Log          *slog.Logger
}

// Responder is one slot's fake internet: a loopback TCP listener for the
// slot's QEMU and the user-space stack serving its frames.
type Responder struct {
	cfg Config
	ln  net.Listener
	log *slog.Logger

	mu     sync.Mutex
	rec    *recorder // nil outside Begin..End
	cur    net.Conn  // the QEMU connected now
	closed bool
	wg     sync.WaitGroup
}

// Listen starts a Responder on an ephemeral port of 127.0.0.1.
func Listen(cfg Config) (*Responder, error) {
	if cfg.MaxPcapBytes <= 0 {
		cfg.MaxPcapBytes = DefaultMaxPcapBytes
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakenet: listen: %w", err)
	}
	r := &Responder{cfg: cfg, ln: ln, log: cfg.Log}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

// Addr is the host address QEMU connects to (127.0.0.1) and Port its port.
func (r *Responder) Addr() string { return "127.0.0.1" }

// Port is the listener's port.
func (r *Responder) Port() int { return r.ln.Addr().(*net.TCPAddr).Port }

// Close stops the listener and the stream being served.
func (r *Responder) Close() error {
	r.mu.Lock()
	r.closed = true
	if r.cur != nil {
		r.cur.Close()
	}
	r.mu.Unlock()
	err := r.ln.Close()
	r.wg.Wait()
	return err
}

// accept serves one QEMU at a time: a new connection (QEMU restarted for a
// restore) replaces the previous one, whose stack is torn down, so every
// run starts on a fresh stack with no connection state of the previous one.
func (r *Responder) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			c.Close()
			return
		}
		if r.cur != nil {
			r.cur.Close()
		}
		r.cur = c
		r.mu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			err := r.Serve(context.Background(), c)
			c.Close()
			r.mu.Lock()
			if r.cur == c {
				r.cur = nil
			}
			r.mu.Unlock()
			if err != nil && !errors.Is(err, net.ErrClosed) {
				r.log.Warn("fakenet: guest frame stream ended", "err", err)
			}
		}()
	}
}

// Begin starts recording a new capture (the previous one, if End was not
// called, is dropped).
func (r *Responder) Begin() {
	r.mu.Lock()
	r.rec = newRecorder(r.cfg.MaxPcapBytes, r.cfg.MaxEntries)
	r.mu.Unlock()
}

// End stops recording and returns the capture since Begin (an empty one
// when Begin was not called).
func (r *Responder) End() Capture {
	r.mu.Lock()
	rc := r.rec
	r.rec = nil
	r.mu.Unlock()
	if rc == nil {
		rc = newRecorder(0, 0)
		return Capture{Traffic: rc.t}
	}
	return rc.capture()
}

func (r *Responder) recorder() *recorder {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rec
}

// Serve runs a fresh stack on one frame stream (QEMU's socket netdev
// framing) until the stream ends, ctx is done or the stream is malformed
// (a frame length of 0 or over MaxFrame).
func (r *Responder) Serve(ctx context.Context, rw io.ReadWriter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wmu sync.Mutex
	send := func(frame []byte) {
		if rc := r.recorder(); rc != nil {
			rc.frame(frame, time.Now())
		}
		buf := make([]byte, 4+len(frame))
		binary.BigEndian.PutUint32(buf, uint32(len(frame)))
		copy(buf[4:], frame)
		wmu.Lock()
		defer wmu.Unlock()
		if _, err := rw.Write(buf); err != nil {
			cancel()
		}
	}
	st, err := newNetStack(ctx, r, send)
	if err != nil {
		return err
	}
	defer st.close()
	var hdr [4]byte
	buf := make([]byte, MaxFrame)
	for {
		if _, err := io.ReadFull(rw, hdr[:]); err != nil {
			if err == io.EOF || ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%w: frame length cut short", ErrStream)
			}
			return err
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n == 0 || n > MaxFrame {
			return fmt.Errorf("%w: frame length %d (want 1..%d)", ErrStream, n, MaxFrame)
		}
		if _, err := io.ReadFull(rw, buf[:n]); err != nil {
			return fmt.Errorf("%w: frame cut short: %v", ErrStream, err)
		}
		frame := buf[:n]
		if rc := r.recorder(); rc != nil {
			rc.frame(frame, time.Now())
		}
		st.inject(frame)
	}
}

// peek returns the capture so far without ending it (tests).
func (r *Responder) peek() Capture {
	if rc := r.recorder(); rc != nil {
		return rc.capture()
	}
	return Capture{}
}
