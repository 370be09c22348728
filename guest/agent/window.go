package agent

import (
	"encoding/json"
	"fmt"

	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// windowPartLimit leaves headroom under the reader's frame limit.
const windowPartLimit = proto.DefaultMaxPayload - 64<<10

// EncodeWindow encodes w as one or more WindowPart JSON payloads, each at
// most limit bytes: events are split across parts in order, and the last
// part (Last set) carries Counts and Dropped.
func EncodeWindow(w trace.Window, limit int) ([][]byte, error) {
	whole, err := json.Marshal(proto.WindowPart{Window: w, Last: true})
	if err != nil {
		return nil, err
	}
	if len(whole) <= limit {
		return [][]byte{whole}, nil
	}
	last := proto.WindowPart{Window: trace.Window{Index: w.Index, Start: w.Start, End: w.End, Counts: w.Counts, Dropped: w.Dropped}, Last: true}
	skel, err := json.Marshal(last)
	if err != nil {
		return nil, err
	}
	budget := limit - len(skel) - 32 // "events":[...] and commas
	var parts [][]byte
	var cur []trace.Event
	size := 0
	flush := func(final bool) error {
		p := proto.WindowPart{Window: trace.Window{Index: w.Index, Start: w.Start, End: w.End, Events: cur}}
		if final {
			p = last
			p.Events = cur
		}
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		parts = append(parts, b)
		cur, size = nil, 0
		return nil
	}
	for _, ev := range w.Events {
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		n := len(b) + 1
		if n > budget {
			return nil, fmt.Errorf("%w: event of %d bytes", proto.ErrTooLarge, n)
		}
		if size+n > budget {
			if err := flush(false); err != nil {
				return nil, err
			}
		}
		cur = append(cur, ev)
		size += n
	}
	if err := flush(true); err != nil {
		return nil, err
	}
	return parts, nil
}
