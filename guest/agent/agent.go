// Package agent is the guest side of the host<->guest protocol (package
// proto): it answers hellos, sets the clock, receives the sample, runs it
// under the tracer and streams the trace back.
//
// Serve handles one host connection over any io.ReadWriter (a virtio-serial
// port in the guest, net.Pipe in tests). A single goroutine reads frames for
// the whole connection, so the agent notices a host that gives up during a
// run (EOF, Bye, Error) and stops the sample. When the agent reports an error
// (a garbage frame, a wrong version, a bad sample) it sends an Error frame,
// ends the session and discards input until the host disconnects: the next
// session starts on a fresh connection.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/guest/tracer"
)

// Version is reported in Hello.AgentVersion.
const Version = "0.1.0"

// Limits enforced on host requests.
const (
	MaxSampleSize = 256 << 20
	MaxRunArgs    = 256
	MaxArgBytes   = 64 << 10
	MaxEvents     = 5_000_000
	MaxWindows    = 1_000_000
	// MaxSummaryProcesses bounds the process table of a run's summary, so
	// that it fits one frame (about 150 bytes a process).
	MaxSummaryProcesses = 4096
)

// Error kinds returned by Serve.
var (
	ErrSession = errors.New("session aborted") // the agent sent an Error frame
	ErrHost    = errors.New("host reported an error")
)

// RunFunc runs a traced program; tracer.Run by default.
type RunFunc func(ctx context.Context, cfg tracer.Config, emit func(trace.Window) error) (trace.Summary, error)

// Config configures an Agent. Zero fields take the defaults noted.
type Config struct {
	WorkDir     string   // sample directory and its cwd; /tmp/smn
	Env         []string // sample environment; PATH=/bin:/sbin:/usr/bin, HOME=/root
	SetClock    bool     // apply SetTime to CLOCK_REALTIME; off in host test mode
	OutputLimit int      // bytes of sample output kept; tracer default when 0
	MaxSample   int64    // largest sample accepted; MaxSampleSize
	Logger      *slog.Logger
	Run         RunFunc
	// Interfaces lists the network interfaces reported in Hello.Net; nil
	// reports none (host test mode). NetInterfaces in the guest.
	Interfaces func() []proto.NetInterface
	// Root is the guest's root directory as samples see it ("/"; a
	// directory in tests): where interpreters and Wine are looked for.
	Root string
	// Wine is where Wine lives in the guest image; DefaultWine when zero.
	Wine Wine
	// APILines parses Wine's relay channel (relay.Parse in the guest); nil
	// runs Windows programs without recording their API calls.
	APILines func(line []byte) (tracer.APILine, bool)
}

// Agent serves host sessions. Its run counter lives as long as the process,
// i.e. since boot when it is the guest's init.
type Agent struct {
	cfg  Config
	log  *slog.Logger
	runs atomic.Int64
	// session is the host's session id, kept across connections: right
	// after a restore the port can report the end of the connection the
	// clean state was saved with while the new host's hello is already
	// answered, and the host's next frame (set-time) then arrives on the
	// next connection. A host-hello starts a session, a bye or an error
	// ends it. Serve calls are sequential (one port).
	session string
}

// New returns an Agent with cfg's defaults filled in.
func New(cfg Config) *Agent {
	if cfg.WorkDir == "" {
		cfg.WorkDir = "/tmp/smn"
	}
	if cfg.Env == nil {
		cfg.Env = []string{"PATH=/bin:/sbin:/usr/bin", "HOME=/root"}
	}
	if cfg.MaxSample <= 0 || cfg.MaxSample > MaxSampleSize {
		cfg.MaxSample = MaxSampleSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Run == nil {
		cfg.Run = tracer.Run
	}
	if cfg.Root == "" {
		cfg.Root = "/"
	}
	if cfg.Wine == (Wine{}) {
		cfg.Wine = DefaultWine
	}
	return &Agent{cfg: cfg, log: cfg.Logger}
}

// Runs is the number of samples started since the agent started (boot).
func (a *Agent) Runs() int { return int(a.runs.Load()) }

type item struct {
	f   proto.Frame
	err error
}

// Serve serves one host connection until it ends. It returns io.EOF when the
// connection ended before any byte arrived (no host connected: on a
// virtio-serial port the caller should wait and retry), nil when it ended
// after one or more sessions, and an error wrapping ErrSession, a proto
// error or ctx.Err() otherwise. After an error it returns only once the
// input has ended (or ctx is done).
func (a *Agent) Serve(ctx context.Context, rw io.ReadWriter) error {
	frames := make(chan item)
	var discard atomic.Bool
	var gotBytes atomic.Bool
	cr := &countReader{r: rw, seen: &gotBytes}
	go func() {
		defer close(frames)
		r := proto.NewReader(cr)
		for {
			f, err := r.ReadFrame()
			if discard.Load() {
				if err != nil {
					_, _ = io.Copy(io.Discard, cr)
					return
				}
				continue
			}
			select {
			case frames <- item{f, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				if errors.Is(err, proto.ErrProtocol) {
					// Resynchronise at the next connection: drop the rest.
					_, _ = io.Copy(io.Discard, cr)
				}
				return
			}
		}
	}()

	s := &session{a: a, w: proto.NewWriter(rw), frames: frames, id: a.session}
	err := s.loop(ctx)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		// Drop everything until the host disconnects.
		discard.Store(true)
	drain:
		for {
			select {
			case _, ok := <-frames:
				if !ok {
					break drain
				}
			case <-ctx.Done():
				break drain
			}
		}
	}
	if errors.Is(err, io.EOF) {
		if !gotBytes.Load() {
			return io.EOF
		}
		return nil
	}
	return err
}

// countReader notes whether any byte was read.
type countReader struct {
	r    io.Reader
	seen *atomic.Bool
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.seen.Store(true)
	}
	return n, err
}

func since(t time.Time) slog.Attr { return slog.Duration("took", time.Since(t)) }

func errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSession}, args...)...)
}
