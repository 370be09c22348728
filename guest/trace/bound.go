package trace

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
	"unsafe"

	"github.com/scalemalnet/scalemalnet/internal/safetext"
)

// Bounds a reader re-applies to a trace from an untrusted producer (a guest
// that runs the sample as root can write anything on the agent's port). The
// string and list bounds are the tracer's (guest/tracer: MaxPath, MaxArgs,
// MaxArgLen, and the formatted form of a MaxSockaddr-byte address, escapes
// included); an honest agent never exceeds them.
const (
	MaxPath     = 4096 // bytes of Event.Path, Path2, Process.Exe, APICall.Path
	MaxArgs     = 64   // argv entries (Event.Argv, Process.Argv, APICall.Args); a cut list ends with "..."
	MaxArgLen   = 256  // bytes per argv entry
	MaxAddr     = 528  // bytes of Event.Addr: a 128-byte sockaddr formatted, escapes included
	MaxName     = 256  // bytes of a call name (syscall, or API "Module.Func")
	MaxShort    = 64   // bytes of short fields: Flags, Err, ABI, Signal, Ret, Caller, Format
	MaxText     = 1024 // bytes of Summary.Error
	MaxOutput   = 64 << 10
	MaxCount    = 1 << 40 // a single count value; larger ones are clamped
	MaxNames    = 4096    // distinct call names per trace (syscall and API names each)
	MaxProcs    = 65536   // processes in a summary
	DefaultKept = 128 << 20
)

// OtherName is the call name that counts calls whose name came after the
// MaxNames distinct ones of a trace (OtherAPIName for Windows API calls).
const (
	OtherName    = "(other)"
	OtherAPIName = OtherName + "." + OtherName
)

// ErrOverBudget is returned when a producer sends far more calls with
// details than the budget it was given: an honest agent never does.
var ErrOverBudget = errors.New("trace over its budget")

// Limits bound what a Bounder keeps. Zero fields take the defaults noted.
type Limits struct {
	// MaxEvents: calls kept with details over the whole trace, system
	// calls and Windows API calls together; later ones are only counted
	// (Window.Dropped, APIDropped). 0 = no count limit.
	MaxEvents int
	// MaxKeptBytes: approximate memory of the kept calls (their structs
	// plus their strings); calls past it are dropped like past MaxEvents.
	// 0 = DefaultKept.
	MaxKeptBytes int64
	// MaxOffered: calls with details the producer may send at all, kept
	// or not; one more ends decoding with ErrOverBudget. 0 = no limit.
	MaxOffered int
	// MaxNames: distinct call names (per kind); 0 = MaxNames.
	MaxNames int
}

// Bounded records what a reader cut from a trace. The host sets it in the
// stored summary; it is never taken from the guest.
type Bounded struct {
	Dropped          int `json:"dropped,omitempty"`           // system calls with details not kept (budget)
	APIDropped       int `json:"api_dropped,omitempty"`       // API calls with details not kept (budget)
	Cut              int `json:"cut,omitempty"`               // calls and processes whose strings or lists were cut
	NamesMerged      int `json:"names_merged,omitempty"`      // names counted under OtherName
	ProcessesOmitted int `json:"processes_omitted,omitempty"` // processes past MaxProcs
}

func (b Bounded) any() bool { return b != Bounded{} }

// Bounder applies Limits to the windows and summary of one trace, in order.
// It is not safe for concurrent use.
type Bounder struct {
	lim       Limits
	kept      int
	keptBytes int64
	offered   int
	names     map[string]struct{}
	apiNames  map[string]struct{}
	stats     Bounded
}

// NewBounder returns a Bounder for one trace.
func NewBounder(l Limits) *Bounder {
	if l.MaxKeptBytes <= 0 {
		l.MaxKeptBytes = DefaultKept
	}
	if l.MaxNames <= 0 {
		l.MaxNames = MaxNames
	}
	return &Bounder{lim: l, names: map[string]struct{}{}, apiNames: map[string]struct{}{}}
}

// Stats reports what was cut so far.
func (b *Bounder) Stats() Bounded { return b.stats }

// Kept is the number of calls kept so far.
func (b *Bounder) Kept() int { return b.kept }

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// DecodeWindow decodes one JSON window object from dec, keeping calls while
// the budget lasts and counting the rest in the window's Dropped and
// APIDropped. Object keys that are not Window fields are passed to extra
// (which must consume the value), or skipped when extra is nil. Errors wrap
// ErrMalformed or ErrOverBudget.
func (b *Bounder) DecodeWindow(dec *json.Decoder, extra func(key string, dec *json.Decoder) error) (Window, error) {
	var w Window
	if err := expectDelim(dec, '{'); err != nil {
		return w, err
	}
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return w, err
		}
		switch key {
		case "index":
			err = decodeInt(dec, &w.Index)
		case "start":
			err = decodeValue(dec, &w.Start)
		case "end":
			err = decodeValue(dec, &w.End)
		case "dropped", "api_dropped":
			var n int
			if err = decodeInt(dec, &n); err == nil {
				if n < 0 {
					return w, malformed("window %d: negative %s", w.Index, key)
				}
				if key == "dropped" {
					w.Dropped = addCount(w.Dropped, n)
				} else {
					w.APIDropped = addCount(w.APIDropped, n)
				}
			}
		case "counts":
			w.Counts, err = b.decodeCounts(dec, w.Counts, false)
		case "api_counts":
			w.APICounts, err = b.decodeCounts(dec, w.APICounts, true)
		case "events":
			err = eachElement(dec, func() error {
				var ev Event
				if err := decodeValue(dec, &ev); err != nil {
					return err
				}
				keep, err := b.event(&ev)
				if err != nil {
					return err
				}
				if keep {
					w.Events = append(w.Events, ev)
				} else {
					w.Dropped = addCount(w.Dropped, 1)
				}
				return nil
			})
		case "api":
			err = eachElement(dec, func() error {
				var c APICall
				if err := decodeValue(dec, &c); err != nil {
					return err
				}
				keep, err := b.apiCall(&c)
				if err != nil {
					return err
				}
				if keep {
					w.API = append(w.API, c)
				} else {
					w.APIDropped = addCount(w.APIDropped, 1)
				}
				return nil
			})
		default:
			if extra != nil {
				if err = extra(key, dec); err != nil && !errors.Is(err, ErrMalformed) {
					err = malformed("%s: %v", key, err)
				}
			} else {
				err = skipValue(dec)
			}
		}
		if err != nil {
			return w, err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return w, err
	}
	return w, nil
}

func (b *Bounder) decodeCounts(dec *json.Decoder, into map[string]int, api bool) (map[string]int, error) {
	tok, err := dec.Token()
	if err != nil {
		return into, malformed("counts: %v", err)
	}
	if tok == nil {
		return into, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return into, malformed("counts: %v is not an object", tok)
	}
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return into, err
		}
		var n int64
		if err := decodeValue(dec, &n); err != nil {
			return into, err
		}
		if n < 0 {
			return into, malformed("negative count for %q", cut(key, MaxName))
		}
		if into == nil {
			into = map[string]int{}
		}
		name := b.callName(key, api)
		into[name] = addCount(into[name], int(min(n, MaxCount)))
	}
	if err := expectDelim(dec, '}'); err != nil {
		return into, err
	}
	return into, nil
}

// callName bounds a call name and applies the distinct-name cap.
func (b *Bounder) callName(name string, api bool) string {
	set, other := b.names, OtherName
	if api {
		set, other = b.apiNames, OtherAPIName
	}
	name = cut(name, MaxName)
	if _, ok := set[name]; ok {
		return name
	}
	if len(set) >= b.lim.MaxNames {
		b.stats.NamesMerged++
		return other
	}
	set[name] = struct{}{}
	return name
}

func (b *Bounder) offer() error {
	b.offered++
	if b.lim.MaxOffered > 0 && b.offered > b.lim.MaxOffered {
		return fmt.Errorf("%w: more than %d calls with details sent (budget %d kept)", ErrOverBudget, b.lim.MaxOffered, b.lim.MaxEvents)
	}
	return nil
}

// take reports whether a call of the given cost fits the budget, and
// accounts for it if so.
func (b *Bounder) take(cost int64) bool {
	if (b.lim.MaxEvents > 0 && b.kept >= b.lim.MaxEvents) || b.keptBytes+cost > b.lim.MaxKeptBytes {
		return false
	}
	b.kept++
	b.keptBytes += cost
	return true
}

var (
	eventSize = int64(unsafe.Sizeof(Event{}))
	apiSize   = int64(unsafe.Sizeof(APICall{}))
	strSize   = int64(unsafe.Sizeof(""))
)

// event bounds ev in place and reports whether it is kept.
func (b *Bounder) event(ev *Event) (bool, error) {
	if err := b.offer(); err != nil {
		return false, err
	}
	ev.Name = b.callName(ev.Name, false)
	c := false
	ev.Path = cutMark(ev.Path, MaxPath, &c)
	ev.Path2 = cutMark(ev.Path2, MaxPath, &c)
	ev.Addr = cutMark(ev.Addr, MaxAddr, &c)
	ev.Flags = cutMark(ev.Flags, MaxShort, &c)
	ev.Err = cutMark(ev.Err, MaxShort, &c)
	ev.ABI = cutMark(ev.ABI, MaxShort, &c)
	ev.Argv = cutArgv(ev.Argv, &c)
	if c {
		ev.Cut = true
		b.stats.Cut++
	}
	cost := eventSize + int64(len(ev.Name)+len(ev.Path)+len(ev.Path2)+len(ev.Addr)+len(ev.Flags)+len(ev.Err)+len(ev.ABI)) + argvCost(ev.Argv)
	if ev.FD != nil {
		cost += 8
	}
	if !b.take(cost) {
		b.stats.Dropped++
		return false, nil
	}
	return true, nil
}

// apiCall bounds c in place and reports whether it is kept.
func (b *Bounder) apiCall(c *APICall) (bool, error) {
	if err := b.offer(); err != nil {
		return false, err
	}
	x := false
	c.Module = cutMark(c.Module, MaxName/4, &x)
	c.Func = cutMark(c.Func, MaxName-MaxName/4-1, &x)
	if b.callName(c.Name(), true) == OtherAPIName {
		c.Module, c.Func = OtherName, OtherName
	}
	c.Path = cutMark(c.Path, MaxPath, &x)
	c.Ret = cutMark(c.Ret, MaxShort, &x)
	c.Caller = cutMark(c.Caller, MaxShort, &x)
	c.Args = cutArgv(c.Args, &x)
	if x {
		c.Cut = true
		b.stats.Cut++
	}
	cost := apiSize + int64(len(c.Module)+len(c.Func)+len(c.Path)+len(c.Ret)+len(c.Caller)) + argvCost(c.Args)
	if !b.take(cost) {
		b.stats.APIDropped++
		return false, nil
	}
	return true, nil
}

// Summary bounds s in place (strings, lists, the process table) and sets
// s.Bounded to what this Bounder cut over the whole trace, replacing any
// value the producer sent. When calls were dropped, s.Truncated (or
// APITruncated) is set.
func (b *Bounder) Summary(s *Summary) {
	if len(s.Processes) > MaxProcs {
		b.stats.ProcessesOmitted += len(s.Processes) - MaxProcs
		s.Processes = s.Processes[:MaxProcs:MaxProcs]
	}
	for i := range s.Processes {
		p := &s.Processes[i]
		c := false
		p.Exe = cutMark(p.Exe, MaxPath, &c)
		p.Argv = cutArgv(p.Argv, &c)
		p.Signal = cutMark(p.Signal, MaxShort, &c)
		if c {
			b.stats.Cut++
		}
	}
	var c bool
	s.Outcome = Outcome(cutMark(string(s.Outcome), MaxShort, &c))
	s.Signal = cutMark(s.Signal, MaxShort, &c)
	s.Error = safetext.Clean(s.Error, MaxText) // may reach a job's error
	s.Format = cutMark(s.Format, MaxShort, &c)
	s.Runner = cutArgv(s.Runner, &c)
	if len(s.Stdout) > MaxOutput {
		s.Stdout, s.StdoutTrunc = s.Stdout[:MaxOutput], true
	}
	if b.stats.Dropped > 0 {
		s.Truncated = true
	}
	if b.stats.APIDropped > 0 {
		s.APITruncated = true
	}
	s.Bounded = nil
	if st := b.stats; st.any() {
		s.Bounded = &st
	}
}

// cut shortens s to at most n bytes, at a UTF-8 boundary when s is valid
// there.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > n-utf8.UTFMax && i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

func cutMark(s string, n int, cutFlag *bool) string {
	if len(s) > n {
		*cutFlag = true
		return cut(s, n)
	}
	return s
}

// cutArgv bounds an argument list like the tracer: at most MaxArgs entries
// (then "..."), each at most MaxArgLen bytes. A list that needs a cut is
// copied, never changed in place.
func cutArgv(argv []string, cutFlag *bool) []string {
	if !argvNeedsCut(argv) {
		return argv
	}
	*cutFlag = true
	n := min(len(argv), MaxArgs)
	out := make([]string, n, n+1)
	for i := range out {
		out[i] = cut(argv[i], MaxArgLen)
	}
	if len(argv) > MaxArgs {
		out = append(out, "...")
	}
	return out
}

func argvNeedsCut(argv []string) bool {
	if len(argv) > MaxArgs+1 || (len(argv) == MaxArgs+1 && argv[MaxArgs] != "...") {
		return true
	}
	for _, a := range argv {
		if len(a) > MaxArgLen {
			return true
		}
	}
	return false
}

// CutString shortens s to at most n bytes (at a UTF-8 boundary where s is
// valid) and reports whether it did.
func CutString(s string, n int) (string, bool) {
	c := false
	return cutMark(s, n, &c), c
}

// CutArgv bounds an argument list like the tracer (MaxArgs entries, then
// "...", each at most MaxArgLen bytes) and reports whether it did; a list
// that needs a cut is copied, never changed in place.
func CutArgv(argv []string) ([]string, bool) {
	c := false
	return cutArgv(argv, &c), c
}

func argvCost(argv []string) int64 {
	n := int64(len(argv)) * strSize
	for _, a := range argv {
		n += int64(len(a))
	}
	return n
}

func addCount(a, b int) int {
	if s := a + b; s >= a && s <= MaxCount*MaxNames {
		return s
	}
	return MaxCount * MaxNames
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return malformed("want %q: %v", want, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return malformed("got %v, want %q", tok, want)
	}
	return nil
}

func objectKey(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", malformed("object key: %v", err)
	}
	k, ok := tok.(string)
	if !ok {
		return "", malformed("object key %v", tok)
	}
	return k, nil
}

// eachElement calls f for every element of a JSON array (null is empty);
// f must consume the element.
func eachElement(dec *json.Decoder, f func() error) error {
	tok, err := dec.Token()
	if err != nil {
		return malformed("array: %v", err)
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return malformed("got %v, want an array", tok)
	}
	for dec.More() {
		if err := f(); err != nil {
			return err
		}
	}
	return expectDelim(dec, ']')
}

func decodeValue(dec *json.Decoder, v any) error {
	if err := dec.Decode(v); err != nil {
		return malformed("%v", err)
	}
	return nil
}

func decodeInt(dec *json.Decoder, v *int) error { return decodeValue(dec, v) }

func skipValue(dec *json.Decoder) error {
	var raw json.RawMessage
	return decodeValue(dec, &raw)
}

// ExpectEnd checks that dec has nothing left but whitespace.
func ExpectEnd(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return malformed("trailing data after the value")
	}
	return nil
}
