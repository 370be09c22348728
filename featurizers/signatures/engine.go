package signatures

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// EvidencePerRule is how many matching events a match lists (Count has
// them all).
const EvidencePerRule = 5

// maxTracked bounds the engine's own state (written paths, descriptors per
// process, processes), so that a hostile trace cannot make it grow without
// bound; past it new entries are not tracked.
const maxTracked = 100_000

// shells are the programs socket_shell treats as shells.
var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "ash": true, "zsh": true, "ksh": true,
	"mksh": true, "csh": true, "tcsh": true, "fish": true, "busybox": true}

// Match runs every rule over the trace and returns the rules that matched,
// in rule order. It checks ctx between rules' passes over the events.
func (s *Set) Match(ctx context.Context, t *trace.Trace) ([]features.Match, error) {
	if t == nil {
		return nil, nil
	}
	st := newState(s, t)
	events := t.Events()
	for i := range events {
		if i%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		st.event(&events[i])
	}
	for _, c := range t.APICalls() {
		st.apiCall(&c)
	}
	var out []features.Match
	for _, r := range s.Rules {
		if m, ok := st.result(r); ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// hits is what one clause matched.
type hits struct {
	n        int
	evidence []string
	keys     map[string]bool
}

func (h *hits) add(ev, key string) {
	h.n++
	if h.keys == nil {
		h.keys = map[string]bool{}
	}
	if len(h.keys) < maxTracked {
		h.keys[key] = true
	}
	if ev != "" && len(h.evidence) < EvidencePerRule {
		h.evidence = append(h.evidence, features.Evidence(ev))
	}
}

// state is one pass over a trace.
type state struct {
	byCall  map[string][]*clause
	apis    []*clause
	sock    []*clause
	hits    map[*clause]*hits
	written map[string]bool
	fds     map[int]map[int]string // pid -> fd -> peer of a connected socket ("" for one not yet connected)
	exe     map[int]string         // pid -> program it runs
}

func newState(s *Set, t *trace.Trace) *state {
	st := &state{byCall: map[string][]*clause{}, hits: map[*clause]*hits{}, written: map[string]bool{},
		fds: map[int]map[int]string{}, exe: map[int]string{}}
	for _, r := range s.Rules {
		for _, c := range slices.Concat(r.any, r.all) {
			switch {
			case c.api != nil:
				st.apis = append(st.apis, c)
			case c.sockShel:
				st.sock = append(st.sock, c)
			default:
				for name := range c.calls {
					st.byCall[name] = append(st.byCall[name], c)
				}
			}
		}
	}
	for _, p := range t.Summary.Processes {
		if p.Exe != "" && len(st.exe) < maxTracked {
			st.exe[p.PID] = p.Exe
		}
	}
	return st
}

func (st *state) hit(c *clause, ev, key string) {
	h := st.hits[c]
	if h == nil {
		h = &hits{}
		st.hits[c] = h
	}
	h.add(ev, key)
}

func (st *state) event(ev *trace.Event) {
	// Clauses first: an exec of a file is judged against what was written
	// before it, not by itself.
	for _, c := range st.byCall[ev.Name] {
		if st.matches(c, ev) {
			h := st.hits[c]
			if h != nil && len(h.evidence) >= EvidencePerRule {
				h.add("", key(ev)) // evidence full: count it, skip rendering
				continue
			}
			st.hit(c, describe(ev), key(ev))
		}
	}
	st.track(ev)
}

// matches reports whether event ev satisfies clause c (its call is one of
// c's calls).
func (st *state) matches(c *clause, ev *trace.Event) bool {
	switch failed := ev.Failed(); {
	case c.result == "ok" && failed, c.result == "failed" && !failed:
		return false
	}
	if c.exe != nil && !anyMatch(c.exe, ev.Path) {
		return false
	}
	if c.path != nil && !anyMatch(c.path, ev.Path) {
		return false
	}
	if c.path2 != nil && !anyMatch(c.path2, ev.Path2) {
		return false
	}
	if c.flags != nil && !hasFlag(ev.Flags, c.flags) {
		return false
	}
	if c.argv != nil || c.argvNot != nil {
		a := strings.Join(ev.Argv, " ")
		if c.argv != nil && !c.argv.MatchString(a) || c.argvNot != nil && c.argvNot.MatchString(a) {
			return false
		}
	}
	if c.addr != nil && !c.addr.MatchString(ev.Addr) {
		return false
	}
	if c.written && !st.wasWritten(ev.Path) {
		return false
	}
	return true
}

func anyMatch(ps []*pattern, s string) bool {
	if s == "" {
		return false
	}
	for _, p := range ps {
		if p.match(s) {
			return true
		}
	}
	if c := path.Clean(s); c != s {
		for _, p := range ps {
			if p.match(c) {
				return true
			}
		}
	}
	return false
}

func hasFlag(flags string, want []string) bool {
	if flags == "" {
		return false
	}
	for _, f := range strings.Split(flags, "|") {
		if slices.Contains(want, f) {
			return true
		}
	}
	return false
}

// wasWritten reports whether the run wrote p before: the same path, or a
// relative path written that p ends with (the trace keeps paths as the
// program gave them; the working directory is not recorded).
func (st *state) wasWritten(p string) bool {
	if p == "" {
		return false
	}
	p = path.Clean(p)
	if st.written[p] {
		return true
	}
	for i := strings.IndexByte(p, '/'); i >= 0; {
		rest := p[i+1:]
		if rest != "" && st.written[rest] {
			return true
		}
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return false
}

func (st *state) markWritten(p string) {
	if p != "" && len(st.written) < maxTracked {
		st.written[path.Clean(p)] = true
	}
}

// track updates the run's state after an event: written files, the
// connected sockets of each process and what each process runs.
func (st *state) track(ev *trace.Event) {
	ok := !ev.Failed()
	switch ev.Name {
	case "open", "openat", "openat2", "creat":
		if ok && (ev.Name == "creat" || hasFlag(ev.Flags, writeFlags)) {
			st.markWritten(ev.Path)
		}
	case "rename", "renameat", "renameat2", "link", "linkat":
		if ok {
			st.markWritten(ev.Path2)
		}
	case "execve", "execveat":
		if ok {
			if len(st.exe) < maxTracked || st.exe[ev.PID] != "" {
				st.exe[ev.PID] = ev.Path
			}
			if st.stdioSocket(ev.PID) != "" && shells[base(ev.Path)] {
				st.sockShell(ev, fmt.Sprintf("%s with %s as its standard input/output", describe(ev), st.stdioSocket(ev.PID)))
			}
		}
	case "fork", "vfork", "clone", "clone3":
		if ok && ev.Child > 0 {
			if tab := st.fds[ev.PID]; tab != nil && len(st.fds) < maxTracked {
				st.fds[ev.Child] = maps(tab)
			}
			if e := st.exe[ev.PID]; e != "" && len(st.exe) < maxTracked {
				st.exe[ev.Child] = e
			}
		}
	}
	if !ok {
		return
	}
	switch ev.Name {
	case "socket":
		st.setFD(ev.PID, int(ev.Ret), "")
	case "connect":
		if ev.FD != nil {
			if _, isSock := st.fds[ev.PID][*ev.FD]; isSock || ev.Addr != "" {
				st.setFD(ev.PID, *ev.FD, ev.Addr)
			}
		}
	case "accept", "accept4":
		addr := ev.Addr
		if addr == "" {
			addr = "an accepted connection"
		}
		st.setFD(ev.PID, int(ev.Ret), addr)
	case "dup", "dup2", "dup3":
		if ev.FD == nil {
			return
		}
		peer, isSock := st.fds[ev.PID][*ev.FD]
		nfd := int(ev.Ret)
		if !isSock {
			delete(st.fds[ev.PID], nfd)
			return
		}
		st.setFD(ev.PID, nfd, peer)
		if nfd <= 2 && peer != "" && shells[base(st.exe[ev.PID])] {
			st.sockShell(ev, fmt.Sprintf("%s: the shell %s gets %s as fd %d", describe(ev), st.exe[ev.PID], peer, nfd))
		}
	case "close":
		if ev.FD != nil {
			delete(st.fds[ev.PID], *ev.FD)
		}
	}
}

// stdioSocket returns the peer of a connected socket on fd 0, 1 or 2 of
// pid, or "".
func (st *state) stdioSocket(pid int) string {
	for fd := 0; fd <= 2; fd++ {
		if p := st.fds[pid][fd]; p != "" {
			return p
		}
	}
	return ""
}

func (st *state) setFD(pid, fd int, peer string) {
	if fd < 0 {
		return
	}
	tab := st.fds[pid]
	if tab == nil {
		if len(st.fds) >= maxTracked {
			return
		}
		tab = map[int]string{}
		st.fds[pid] = tab
	}
	if len(tab) < 4096 {
		tab[fd] = peer
	}
}

func (st *state) sockShell(ev *trace.Event, evidence string) {
	for _, c := range st.sock {
		st.hit(c, evidence, fmt.Sprint(ev.PID))
	}
}

func maps(m map[int]string) map[int]string {
	out := make(map[int]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (st *state) apiCall(c *trace.APICall) {
	name := strings.ToLower(c.Name())
	for _, cl := range st.apis {
		if !cl.api[name] {
			continue
		}
		if cl.apiArgs != nil && !cl.apiArgs.MatchString(c.Path+" "+strings.Join(c.Args, " ")) {
			continue
		}
		ev := fmt.Sprintf("pid %d tid %d %s(%s)", c.PID, c.TID, c.Name(), strings.Join(c.Args, ","))
		if c.Ret != "" {
			ev += " ret=" + c.Ret
		}
		st.hit(cl, ev, c.Name()+" "+c.Path)
	}
}

// result decides whether rule r matched, with its count and evidence.
func (st *state) result(r *Rule) (features.Match, bool) {
	var evidence []string
	count := 0
	if r.any != nil {
		n, keys := 0, map[string]bool{}
		var ev []string
		for _, c := range r.any {
			h := st.hits[c]
			if h == nil {
				continue
			}
			n += h.n
			for k := range h.keys {
				keys[k] = true
			}
			ev = append(ev, h.evidence...)
		}
		got := n
		if r.distinct {
			got = len(keys)
		}
		if got < r.min || n == 0 {
			return features.Match{}, false
		}
		count += n
		evidence = append(evidence, ev...)
	}
	for _, c := range r.all {
		h := st.hits[c]
		if h == nil {
			return features.Match{}, false
		}
		count += h.n
		evidence = append(evidence, h.evidence...)
	}
	evidence = dedup(evidence)
	if len(evidence) > EvidencePerRule {
		evidence = evidence[:EvidencePerRule]
	}
	return r.match(count, evidence), true
}

func dedup(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// key identifies an event for distinct counting: the program for an exec,
// else the call and its path (or address).
func key(ev *trace.Event) string {
	switch ev.Name {
	case "execve", "execveat":
		return "exec " + base(ev.Path)
	}
	if ev.Path != "" {
		return ev.Name + " " + ev.Path
	}
	return ev.Name + " " + ev.Addr
}

// describe renders an event as one evidence line.
func describe(ev *trace.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "pid %d %s", ev.PID, ev.Name)
	switch {
	case ev.Name == "execve" || ev.Name == "execveat":
		fmt.Fprintf(&b, " %s", ev.Path)
		if len(ev.Argv) > 0 {
			fmt.Fprintf(&b, " %q", ev.Argv)
		}
	default:
		var args []string
		if ev.FD != nil {
			args = append(args, fmt.Sprintf("fd %d", *ev.FD))
		}
		if ev.Path != "" {
			args = append(args, fmt.Sprintf("%q", ev.Path))
		}
		if ev.Path2 != "" {
			args = append(args, fmt.Sprintf("%q", ev.Path2))
		}
		if ev.Flags != "" {
			args = append(args, ev.Flags)
		}
		if ev.Addr != "" {
			args = append(args, ev.Addr)
		}
		fmt.Fprintf(&b, "(%s)", strings.Join(args, ", "))
	}
	if ev.Failed() {
		fmt.Fprintf(&b, " = %s", ev.Err)
		if ev.Err == "" {
			fmt.Fprintf(&b, "%d", ev.Ret)
		}
	} else if ev.Name != "execve" && ev.Name != "execveat" {
		fmt.Fprintf(&b, " = %d", ev.Ret)
	}
	return b.String()
}
