package datasets

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// TraceSplit says how a trace of the project's own guest agent becomes
// records.
type TraceSplit int

const (
	// SplitWhole gives one record: all kept calls in time order.
	SplitWhole TraceSplit = iota
	// SplitProcess gives one record per process (thread group) in order of
	// first call; Group is "pid:exe" (exe from the process table, if known).
	SplitProcess
	// SplitWindow gives one record per trace window with at least one kept
	// call; Group is "window:N".
	SplitWindow
)

// TraceOptions tunes FromTrace.
type TraceOptions struct {
	Split  TraceSplit
	Label  string // copied to every record
	Class  string // copied to every record
	Limits Limits // MaxCalls bounds each record
}

// FromTrace turns a guest trace into records of call names (the agent's
// x86-64 names, "sys_<nr>" for unknown numbers; calls of the i386 entry,
// Event.ABI "i386", mapped to their x86-64 names by EventName). Calls are in time order
// (ties keep the recorded order); calls the agent counted but did not keep
// (Window.Dropped) are absent and added to Dropped. IDs are id, or
// "id#pid" / "id#wN" when split.
func FromTrace(t *trace.Trace, id string, opt TraceOptions) ([]SeqRecord, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrFormat, id, err)
	}
	lim := opt.Limits.withDefaults()
	rec := func(suffix, group string, evs []trace.Event, notKept int) SeqRecord {
		c := newCalls(lim)
		for i := range evs {
			c.add(EventName(&evs[i]))
		}
		return SeqRecord{ID: id + suffix, Source: SourceTrace, Label: opt.Label, Class: opt.Class,
			Calls: c.list, Group: group, Dropped: c.dropped + notKept}
	}
	notKept := 0
	for _, w := range t.Windows {
		notKept += w.Dropped
	}
	switch opt.Split {
	case SplitWhole:
		return []SeqRecord{rec("", "", t.Events(), notKept)}, nil
	case SplitWindow:
		var out []SeqRecord
		for _, w := range t.Windows {
			if len(w.Events) == 0 {
				continue
			}
			evs := append([]trace.Event(nil), w.Events...)
			sort.SliceStable(evs, func(i, j int) bool { return evs[i].T < evs[j].T })
			n := strconv.Itoa(w.Index)
			out = append(out, rec("#w"+n, "window:"+n, evs, w.Dropped))
		}
		return out, nil
	case SplitProcess:
		exe := map[int]string{}
		for _, p := range t.Summary.Processes {
			exe[p.PID] = p.Exe
		}
		byPID := map[int][]trace.Event{}
		var order []int
		for _, e := range t.Events() {
			if _, ok := byPID[e.PID]; !ok {
				order = append(order, e.PID)
			}
			byPID[e.PID] = append(byPID[e.PID], e)
		}
		out := make([]SeqRecord, 0, len(order))
		for _, pid := range order {
			p := strconv.Itoa(pid)
			out = append(out, rec("#"+p, p+":"+exe[pid], byPID[pid], 0))
		}
		return out, nil
	}
	return nil, fmt.Errorf("datasets: unknown trace split %d", opt.Split)
}
