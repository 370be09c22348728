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
	// MaxWindowNames: call names a WindowStat lists; the rest of the
	// window's calls are counted under trace.OtherName.
	MaxWindowNames = 128
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

// The builder re-applies the tracer's bounds (trace.Bounder) to whatever it
// is given, so a report stays bounded even when its windows were not
// decoded through a Bounder: strings and argv cut, at most trace.MaxNames
// distinct call names (the rest counted under trace.OtherName).

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
		ws := WindowStat{Index: w.Index, StartMs: w.Start / 1e6, Total: w.Total(), Dropped: w.Dropped,
			Counts: windowCounts(w.Counts)}
		ws.APITotal, ws.APIDropped, ws.APICounts = w.APITotal(), w.APIDropped, windowCounts(w.APICounts)
		b.windows = append(b.windows, ws)
	}
	for k, v := range w.Counts {
		k, _ = trace.CutString(k, trace.MaxName)
		if _, ok := b.calls[k]; !ok && len(b.calls) >= trace.MaxNames {
			k = trace.OtherName
		}
		b.calls[k] += v
	}
	for i := range w.Events {
		b.addEvent(&w.Events[i])
	}
	b.win.addWindow(&w)
}

// windowCounts copies a window's counts for its WindowStat: the
// MaxWindowNames most frequent names, the rest summed under
// trace.OtherName.
func windowCounts(counts map[string]int) map[string]int {
	if len(counts) == 0 {
		return nil
	}
	out := make(map[string]int, min(len(counts), MaxWindowNames+1))
	if len(counts) <= MaxWindowNames {
		for k, v := range counts {
			k, _ = trace.CutString(k, trace.MaxName)
			out[k] += v
		}
		return out
	}
	for i, c := range top(counts, len(counts)) {
		k, _ := trace.CutString(c.Name, trace.MaxName)
		if i >= MaxWindowNames {
			k = trace.OtherName
		}
		out[k] += c.Count
	}
	return out
}

func (b *Builder) addEvent(ev *trace.Event) {
	e := *ev
	e.Path, _ = trace.CutString(e.Path, trace.MaxPath)
	e.Path2, _ = trace.CutString(e.Path2, trace.MaxPath)
	e.Addr, _ = trace.CutString(e.Addr, trace.MaxAddr)
	e.Flags, _ = trace.CutString(e.Flags, trace.MaxShort)
	e.Err, _ = trace.CutString(e.Err, trace.MaxShort)
	e.Argv, _ = trace.CutArgv(e.Argv)
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
		Output: sum.Stdout, Bounded: sum.Bounded, Format: sum.Format, Runner: commandLine(sum.Runner),
		APICalls: sum.APICalls, APIKept: sum.APIKept, APITruncated: sum.APITruncated,
	}
}

// MaxTreeDepth is how deep Tree nests processes. Descendants of a process
// at this depth are listed flat, in tree order, as its children (each keeps
// its PPID) and counted in its Flattened: no process is left out, and a
// fork chain of any length stays a shallow JSON document.
const MaxTreeDepth = 64

// Tree arranges a process table into trees by parent pid. Processes whose
// parent is not in the table are roots, in start order; so is one process
// of each parent cycle (which real pids cannot form, a hostile guest can).
// Every entry of procs appears exactly once; of entries sharing a pid, the
// first is the parent of that pid's children. It works without recursion,
// for any number of processes.
func Tree(procs []trace.Process) []ProcessNode {
	n := len(procs)
	first := make(map[int]int, n)
	for i, p := range procs {
		if _, ok := first[p.PID]; !ok {
			first[p.PID] = i
		}
	}
	kids := make([][]int, n)
	var roots []int
	for i, p := range procs {
		if j, ok := first[p.PPID]; ok && p.PPID != 0 && p.PPID != p.PID && j != i {
			kids[j] = append(kids[j], i)
		} else {
			roots = append(roots, i)
		}
	}
	byStart := func(s []int) {
		sort.SliceStable(s, func(a, b int) bool { return procs[s[a]].Start < procs[s[b]].Start })
	}
	for _, k := range kids {
		byStart(k)
	}
	byStart(roots)

	// Pre-order walk with an explicit stack, deciding each entry's place:
	// its tree parent (tp, -1 for a root) and level (MaxTreeDepth+1 when
	// listed flat under an ancestor at MaxTreeDepth).
	tp := make([]int, n)
	lvl := make([]int, n)
	seen := make([]bool, n)
	order := make([]int, 0, n)
	var top []int
	walk := func(r int) {
		seen[r], tp[r], lvl[r] = true, -1, 0
		top = append(top, r)
		stack := []int{r}
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			order = append(order, i)
			for k := len(kids[i]) - 1; k >= 0; k-- {
				c := kids[i][k]
				if seen[c] {
					continue
				}
				seen[c] = true
				switch {
				case lvl[i] < MaxTreeDepth:
					tp[c], lvl[c] = i, lvl[i]+1
				case lvl[i] == MaxTreeDepth:
					tp[c], lvl[c] = i, MaxTreeDepth+1
				default: // i is listed flat: so is c, under the same ancestor
					tp[c], lvl[c] = tp[i], MaxTreeDepth+1
				}
				stack = append(stack, c)
			}
		}
	}
	for _, r := range roots {
		walk(r)
	}
	for i := range procs {
		if !seen[i] { // a parent cycle: start it at its first entry
			walk(i)
		}
	}
	// Children lists in pre-order, then nodes built from the leaves up:
	// every descendant of an entry comes after it in pre-order.
	children := make([][]int, n)
	for _, i := range order {
		if tp[i] >= 0 {
			children[tp[i]] = append(children[tp[i]], i)
		}
	}
	nodes := make([]ProcessNode, n)
	for k := len(order) - 1; k >= 0; k-- {
		i := order[k]
		nd := ProcessNode{Process: procs[i]}
		if cs := children[i]; len(cs) > 0 {
			nd.Children = make([]ProcessNode, len(cs))
			for j, c := range cs {
				nd.Children[j] = nodes[c]
				nodes[c] = ProcessNode{}
				if lvl[c] > MaxTreeDepth {
					nd.Flattened++
				}
			}
		}
		nodes[i] = nd
	}
	out := make([]ProcessNode, 0, len(top))
	for _, r := range top {
		out = append(out, nodes[r])
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
