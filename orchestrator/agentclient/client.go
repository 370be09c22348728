// Package agentclient is the host side of the host<->guest protocol (package
// proto): it opens a session with the guest agent over the VM's
// virtio-serial channel, sets the guest clock, pushes the sample, runs it and
// reassembles the streamed trace.
//
// Every blocking call honours its context: reads and writes run under a
// connection deadline taken from the context (or a default when it has
// none), and cancelling the context unblocks them at once. A guest that
// never answers, answers garbage or streams without end therefore ends with
// an error wrapping ErrTimeout, a proto error or ErrGuest. After any I/O or
// protocol error the session is unusable (ErrBroken): the caller should
// close the connection and revert the VM.
package agentclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/internal/safetext"
)

// Error kinds, besides proto's sentinels (ErrProtocol, ErrTooLarge,
// ErrVersion, ErrRemote) which returned errors also wrap when they apply.
var (
	ErrTimeout = errors.New("guest agent did not answer in time")
	ErrGuest   = errors.New("guest agent misbehaved") // broke a bound or the stream's order
	ErrBroken  = errors.New("session unusable after an earlier error")
	// ErrOverBudget: the guest sent far more calls (or window parts) than
	// the run's budget allows, which an honest agent never does. It also
	// wraps ErrGuest.
	ErrOverBudget = trace.ErrOverBudget
)

// A guest may send at most OverBudgetFactor*MaxEvents+OverBudgetSlack calls
// with details in a run (kept or not; the host keeps at most MaxEvents)
// before the run ends with ErrOverBudget. The factor leaves room for an
// agent that budgets system calls and Windows API calls separately.
const (
	OverBudgetFactor = 2
	OverBudgetSlack  = 1024
)

// Defaults of the options.
const (
	DefaultHelloInterval    = 1500 * time.Millisecond
	DefaultHandshakeTimeout = 30 * time.Second
	DefaultCallTimeout      = 30 * time.Second
	DefaultRunGrace         = 30 * time.Second
	DefaultMaxRunBytes      = 512 << 20
	// DefaultMaxKeptBytes bounds the memory of the calls a run keeps
	// (trace.Limits.MaxKeptBytes): with the one window being reassembled,
	// it bounds what a run holds on the host.
	DefaultMaxKeptBytes = trace.DefaultKept
)

type options struct {
	helloInterval    time.Duration
	handshakeTimeout time.Duration
	callTimeout      time.Duration
	runGrace         time.Duration
	maxRunBytes      int64
	maxKeptBytes     int64
	log              *slog.Logger
}

// Option tunes a session.
type Option func(*options)

// WithHelloInterval sets how long Handshake waits for a Hello before it
// resends HostHello with a new session id.
func WithHelloInterval(d time.Duration) Option { return func(o *options) { o.helloInterval = d } }

// WithHandshakeTimeout bounds Handshake when its context has no deadline.
func WithHandshakeTimeout(d time.Duration) Option {
	return func(o *options) { o.handshakeTimeout = d }
}

// WithCallTimeout bounds SetTime and PushSample (plus 1 s per MiB) when their
// context has no deadline.
func WithCallTimeout(d time.Duration) Option { return func(o *options) { o.callTimeout = d } }

// WithRunGrace is how long past the run's own timeout Run waits for the
// guest's Final.
func WithRunGrace(d time.Duration) Option { return func(o *options) { o.runGrace = d } }

// WithMaxRunBytes bounds the bytes a run may stream.
func WithMaxRunBytes(n int64) Option { return func(o *options) { o.maxRunBytes = n } }

// WithMaxKeptBytes bounds the approximate memory of the calls a run keeps
// with their details; calls past it are counted as dropped.
func WithMaxKeptBytes(n int64) Option { return func(o *options) { o.maxKeptBytes = n } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// Session is an open session with the agent. It is not safe for concurrent
// use.
type Session struct {
	conn   net.Conn
	r      *proto.Reader
	w      *proto.Writer
	id     string
	opts   options
	broken error
}

// ID is the session id echoed by the agent.
func (s *Session) ID() string { return s.id }

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// guard puts conn under ctx's deadline, or now+fallback when ctx has none
// (and the earlier of the two when cap is set), and makes ctx cancellation
// unblock pending I/O. The returned func undoes it.
func guard(ctx context.Context, conn net.Conn, fallback time.Duration, limit time.Time) (time.Time, func()) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(fallback)
	}
	if !limit.IsZero() && limit.Before(deadline) {
		deadline = limit
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return deadline, func() {
		stop()
		_ = conn.SetDeadline(time.Time{})
	}
}

// ioErr classifies an I/O or protocol error of operation op.
func ioErr(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w (%w)", op, ctx.Err(), ErrTimeout)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
			// The connection deadline is ctx's: it may fire just before ctx.
			return fmt.Errorf("%s: %w (%w)", op, context.DeadlineExceeded, ErrTimeout)
		}
		return fmt.Errorf("%s: %w: %w", op, ErrTimeout, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// fail marks the session broken with err and returns it.
func (s *Session) fail(err error) error {
	if s.broken == nil {
		s.broken = err
	}
	return err
}

func (s *Session) usable() error {
	if s.broken != nil {
		return fmt.Errorf("%w: %w", ErrBroken, s.broken)
	}
	return nil
}

// Handshake opens a session on conn: it sends HostHello with a fresh session
// id and waits for the matching Hello, resending with a new id every hello
// interval (the agent may not have been listening yet, e.g. right after a
// restore). Frames answering earlier hellos are skipped. A Hello of another
// protocol version is refused with an error wrapping proto.ErrVersion.
func Handshake(ctx context.Context, conn net.Conn, opt ...Option) (*Session, proto.Hello, error) {
	o := options{
		helloInterval:    DefaultHelloInterval,
		handshakeTimeout: DefaultHandshakeTimeout,
		callTimeout:      DefaultCallTimeout,
		runGrace:         DefaultRunGrace,
		maxRunBytes:      DefaultMaxRunBytes,
		maxKeptBytes:     DefaultMaxKeptBytes,
		log:              slog.Default(),
	}
	for _, f := range opt {
		f(&o)
	}
	s := &Session{conn: conn, r: proto.NewReader(conn), w: proto.NewWriter(conn), opts: o}
	deadline, stop := guard(ctx, conn, o.handshakeTimeout, time.Time{})
	defer stop()
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return nil, proto.Hello{}, ioErr(ctx, "handshake", ctx.Err())
		}
		s.id = newID()
		if err := s.w.Send(proto.TypeHostHello, proto.HostHello{Version: proto.Version, Session: s.id}); err != nil {
			return nil, proto.Hello{}, ioErr(ctx, "send host-hello", err)
		}
		end := time.Now().Add(o.helloInterval)
		if end.After(deadline) {
			end = deadline
		}
		_ = conn.SetReadDeadline(end)
		h, err := s.awaitHello(ctx)
		if err == nil {
			_ = conn.SetReadDeadline(deadline)
			o.log.Debug("agent hello", "session", s.id, "attempt", attempt, "agent", h.AgentVersion, "runs", h.Runs)
			return s, h, nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil || !time.Now().Before(deadline) {
			return nil, proto.Hello{}, ioErr(ctx, "await hello", err)
		}
		_ = conn.SetReadDeadline(deadline)
		o.log.Debug("no hello yet, resending", "attempt", attempt)
	}
}

func (s *Session) awaitHello(ctx context.Context) (proto.Hello, error) {
	for {
		f, err := s.r.ReadFrame()
		if err != nil {
			return proto.Hello{}, err
		}
		switch f.Type {
		case proto.TypeHello:
			var h proto.Hello
			if err := f.Decode(&h); err != nil {
				return h, err
			}
			if h.Session != s.id {
				s.opts.log.Debug("skipping stale hello", "session", h.Session)
				continue
			}
			if h.Version != proto.Version {
				return h, fmt.Errorf("%w: agent speaks version %d, host %d", proto.ErrVersion, h.Version, proto.Version)
			}
			return boundHello(h), nil
		case proto.TypeError:
			return proto.Hello{}, f.RemoteError()
		default:
			s.opts.log.Debug("skipping stale frame before hello", "type", f.Type)
		}
	}
}

// expectAck reads the Ack for t.
func (s *Session) expectAck(ctx context.Context, t proto.Type) (proto.Ack, error) {
	var ack proto.Ack
	if err := s.r.Expect(proto.TypeAck, &ack); err != nil {
		return ack, s.fail(ioErr(ctx, "await ack for "+t.String(), err))
	}
	if ack.For != t {
		return ack, s.fail(fmt.Errorf("%w: ack for %s, want %s", proto.ErrProtocol, ack.For, t))
	}
	return ack, nil
}

// SetTime sets the guest's wall clock to t. The agent may decline (host test
// mode), which is logged, not an error.
func (s *Session) SetTime(ctx context.Context, t time.Time) error {
	if err := s.usable(); err != nil {
		return err
	}
	_, stop := guard(ctx, s.conn, s.opts.callTimeout, time.Time{})
	defer stop()
	if err := s.w.Send(proto.TypeSetTime, proto.SetTime{UnixNano: t.UnixNano()}); err != nil {
		return s.fail(ioErr(ctx, "send set-time", err))
	}
	ack, err := s.expectAck(ctx, proto.TypeSetTime)
	if err == nil && ack.Note != "" {
		s.opts.log.Info("guest clock", "note", ack.Note)
	}
	return err
}

// Bye ends the session (the agent expects no more frames on it). It does
// not close the connection.
func (s *Session) Bye() error {
	if err := s.usable(); err != nil {
		return err
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	defer s.conn.SetWriteDeadline(time.Time{})
	if err := s.w.WriteFrame(proto.TypeBye, nil); err != nil {
		return s.fail(ioErr(context.Background(), "send bye", err))
	}
	return nil
}

// Bounds on the text of a Hello (it ends up in reports and slot records).
const (
	maxHelloText = 256
	maxNetText   = 64
	maxNetAddrs  = 16
)

// boundHello cuts and cleans the agent's self-description.
func boundHello(h proto.Hello) proto.Hello {
	h.AgentVersion = safetext.Clean(h.AgentVersion, maxHelloText)
	h.Kernel = safetext.Clean(h.Kernel, maxHelloText)
	h.BootID = safetext.Clean(h.BootID, maxHelloText)
	if len(h.Net) > proto.MaxNetInterfaces {
		h.Net = h.Net[:proto.MaxNetInterfaces]
	}
	for i := range h.Net {
		n := &h.Net[i]
		n.Name, n.MAC = safetext.Clean(n.Name, maxNetText), safetext.Clean(n.MAC, maxNetText)
		if len(n.Addrs) > maxNetAddrs {
			n.Addrs = n.Addrs[:maxNetAddrs]
		}
		for j, a := range n.Addrs {
			n.Addrs[j] = safetext.Clean(a, maxNetText)
		}
	}
	return h
}
