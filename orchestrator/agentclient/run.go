package agentclient

import (
	"context"
	"fmt"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// Run starts the pushed sample and calls onWindow with every window, whole
// and in order, then returns the guest's summary. The guest must finish
// within req.TimeoutMs plus the run grace (and ctx); it may send at most
// req.MaxWindows+1 windows and at most the run byte budget. If onWindow
// fails, Run sends the agent an Error (which stops the sample) and returns
// that failure.
func (s *Session) Run(ctx context.Context, req proto.Run, onWindow func(trace.Window) error) (trace.Summary, error) {
	if err := s.usable(); err != nil {
		return trace.Summary{}, err
	}
	if err := req.Validate(); err != nil {
		return trace.Summary{}, fmt.Errorf("run: %w", err)
	}
	limit := time.Now().Add(time.Duration(req.TimeoutMs)*time.Millisecond + s.opts.runGrace)
	_, stop := guard(ctx, s.conn, time.Until(limit), limit)
	defer stop()
	if err := s.w.Send(proto.TypeRun, req); err != nil {
		return trace.Summary{}, s.fail(ioErr(ctx, "send run", err))
	}
	if _, err := s.expectAck(ctx, proto.TypeRun); err != nil {
		return trace.Summary{}, err
	}
	var (
		next    int           // index of the next window
		cur     *trace.Window // window being reassembled
		prevEnd int64
		total   int64
	)
	for {
		f, err := s.r.ReadFrame()
		if err != nil {
			return trace.Summary{}, s.fail(ioErr(ctx, fmt.Sprintf("run: read after %d windows", next), err))
		}
		total += int64(proto.HeaderSize + len(f.Payload))
		if total > s.opts.maxRunBytes {
			return trace.Summary{}, s.fail(fmt.Errorf("%w: run streamed more than %d bytes", ErrGuest, s.opts.maxRunBytes))
		}
		switch f.Type {
		case proto.TypeWindow:
			var p proto.WindowPart
			if err := f.Decode(&p); err != nil {
				return trace.Summary{}, s.fail(err)
			}
			if cur == nil {
				switch {
				case p.Index != next:
					return trace.Summary{}, s.fail(fmt.Errorf("%w: window %d, want %d", ErrGuest, p.Index, next))
				case next > req.MaxWindows:
					return trace.Summary{}, s.fail(fmt.Errorf("%w: more than %d windows", ErrGuest, req.MaxWindows+1))
				}
				w := p.Window
				cur = &w
			} else {
				if p.Index != cur.Index {
					return trace.Summary{}, s.fail(fmt.Errorf("%w: part of window %d inside window %d", ErrGuest, p.Index, cur.Index))
				}
				cur.Events = append(cur.Events, p.Events...)
			}
			if !p.Last {
				continue
			}
			cur.Counts, cur.Dropped, cur.Start, cur.End = p.Counts, p.Dropped, p.Start, p.End
			if cur.End < cur.Start || cur.Start < prevEnd || cur.Dropped < 0 {
				return trace.Summary{}, s.fail(fmt.Errorf("%w: window %d spans [%d,%d) after %d", ErrGuest, cur.Index, cur.Start, cur.End, prevEnd))
			}
			prevEnd = cur.End
			if err := onWindow(*cur); err != nil {
				// Tell the agent to stop; the stream is abandoned.
				_ = s.w.Send(proto.TypeError, proto.Error{Message: "host: " + err.Error()})
				return trace.Summary{}, s.fail(fmt.Errorf("run: window %d: %w", cur.Index, err))
			}
			cur = nil
			next++
		case proto.TypeFinal:
			if cur != nil {
				return trace.Summary{}, s.fail(fmt.Errorf("%w: final inside window %d", ErrGuest, cur.Index))
			}
			var fin proto.Final
			if err := f.Decode(&fin); err != nil {
				return trace.Summary{}, s.fail(err)
			}
			if fin.Summary.Windows != next {
				return fin.Summary, s.fail(fmt.Errorf("%w: summary counts %d windows, %d received", ErrGuest, fin.Summary.Windows, next))
			}
			return fin.Summary, nil
		case proto.TypeError:
			return trace.Summary{}, s.fail(fmt.Errorf("run: %w", f.RemoteError()))
		default:
			return trace.Summary{}, s.fail(fmt.Errorf("%w: unexpected %s during run", proto.ErrProtocol, f.Type))
		}
	}
}
