package agentclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	// Everything from the guest is bounded where it is decoded (a sample
	// runs as root and can write on the agent's port itself): kept calls
	// across parts and windows against req.MaxEvents and the kept-bytes
	// budget, strings and lists to the tracer's bounds, distinct names.
	bd := trace.NewBounder(trace.Limits{
		MaxEvents:    req.MaxEvents,
		MaxKeptBytes: s.opts.maxKeptBytes,
		MaxOffered:   OverBudgetFactor*req.MaxEvents + OverBudgetSlack,
	})
	maxParts := OverBudgetFactor*req.MaxEvents + OverBudgetSlack + req.MaxWindows + 1
	var (
		next    int           // index of the next window
		cur     *trace.Window // window being reassembled
		prevEnd int64
		total   int64
		parts   int
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
			if parts++; parts > maxParts {
				return trace.Summary{}, s.fail(fmt.Errorf("%w: %w: more than %d window parts", ErrGuest, ErrOverBudget, maxParts))
			}
			p, last, err := decodePart(bd, f.Payload)
			if err != nil {
				if errors.Is(err, trace.ErrOverBudget) {
					return trace.Summary{}, s.fail(fmt.Errorf("%w: window %d: %w", ErrGuest, p.Index, err))
				}
				return trace.Summary{}, s.fail(fmt.Errorf("%w: decode window: %w", proto.ErrProtocol, err))
			}
			if cur == nil {
				switch {
				case p.Index != next:
					return trace.Summary{}, s.fail(fmt.Errorf("%w: window %d, want %d", ErrGuest, p.Index, next))
				case next > req.MaxWindows:
					return trace.Summary{}, s.fail(fmt.Errorf("%w: more than %d windows", ErrGuest, req.MaxWindows+1))
				}
				cur = &p
			} else {
				if p.Index != cur.Index {
					return trace.Summary{}, s.fail(fmt.Errorf("%w: part of window %d inside window %d", ErrGuest, p.Index, cur.Index))
				}
				mergePart(cur, &p)
			}
			if !last {
				continue
			}
			cur.Start, cur.End = p.Start, p.End
			if cur.End < cur.Start || cur.Start < prevEnd {
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
			bd.Summary(&fin.Summary)
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

// decodePart decodes one WindowPart payload through the run's Bounder.
func decodePart(bd *trace.Bounder, payload []byte) (trace.Window, bool, error) {
	var last bool
	dec := json.NewDecoder(bytes.NewReader(payload))
	w, err := bd.DecodeWindow(dec, func(key string, dec *json.Decoder) error {
		if key == "last" {
			return dec.Decode(&last)
		}
		var skip json.RawMessage
		return dec.Decode(&skip)
	})
	if err == nil {
		err = trace.ExpectEnd(dec)
	}
	return w, last, err
}

// mergePart adds a later part of a window to the window being reassembled:
// its calls (already within the run's budget), counts and dropped counts.
func mergePart(cur, p *trace.Window) {
	cur.Events = append(cur.Events, p.Events...)
	cur.API = append(cur.API, p.API...)
	cur.Counts = mergeCounts(cur.Counts, p.Counts)
	cur.APICounts = mergeCounts(cur.APICounts, p.APICounts)
	cur.Dropped = satAdd(cur.Dropped, p.Dropped)
	cur.APIDropped = satAdd(cur.APIDropped, p.APIDropped)
}

func mergeCounts(dst, src map[string]int) map[string]int {
	if dst == nil {
		return src
	}
	for k, v := range src {
		dst[k] = satAdd(dst[k], v)
	}
	return dst
}

func satAdd(a, b int) int {
	if s := a + b; s >= a {
		return s
	}
	return int(^uint(0) >> 1)
}
