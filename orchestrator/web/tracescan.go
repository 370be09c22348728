package web

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// The trace artifact is gzip-compressed JSON lines, one window per line
// then a summary (guest/trace). The pages stream it line by line and never
// hold more than one window: a run of a million calls stays usable.

// LogPageSize is the number of calls on one log page.
const LogPageSize = 100

// maxRegistry bounds the registry table.
const maxRegistry = 500

// traceLine is one line of the artifact.
type traceLine struct {
	Window  *trace.Window  `json:"window,omitempty"`
	Summary *trace.Summary `json:"summary,omitempty"`
}

// lineReader yields the artifact's lines; skipping one does not decode it.
type lineReader struct {
	zr *gzip.Reader
	sc *bufio.Scanner
	n  int // lines read
}

func newLineReader(r io.Reader) (*lineReader, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("trace artifact: %w: %v", trace.ErrMalformed, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 256<<10), trace.MaxLineBytes)
	return &lineReader{zr: zr, sc: sc}, nil
}

// next returns the next non-empty line (valid until the next call), or
// io.EOF.
func (l *lineReader) next() ([]byte, error) {
	for l.sc.Scan() {
		l.n++
		if b := l.sc.Bytes(); len(bytes.TrimSpace(b)) > 0 {
			return b, nil
		}
	}
	if err := l.sc.Err(); err != nil {
		return nil, fmt.Errorf("trace artifact: %w: line %d: %v", trace.ErrMalformed, l.n+1, err)
	}
	return nil, io.EOF
}

func decodeLine(b []byte, n int) (traceLine, error) {
	var tl traceLine
	if err := json.Unmarshal(b, &tl); err != nil {
		return tl, fmt.Errorf("trace artifact: %w: line %d: %v", trace.ErrMalformed, n, err)
	}
	return tl, nil
}

// traceView is what the report page draws from the trace: per-window
// counts in total and per process, and the registry keys Windows API
// calls touched.
type traceView struct {
	Windows    []winCount
	Sys, API   map[int][]int // pid -> kept calls per window
	SysKept    int
	APIKept    int
	APITotal   int
	CallNames  []string // system call names seen, most frequent first
	APINames   []string // API names (Module.Func), most frequent first
	Registry   []regRow
	RegOmitted int
	Summary    *trace.Summary

	// Per window, the kept calls by kind, process and name, and the
	// window's line in the artifact: a log page's start is found from
	// them without decoding the windows before it. Nil when the run had
	// too many distinct (process, call) pairs (maxPairs).
	pairs []map[pairKey]int32
	lines []int
}

type pairKey struct {
	api  bool
	pid  int
	name string
}

// maxPairs bounds the (window, kind, process, call) counters kept per trace.
const maxPairs = 2_000_000

type winCount struct {
	Start, End int64
	Total      int // system calls counted (kept or dropped)
	API        int // API calls counted
}

type regRow struct {
	PID   int
	Call  string
	Key   string
	Count int
}

// isRegistryCall reports whether an API call names a registry key in its
// first string argument.
func isRegistryCall(c *trace.APICall) bool {
	f := c.Func
	return strings.HasPrefix(f, "Reg") || strings.HasPrefix(f, "NtOpenKey") || strings.HasPrefix(f, "NtCreateKey") ||
		strings.HasPrefix(f, "NtQueryValueKey") || strings.HasPrefix(f, "NtSetValueKey") || strings.HasPrefix(f, "NtDeleteKey") ||
		strings.HasPrefix(f, "NtDeleteValueKey") || strings.HasPrefix(f, "NtEnumerateKey")
}

// scanView reads a whole artifact into a traceView.
func scanView(r io.Reader) (*traceView, error) {
	lr, err := newLineReader(r)
	if err != nil {
		return nil, err
	}
	v := &traceView{Sys: map[int][]int{}, API: map[int][]int{}}
	npairs := 0
	sysN, apiN := map[string]int{}, map[string]int{}
	reg := map[regRow]int{}
	var regOrder []regRow
	bump := func(m map[int][]int, pid, w int) {
		s := m[pid]
		for len(s) <= w {
			s = append(s, 0)
		}
		s[w]++
		m[pid] = s
	}
	for {
		b, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		tl, err := decodeLine(b, lr.n)
		if err != nil {
			return nil, err
		}
		switch {
		case tl.Window != nil:
			w := tl.Window
			i := len(v.Windows)
			v.Windows = append(v.Windows, winCount{Start: w.Start, End: w.End, Total: w.Total(), API: w.APITotal()})
			v.APITotal += w.APITotal()
			var pm map[pairKey]int32
			if npairs <= maxPairs {
				pm = map[pairKey]int32{}
				for k := range w.Events {
					pm[pairKey{false, w.Events[k].PID, w.Events[k].Name}]++
				}
				for k := range w.API {
					pm[pairKey{true, w.API[k].PID, w.API[k].Name()}]++
				}
				npairs += len(pm)
			}
			v.pairs = append(v.pairs, pm)
			v.lines = append(v.lines, lr.n-1)
			for name, n := range w.Counts {
				sysN[name] += n
			}
			for name, n := range w.APICounts {
				apiN[name] += n
			}
			for k := range w.Events {
				bump(v.Sys, w.Events[k].PID, i)
				v.SysKept++
			}
			for k := range w.API {
				c := &w.API[k]
				bump(v.API, c.PID, i)
				v.APIKept++
				if isRegistryCall(c) && c.Path != "" {
					key := regRow{PID: c.PID, Call: c.Name(), Key: c.Path}
					if _, ok := reg[key]; !ok {
						if len(regOrder) >= maxRegistry {
							v.RegOmitted++
							continue
						}
						regOrder = append(regOrder, key)
					}
					reg[key]++
				}
			}
		case tl.Summary != nil:
			v.Summary = tl.Summary
		}
	}
	// Pad per-process series to the window count.
	for _, m := range []map[int][]int{v.Sys, v.API} {
		for pid, s := range m {
			for len(s) < len(v.Windows) {
				s = append(s, 0)
			}
			m[pid] = s
		}
	}
	if npairs > maxPairs {
		v.pairs, v.lines = nil, nil
	}
	v.CallNames, v.APINames = byCount(sysN), byCount(apiN)
	for _, k := range regOrder {
		k.Count = reg[k]
		v.Registry = append(v.Registry, k)
	}
	return v, nil
}

func byCount(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if m[out[i]] != m[out[j]] {
			return m[out[i]] > m[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

// logFilter selects the calls of the log view.
type logFilter struct {
	Kind string // "syscall" or "api"
	PID  int    // 0: every process
	Call string // case-insensitive substring of the call name; "" for all
}

func (f logFilter) key(job string) string {
	return job + "\x00" + f.Kind + "\x00" + strconv.Itoa(f.PID) + "\x00" + strings.ToLower(f.Call)
}

// logRow is one call on a log page, system call or API call.
type logRow struct {
	T    int64
	PID  int
	TID  int
	Name string
	Args string
	Ret  string
	Err  string
	Fail bool
}

// pagePos is where a log page starts: the artifact line of its first
// call's window and the index of that call among the window's matches.
type pagePos struct{ line, item int }

// rowsOf returns the calls of a window that match f, in time order.
func rowsOf(w *trace.Window, f logFilter) []logRow {
	call := strings.ToLower(f.Call)
	var out []logRow
	if f.Kind == "api" {
		for i := range w.API {
			c := &w.API[i]
			if (f.PID != 0 && c.PID != f.PID) || (call != "" && !strings.Contains(strings.ToLower(c.Name()), call)) {
				continue
			}
			args := strings.Join(c.Args, ", ")
			out = append(out, logRow{T: c.T, PID: c.PID, TID: c.TID, Name: c.Name(), Args: args, Ret: c.Ret})
		}
	} else {
		for i := range w.Events {
			e := &w.Events[i]
			if (f.PID != 0 && e.PID != f.PID) || (call != "" && !strings.Contains(strings.ToLower(e.Name), call)) {
				continue
			}
			out = append(out, logRow{T: e.T, PID: e.PID, TID: e.TID, Name: e.Name, Args: eventArgs(e),
				Ret: strconv.FormatInt(e.Ret, 10), Err: e.Err, Fail: e.Failed()})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out
}

// eventArgs is the decoded arguments of a system call, as text.
func eventArgs(e *trace.Event) string {
	var parts []string
	if e.FD != nil {
		parts = append(parts, "fd="+strconv.Itoa(*e.FD))
	}
	if e.Path != "" {
		parts = append(parts, strconv.Quote(e.Path))
	}
	if e.Path2 != "" {
		parts = append(parts, strconv.Quote(e.Path2))
	}
	if e.Flags != "" {
		parts = append(parts, e.Flags)
	}
	if len(e.Argv) > 0 {
		q := make([]string, len(e.Argv))
		for i, a := range e.Argv {
			q[i] = strconv.Quote(a)
		}
		parts = append(parts, "["+strings.Join(q, ", ")+"]")
	}
	if e.Addr != "" {
		parts = append(parts, e.Addr)
	}
	if e.Size != 0 {
		parts = append(parts, "size="+strconv.FormatInt(e.Size, 10))
	}
	if e.Child != 0 {
		parts = append(parts, "child="+strconv.Itoa(e.Child))
	}
	if e.ABI != "" {
		parts = append(parts, "abi="+e.ABI)
	}
	return strings.Join(parts, " ")
}

// pageStart finds where page (0-based) of filter f starts, from the
// per-window counters; ok is false without them or past the end.
func (v *traceView) pageStart(f logFilter, page int) (pagePos, bool) {
	if v == nil || v.pairs == nil {
		return pagePos{}, false
	}
	target := page * LogPageSize
	call := strings.ToLower(f.Call)
	cum := 0
	for i, pm := range v.pairs {
		m := 0
		for k, n := range pm {
			if k.api == (f.Kind == "api") && (f.PID == 0 || k.pid == f.PID) && (call == "" || strings.Contains(strings.ToLower(k.name), call)) {
				m += int(n)
			}
		}
		if cum+m > target {
			return pagePos{line: v.lines[i], item: target - cum}, true
		}
		cum += m
	}
	return pagePos{}, false
}

// logPage reads page (0-based) of the calls matching f. starts are the
// known page starts of this filter (starts[0] is the beginning); the scan
// resumes from the nearest one at or before page, skipping earlier lines
// without decoding them, and returns the starts it learnt. more says
// whether a further page exists.
func logPage(r io.Reader, f logFilter, page int, starts []pagePos) (rows []logRow, more bool, learnt []pagePos, err error) {
	if len(starts) == 0 {
		starts = []pagePos{{}}
	}
	known := min(page, len(starts)-1)
	learnt = append([]pagePos(nil), starts...)
	return logPageAt(r, f, page, known, starts[known], learnt)
}

// logPageAt reads page from the start of page known at from, appending
// the page starts it passes to learnt.
func logPageAt(r io.Reader, f logFilter, page, known int, from pagePos, learnt []pagePos) (rows []logRow, more bool, _ []pagePos, err error) {
	lr, err := newLineReader(r)
	if err != nil {
		return nil, false, nil, err
	}
	cur, n := known, 0
	for {
		b, err := lr.next()
		if err == io.EOF {
			return rows, false, learnt, nil
		}
		if err != nil {
			return nil, false, nil, err
		}
		line := lr.n - 1
		if line < from.line {
			continue
		}
		tl, err := decodeLine(b, lr.n)
		if err != nil {
			return nil, false, nil, err
		}
		if tl.Window == nil {
			continue
		}
		ms := rowsOf(tl.Window, f)
		i := 0
		if line == from.line {
			i = from.item
		}
		for ; i < len(ms); i++ {
			if n == LogPageSize {
				cur++
				n = 0
				if cur == len(learnt) {
					learnt = append(learnt, pagePos{line, i})
				}
			}
			if cur > page {
				return rows, true, learnt, nil
			}
			if cur == page {
				rows = append(rows, ms[i])
			}
			n++
		}
	}
}

// traceCache keeps, per job, the trace view and the page starts of recent
// log filters, bounded (trace artifacts of a job never change).
type traceCache struct {
	mu     sync.Mutex
	max    int
	views  map[string]*traceView
	vorder []string
	starts map[string][]pagePos
	sorder []string
}

func newTraceCache(max int) *traceCache {
	return &traceCache{max: max, views: map[string]*traceView{}, starts: map[string][]pagePos{}}
}

func (c *traceCache) view(job string) *traceView {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.views[job]
}

func (c *traceCache) putView(job string, v *traceView) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.views[job]; !ok {
		c.vorder = append(c.vorder, job)
		if len(c.vorder) > c.max {
			delete(c.views, c.vorder[0])
			c.vorder = c.vorder[1:]
		}
	}
	c.views[job] = v
}

func (c *traceCache) pageStarts(key string) []pagePos {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.starts[key]
}

func (c *traceCache) putStarts(key string, s []pagePos) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.starts[key]; !ok {
		c.sorder = append(c.sorder, key)
		if len(c.sorder) > 8*c.max {
			delete(c.starts, c.sorder[0])
			c.sorder = c.sorder[1:]
		}
	}
	if len(s) > len(c.starts[key]) {
		c.starts[key] = s
	}
}
