package report

import (
	"sort"
	"strings"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// Caps on what a report lists, so a hostile sample cannot make a report
// (and the orchestrator's memory) grow without bound. The full trace
// artifact keeps everything the guest kept.
const (
	MaxListed     = 500 // entries per file / exec / connection list
	MaxWindowStat = 3600
	TopCalls      = 15
)

// Builder folds trace windows into a report's behaviour summary as they
// stream in; it holds summaries, never the events themselves.
type Builder struct {
	windows []WindowStat
	opened  orderedSet
	written orderedSet
	deleted orderedSet
	execs   []Exec
	conns   map[connKey]*Connection
	order   []connKey
	calls   map[string]int
	omitted int // list entries not recorded because a cap was hit
	win     *winAPIBuilder
}

type connKey struct {
	pid  int
	addr string
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{conns: map[connKey]*Connection{}, calls: map[string]int{}, win: newWinAPIBuilder()}
}

// AddWindow folds one window in. Windows must come in order.
func (b *Builder) AddWindow(w trace.Window) {
	if len(b.windows) < MaxWindowStat {
		ws := WindowStat{Index: w.Index, StartMs: w.Start / 1e6, Total: w.Total(), Dropped: w.Dropped}
		if len(w.Counts) > 0 {
			ws.Counts = make(map[string]int, len(w.Counts))
			for k, v := range w.Counts {
				ws.Counts[k] = v
			}
		}
		ws.APITotal, ws.APIDropped = w.APITotal(), w.APIDropped
		if len(w.APICounts) > 0 {
			ws.APICounts = make(map[string]int, len(w.APICounts))
			for k, v := range w.APICounts {
				ws.APICounts[k] = v
			}
		}
		b.windows = append(b.windows, ws)
	}
	for k, v := range w.Counts {
		b.calls[k] += v
	}
	for i := range w.Events {
		b.addEvent(&w.Events[i])
	}
	b.win.addWindow(&w)
}

func (b *Builder) addEvent(e *trace.Event) {
	ok := !e.Failed()
	switch e.Name {
	case "open", "openat", "openat2", "creat":
		if !ok || e.Path == "" {
			return
		}
		b.omitted += b.opened.add(e.Path)
		if e.Name == "creat" || writeFlags(e.Flags) {
			b.omitted += b.written.add(e.Path)
		}
	case "truncate":
		if ok && e.Path != "" {
			b.omitted += b.written.add(e.Path)
		}
	case "rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat":
		if ok && e.Path2 != "" {
			b.omitted += b.written.add(e.Path2)
		}
	case "unlink", "unlinkat", "rmdir":
		if ok && e.Path != "" {
			b.omitted += b.deleted.add(e.Path)
		}
	case "execve", "execveat":
		if len(b.execs) >= MaxListed {
			b.omitted++
			return
		}
		b.execs = append(b.execs, Exec{PID: e.PID, Path: e.Path, Argv: e.Argv, OK: ok})
	case "connect":
		if e.Addr == "" {
			return
		}
		k := connKey{e.PID, e.Addr}
		c := b.conns[k]
		if c == nil {
			if len(b.order) >= MaxListed {
				b.omitted++
				return
			}
			c = &Connection{PID: e.PID, Addr: e.Addr}
			b.conns[k] = c
			b.order = append(b.order, k)
		}
		c.Attempts++
		if ok || e.Err == "EINPROGRESS" {
			c.OK++
		} else {
			c.Error = e.Err
		}
	}
}

func writeFlags(flags string) bool {
	for _, f := range []string{"O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"} {
		if strings.Contains(flags, f) {
			return true
		}
	}
	return false
}

// Behavior returns the behaviour summary for the run that ended with sum.
func (b *Builder) Behavior(sum trace.Summary) Behavior {
	beh := Behavior{
		Processes:    Tree(sum.Processes),
		FilesOpened:  b.opened.list(),
		FilesWritten: b.written.list(),
		FilesDeleted: b.deleted.list(),
		Executed:     append([]Exec{}, b.execs...),
		Connections:  []Connection{},
		TopCalls:     top(b.calls, TopCalls),
		Omitted:      b.omitted,
		WinAPI:       b.win.summary(sum),
	}
	for _, k := range b.order {
		beh.Connections = append(beh.Connections, *b.conns[k])
	}
	return beh
}

// Windows returns the per-window statistics folded so far.
func (b *Builder) Windows() []WindowStat { return append([]WindowStat{}, b.windows...) }

// OutcomeOf turns the agent's summary into the report's outcome.
func OutcomeOf(sum trace.Summary) Outcome {
	return Outcome{
		Status: sum.Outcome, ExitCode: sum.ExitCode, Signal: sum.Signal, Error: sum.Error,
		DurationNs: sum.DurationNs, Truncated: sum.Truncated, Events: sum.Events, Kept: sum.Kept,
		Output: sum.Stdout, Format: sum.Format, Runner: commandLine(sum.Runner),
		APICalls: sum.APICalls, APIKept: sum.APIKept, APITruncated: sum.APITruncated,
	}
}

// Tree arranges a process table into trees by parent pid. Processes whose
// parent is not in the table are roots, in start order.
func Tree(procs []trace.Process) []ProcessNode {
	byPID := map[int]bool{}
	for _, p := range procs {
		byPID[p.PID] = true
	}
	children := map[int][]trace.Process{}
	var roots []trace.Process
	for _, p := range procs {
		if p.PPID != 0 && p.PPID != p.PID && byPID[p.PPID] {
			children[p.PPID] = append(children[p.PPID], p)
		} else {
			roots = append(roots, p)
		}
	}
	var build func(p trace.Process, depth int) ProcessNode
	build = func(p trace.Process, depth int) ProcessNode {
		n := ProcessNode{Process: p}
		if depth > 64 { // a cycle cannot happen with real pids; stay safe anyway
			return n
		}
		kids := children[p.PID]
		sort.SliceStable(kids, func(i, j int) bool { return kids[i].Start < kids[j].Start })
		for _, c := range kids {
			n.Children = append(n.Children, build(c, depth+1))
		}
		return n
	}
	sort.SliceStable(roots, func(i, j int) bool { return roots[i].Start < roots[j].Start })
	out := []ProcessNode{}
	for _, r := range roots {
		out = append(out, build(r, 0))
	}
	return out
}

func top(m map[string]int, n int) []CallCount {
	out := make([]CallCount, 0, len(m))
	for k, v := range m {
		out = append(out, CallCount{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// orderedSet keeps first-seen order and at most MaxListed entries.
type orderedSet struct {
	seen  map[string]bool
	items []string
}

// add records s and returns 1 if it had to be left out because of the cap.
func (o *orderedSet) add(s string) int {
	if o.seen[s] {
		return 0
	}
	if len(o.items) >= MaxListed {
		return 1
	}
	if o.seen == nil {
		o.seen = map[string]bool{}
	}
	o.seen[s] = true
	o.items = append(o.items, s)
	return 0
}

func (o *orderedSet) list() []string { return append([]string{}, o.items...) }

// commandLine joins argv with spaces, quoting arguments that are empty or
// hold spaces, quotes or non-printable characters.
func commandLine(args []string) string {
	if len(args) == 0 {
		return ""
	}
	a := argv(args)
	return a[1 : len(a)-1]
}
