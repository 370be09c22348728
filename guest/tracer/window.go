package tracer

import (
	"sync"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// windower cuts the run into windows of a fixed width and queues closed ones
// for the emitter. It is not safe for concurrent use by itself: the run's
// mutex guards every method except take, which has its own lock.
type windower struct {
	width      int64
	maxWindows int

	cur    trace.Window // the open window, valid while open
	open   bool
	frozen bool // the tree was killed: no new windows; the open one takes the rest
	sealed int  // windows closed so far (== index of the next window)

	qmu    sync.Mutex
	queue  []trace.Window
	done   bool
	notify chan struct{}
}

func newWindower(width int64, maxWindows int) *windower {
	w := &windower{width: width, maxWindows: maxWindows, notify: make(chan struct{}, 1)}
	w.cur = trace.Window{Index: 0, Start: 0, End: width}
	w.open = true
	return w
}

// advance closes every window that ended at or before now. It reports whether
// the window budget is now exhausted (no window is open any more).
func (w *windower) advance(now int64) (exhausted bool) {
	for w.open && !w.frozen && w.cur.End <= now {
		w.seal(w.cur)
		if w.sealed >= w.maxWindows {
			w.open = false
			return true
		}
		start := w.cur.End
		w.cur = trace.Window{Index: w.sealed, Start: start, End: start + w.width}
	}
	return !w.open
}

// freeze stops opening windows: after a kill, the calls reported while the
// tree dies go to the open window, which finish closes at its nominal end at
// the latest.
func (w *windower) freeze() { w.frozen = true }

func (w *windower) seal(win trace.Window) {
	w.sealed++
	w.qmu.Lock()
	w.queue = append(w.queue, win)
	w.qmu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// add records one call at entry time t in the window containing t, or in the
// open window when that one is closed. It returns false when no window is
// open (budget exhausted): the call is then only counted by the caller.
func (w *windower) add(ev *trace.Event, keep bool) bool {
	if !w.open {
		return false
	}
	if w.cur.Counts == nil {
		w.cur.Counts = make(map[string]int)
	}
	w.cur.Counts[ev.Name]++
	if keep {
		w.cur.Events = append(w.cur.Events, *ev)
	} else {
		w.cur.Dropped++
	}
	return true
}

// finish closes the last, partial window at now. The window is queued only if
// it holds calls or if it would be the only one, so that a run ending right
// on a window boundary does not add an empty sliver. The queue is then
// closed.
func (w *windower) finish(now int64) {
	if w.open {
		w.advance(now)
	}
	if w.open {
		w.open = false
		if len(w.cur.Counts) > 0 || w.sealed == 0 {
			end := now
			if end > w.cur.End {
				end = w.cur.End // frozen: the kill happened inside this window
			}
			if end < w.cur.Start {
				end = w.cur.Start
			}
			w.cur.End = end
			w.seal(w.cur)
		}
	}
	w.qmu.Lock()
	w.done = true
	w.qmu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// take returns the queued windows, waiting for some; ok is false once the
// queue is finished and empty.
func (w *windower) take() (wins []trace.Window, ok bool) {
	for {
		w.qmu.Lock()
		wins, w.queue = w.queue, nil
		done := w.done
		w.qmu.Unlock()
		if len(wins) > 0 {
			return wins, true
		}
		if done {
			return nil, false
		}
		<-w.notify
	}
}

// addAPI records one API call in the open window, under name (its
// Module.Func, or the overflow name). It returns the call's index in the
// window's API list when kept, -1 otherwise, and false when no window is
// open.
func (w *windower) addAPI(c *trace.APICall, name string, keep bool) (int, bool) {
	if !w.open {
		return -1, false
	}
	if w.cur.APICounts == nil {
		w.cur.APICounts = make(map[string]int)
	}
	w.cur.APICounts[name]++
	if !keep {
		w.cur.APIDropped++
		return -1, true
	}
	w.cur.API = append(w.cur.API, *c)
	return len(w.cur.API) - 1, true
}
