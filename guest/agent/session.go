package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/guest/tracer"
)

// session is the state of one connection's sessions (a HostHello starts a
// new one).
type session struct {
	a      *Agent
	w      *proto.Writer
	frames chan item

	id      string // current session id; "" before the first HostHello
	sample  *upload
	ready   bool // sample received and verified
	ran     bool
	pending *item // frame received during a run, handled after it
}

// upload is a sample being received.
type upload struct {
	f     *os.File
	path  string
	size  int64
	got   int64
	want  string
	h     hash.Hash
	name  string
	began time.Time
}

func (s *session) next(ctx context.Context) (item, bool) {
	if s.pending != nil {
		it := *s.pending
		s.pending = nil
		return it, true
	}
	select {
	case it, ok := <-s.frames:
		return it, ok
	case <-ctx.Done():
		return item{err: ctx.Err()}, true
	}
}

// loop handles frames until the input ends or an error ends the session.
func (s *session) loop(ctx context.Context) error {
	defer s.dropUpload()
	for {
		it, ok := s.next(ctx)
		if !ok {
			return io.EOF
		}
		if it.err != nil {
			if errors.Is(it.err, io.EOF) || errors.Is(it.err, io.ErrUnexpectedEOF) || ctx.Err() != nil {
				return it.err
			}
			return s.fail(it.err)
		}
		if err := s.handle(ctx, it.f); err != nil {
			return err
		}
	}
}

// fail reports err to the host in an Error frame and ends the session.
func (s *session) fail(err error) error {
	s.a.log.Warn("session error", "session", s.id, "err", err)
	s.a.session = "" // the host starts again with a hello
	if werr := s.w.Send(proto.TypeError, proto.Error{Message: err.Error()}); werr != nil {
		return errors.Join(err, werr)
	}
	if !errors.Is(err, ErrSession) && !errors.Is(err, proto.ErrProtocol) {
		err = fmt.Errorf("%w: %w", ErrSession, err)
	}
	return err
}

func (s *session) ack(t proto.Type, note string) error {
	return s.w.Send(proto.TypeAck, proto.Ack{For: t, Note: note})
}

func (s *session) handle(ctx context.Context, f proto.Frame) error {
	if f.Type != proto.TypeHostHello && s.id == "" && f.Type != proto.TypeBye {
		return s.fail(fmt.Errorf("%w: %s before host-hello", proto.ErrProtocol, f.Type))
	}
	switch f.Type {
	case proto.TypeHostHello:
		var hh proto.HostHello
		if err := f.Decode(&hh); err != nil {
			return s.fail(err)
		}
		if hh.Version != proto.Version {
			return s.fail(fmt.Errorf("%w: host speaks version %d, agent %d", proto.ErrVersion, hh.Version, proto.Version))
		}
		s.dropUpload()
		s.id, s.ready, s.ran = hh.Session, false, false
		s.a.session = hh.Session
		s.a.log.Info("session", "session", s.id)
		return s.w.Send(proto.TypeHello, s.a.hello(hh.Session))
	case proto.TypeSetTime:
		var st proto.SetTime
		if err := f.Decode(&st); err != nil {
			return s.fail(err)
		}
		return s.ack(proto.TypeSetTime, s.a.setTime(st.UnixNano))
	case proto.TypeSampleBegin:
		return s.sampleBegin(f)
	case proto.TypeSampleChunk:
		return s.sampleChunk(f.Payload)
	case proto.TypeSampleEnd:
		return s.sampleEnd()
	case proto.TypeRun:
		return s.run(ctx, f)
	case proto.TypeBye:
		s.a.log.Info("bye", "session", s.id)
		s.dropUpload()
		s.id, s.ready = "", false
		s.a.session = ""
		return nil
	case proto.TypeError:
		err := fmt.Errorf("%w: %w", ErrHost, f.RemoteError())
		s.a.log.Warn("host error", "session", s.id, "err", err)
		return err
	default:
		return s.fail(fmt.Errorf("%w: unexpected %s from host", proto.ErrProtocol, f.Type))
	}
}

func (s *session) dropUpload() {
	if s.sample != nil && s.sample.f != nil {
		s.sample.f.Close()
		s.sample.f = nil
	}
}

func (a *Agent) samplePath() string { return filepath.Join(a.cfg.WorkDir, "sample") }

func (s *session) sampleBegin(f proto.Frame) error {
	var sb proto.SampleBegin
	if err := f.Decode(&sb); err != nil {
		return s.fail(err)
	}
	if sb.Size <= 0 || sb.Size > s.a.cfg.MaxSample {
		return s.fail(errorf("sample size %d out of range (0, %d]", sb.Size, s.a.cfg.MaxSample))
	}
	if b, err := hex.DecodeString(sb.SHA256); err != nil || len(b) != sha256.Size {
		return s.fail(errorf("bad sha256 %q", sb.SHA256))
	}
	if s.ran {
		return s.fail(errorf("sample after run: one run per session"))
	}
	s.dropUpload()
	s.ready = false
	path := s.a.samplePath()
	if err := os.MkdirAll(s.a.cfg.WorkDir, 0o755); err != nil {
		return s.fail(errorf("work dir: %v", err))
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return s.fail(errorf("remove old sample: %v", err))
	}
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return s.fail(errorf("create sample: %v", err))
	}
	s.sample = &upload{f: file, path: path, size: sb.Size, want: sb.SHA256, h: sha256.New(), name: sb.Name, began: time.Now()}
	return nil
}

func (s *session) sampleChunk(p []byte) error {
	u := s.sample
	if u == nil || u.f == nil {
		return s.fail(fmt.Errorf("%w: sample-chunk without sample-begin", proto.ErrProtocol))
	}
	if u.got+int64(len(p)) > u.size {
		return s.fail(errorf("sample exceeds its declared %d bytes", u.size))
	}
	if _, err := u.f.Write(p); err != nil {
		return s.fail(errorf("write sample: %v", err))
	}
	u.h.Write(p)
	u.got += int64(len(p))
	return nil
}

func (s *session) sampleEnd() error {
	u := s.sample
	if u == nil || u.f == nil {
		return s.fail(fmt.Errorf("%w: sample-end without sample-begin", proto.ErrProtocol))
	}
	err := u.f.Close()
	u.f = nil
	if err != nil {
		return s.fail(errorf("close sample: %v", err))
	}
	if u.got != u.size {
		return s.fail(errorf("sample has %d bytes, %d declared", u.got, u.size))
	}
	if got := hex.EncodeToString(u.h.Sum(nil)); got != u.want {
		return s.fail(errorf("sample sha256 %s, %s declared", got, u.want))
	}
	if err := os.Chmod(u.path, 0o755); err != nil {
		return s.fail(errorf("chmod sample: %v", err))
	}
	s.ready = true
	s.a.log.Info("sample received", "session", s.id, "name", u.name, "bytes", u.size, since(u.began))
	return s.ack(proto.TypeSampleEnd, "")
}

func validateRun(r proto.Run) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if r.MaxEvents > MaxEvents || r.MaxWindows > MaxWindows {
		return errorf("budget above the agent's limits (%d events, %d windows)", MaxEvents, MaxWindows)
	}
	n := 0
	for _, a := range r.Args {
		n += len(a)
	}
	if len(r.Args) > MaxRunArgs || n > MaxArgBytes {
		return errorf("too many or too long arguments")
	}
	return nil
}

func (s *session) run(ctx context.Context, f proto.Frame) error {
	var req proto.Run
	if err := f.Decode(&req); err != nil {
		return s.fail(err)
	}
	switch {
	case !s.ready:
		return s.fail(errorf("run without a verified sample"))
	case s.ran:
		return s.fail(errorf("one run per session"))
	}
	if err := validateRun(req); err != nil {
		return s.fail(err)
	}
	if err := s.ack(proto.TypeRun, ""); err != nil {
		return err
	}
	s.ran = true
	s.a.runs.Add(1)
	path := s.a.samplePath()
	name := ""
	if s.sample != nil {
		name = s.sample.name
	}
	launch, err := Classify(s.a.cfg.Root, path, name, req.Export, s.a.cfg.Wine)
	if err != nil {
		// Not started: the report says why, never a bare ENOENT.
		s.a.log.Info("sample refused", "session", s.id, "err", err)
		return s.w.Send(proto.TypeFinal, proto.Final{Summary: trace.Summary{
			Outcome: trace.OutcomeError, Error: err.Error(), Format: launch.Format,
		}})
	}
	cfg := tracer.Config{
		Path:        launch.Path,
		Args:        append(launch.Args, req.Args...),
		Env:         append(append([]string(nil), s.a.cfg.Env...), launch.Env...),
		Dir:         s.a.cfg.WorkDir,
		Timeout:     time.Duration(req.TimeoutMs) * time.Millisecond,
		Window:      time.Duration(req.WindowMs) * time.Millisecond,
		MaxEvents:   req.MaxEvents,
		MaxWindows:  req.MaxWindows,
		OutputLimit: s.a.cfg.OutputLimit,
	}
	if launch.Wine {
		cfg.APILines = s.a.cfg.APILines
	}
	emit := func(w trace.Window) error {
		parts, err := EncodeWindow(w, windowPartLimit)
		if err != nil {
			return err
		}
		for _, p := range parts {
			if err := s.w.WriteFrame(proto.TypeWindow, p); err != nil {
				return err
			}
		}
		return nil
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		sum trace.Summary
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	s.a.log.Info("run", "session", s.id, "timeout_ms", req.TimeoutMs, "window_ms", req.WindowMs)
	go func() {
		sum, err := s.a.cfg.Run(runCtx, cfg, emit)
		done <- result{sum, err}
	}()
	var res result
	frames := s.frames
wait:
	for {
		select {
		case res = <-done:
			break wait
		case it, ok := <-frames:
			// The host spoke (or left) during the run: it gave up. Stop the
			// sample; handle what it sent afterwards.
			frames = nil
			if !ok {
				it = item{err: io.EOF}
			}
			s.pending = &it
			cancel()
		}
	}
	s.a.log.Info("run done", "session", s.id, "outcome", res.sum.Outcome, "events", res.sum.Events,
		"windows", res.sum.Windows, "err", res.err, since(start))
	if s.pending != nil && s.pending.err != nil {
		return s.pending.err // the host is gone: nobody to send the summary to
	}
	if res.err != nil && res.sum.Error == "" {
		res.sum.Error = res.err.Error()
	}
	res.sum.Format, res.sum.Runner = launch.Format, launch.Runner
	if n := len(res.sum.Processes); n > MaxSummaryProcesses {
		// A fork bomb's table would not fit the final frame (1 MiB): keep
		// the earliest processes (the tracer sorts them by start).
		res.sum.Processes = res.sum.Processes[:MaxSummaryProcesses]
		res.sum.ProcessesDropped = n - MaxSummaryProcesses
	}
	if res.sum.Error == "" {
		res.sum.Error = loaderError(res.sum)
	}
	return s.w.Send(proto.TypeFinal, proto.Final{Summary: res.sum})
}

// loaderError finds why a program that could not really start exited: the
// dynamic loader's missing shared library, or Wine's refusal of a file. ""
// when the run looks like the program's own.
func loaderError(sum trace.Summary) string {
	if sum.Outcome != trace.OutcomeExited || sum.ExitCode == 0 {
		return ""
	}
	for _, line := range strings.Split(sum.Stdout, "\n") {
		switch {
		case strings.Contains(line, "error while loading shared libraries"):
			return "the dynamic loader could not start it: " + strings.TrimSpace(line)
		case strings.Contains(line, "Bad EXE format") || strings.Contains(line, "ShellExecuteEx failed") ||
			(strings.HasPrefix(line, "wine: ") && (strings.Contains(line, "could not load") || strings.Contains(line, "cannot find"))):
			return "Wine could not start it: " + strings.TrimSpace(line)
		}
	}
	return ""
}
