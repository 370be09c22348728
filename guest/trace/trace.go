// Package trace defines the behaviour trace the guest agent records: system
// calls grouped into timed windows, plus the process table of the traced tree.
//
// It is the one format shared by the guest agent (producer), the orchestrator
// (reports, artifacts) and the featurizers (call sequences). Times are
// nanoseconds relative to the start of the run, so traces from restored VMs
// with adjusted clocks stay comparable.
package trace

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
)

// Event is one completed (or interrupted) system call of a traced thread.
type Event struct {
	T    int64  `json:"t"`             // ns since run start, at syscall entry
	Dur  int64  `json:"dur,omitempty"` // ns from entry to exit stop
	PID  int    `json:"pid"`           // thread group id (process)
	TID  int    `json:"tid"`           // thread id
	Nr   int    `json:"nr"`            // architecture syscall number (x86-64)
	Name string `json:"name"`          // syscall name, "sys_<nr>" when unknown
	Ret  int64  `json:"ret"`           // raw return value (negative errno on failure)
	Err  string `json:"err,omitempty"` // errno name when Ret < 0, e.g. "ENOENT"

	// Decoded key arguments; only those that apply are set.
	FD    *int     `json:"fd,omitempty"`    // fd argument (read, write, close, connect, ...)
	Path  string   `json:"path,omitempty"`  // first path argument (open*, stat*, exec*, unlink*, ...)
	Path2 string   `json:"path2,omitempty"` // second path (rename*, link*, symlink*)
	Flags string   `json:"flags,omitempty"` // decoded open flags, e.g. "O_WRONLY|O_CREAT"
	Argv  []string `json:"argv,omitempty"`  // execve/execveat argument vector
	Addr  string   `json:"addr,omitempty"`  // socket address: "inet 127.0.0.1:22", "inet6 [::1]:22", "unix /run/x"
	Size  int64    `json:"size,omitempty"`  // byte count argument (read, write, send*, recv*)
	Child int      `json:"child,omitempty"` // new pid/tid for fork/vfork/clone/clone3
	// ABI is "i386" for a call made through the 32-bit entry (an i386
	// program, or int 0x80); empty for x86-64. Nr and Name then follow the
	// i386 table (Name "execve" is i386 number 11, not x86-64's 59).
	ABI string `json:"abi,omitempty"`
	// Cut is set by a reader (the host) that cut one of the strings or
	// lists above to the tracer's bounds (see Bounder); never by the guest.
	Cut bool `json:"cut,omitempty"`
}

// ABII386 marks an event of the i386 system call table.
const ABII386 = "i386"

// APICall is one Windows API call of a program run under Wine, read from
// Wine's relay debug channel (WINEDEBUG=+relay). Module and Func are as Wine
// names them ("KERNEL32", "CreateFileA"; "ntdll", "NtCreateFile"): the
// vocabulary of Cuckoo's monitor and so of MalBehavD-V1 and Mal-API-2019.
type APICall struct {
	T      int64    `json:"t"`                // ns since run start, when the agent read the call
	PID    int      `json:"pid,omitempty"`    // Windows process id as Wine prints it (0 when unknown)
	TID    int      `json:"tid"`              // Windows thread id as Wine prints it
	Module string   `json:"module"`           // DLL without extension, as Wine writes it
	Func   string   `json:"func"`             // function name (or "@123" for an ordinal)
	Args   []string `json:"args,omitempty"`   // raw argument texts, bounded like exec argv
	Path   string   `json:"path,omitempty"`   // first string argument: file, registry key, module, ...
	Ret    string   `json:"ret,omitempty"`    // return value as Wine printed it (hex); "" if never returned
	Caller string   `json:"caller,omitempty"` // return address (hex), where the call came from
	Cut    bool     `json:"cut,omitempty"`    // a reader cut a string or list to the bounds (see Bounder)
}

// Name is the call's "Module.Func" key, as used in Window.APICounts.
func (c APICall) Name() string { return c.Module + "." + c.Func }

// Failed reports whether the call returned an error.
func (e Event) Failed() bool { return e.Ret < 0 && e.Ret > -4096 }

// Window is one timed slice of the run. Windows cover the run contiguously
// from index 0; a window with no calls has empty Events and Counts.
type Window struct {
	Index   int            `json:"index"`
	Start   int64          `json:"start"` // ns since run start, inclusive
	End     int64          `json:"end"`   // ns since run start, exclusive
	Counts  map[string]int `json:"counts,omitempty"`
	Events  []Event        `json:"events,omitempty"`
	Dropped int            `json:"dropped,omitempty"` // calls counted but not kept (budget)

	// Windows API calls of a program run under Wine (empty otherwise), under
	// the same budget and truncation rules as the system calls: APICounts
	// counts every call by "Module.Func", API keeps them while the run's
	// event budget lasts, APIDropped counts the rest.
	API        []APICall      `json:"api,omitempty"`
	APICounts  map[string]int `json:"api_counts,omitempty"`
	APIDropped int            `json:"api_dropped,omitempty"`
}

// APITotal is the number of API calls counted in the window, kept or dropped.
func (w Window) APITotal() int {
	n := 0
	for _, c := range w.APICounts {
		n += c
	}
	return n
}

// Total is the number of calls counted in the window, kept or dropped.
func (w Window) Total() int {
	n := 0
	for _, c := range w.Counts {
		n += c
	}
	return n
}

// Process is one process (thread group) of the traced tree.
type Process struct {
	PID      int      `json:"pid"`
	PPID     int      `json:"ppid"`             // 0 for the sample's root process
	Exe      string   `json:"exe,omitempty"`    // last program executed
	Argv     []string `json:"argv,omitempty"`   // argv of the last execve
	Start    int64    `json:"start"`            // ns since run start
	End      int64    `json:"end,omitempty"`    // ns since run start; 0 if still running at the end
	Exit     *int     `json:"exit,omitempty"`   // exit status if it exited
	Signal   string   `json:"signal,omitempty"` // terminating signal name, e.g. "SIGSEGV"
	Threads  int      `json:"threads"`          // threads seen, including the main one
	Killed   bool     `json:"killed,omitempty"` // killed by the agent at the timeout
	Syscalls int      `json:"syscalls"`         // calls counted for this process
}

// Outcome says how a run ended.
type Outcome string

const (
	OutcomeExited   Outcome = "exited"   // root process exited by itself
	OutcomeSignaled Outcome = "signaled" // root process was killed by a signal it got (crash)
	OutcomeTimeout  Outcome = "timeout"  // the agent killed the tree at the job's timeout
	OutcomeError    Outcome = "error"    // the sample could not be started or traced
)

// Summary is what the agent reports when a run ends.
type Summary struct {
	Outcome     Outcome   `json:"outcome"`
	ExitCode    int       `json:"exit_code"`        // root process's exit status (when exited)
	Signal      string    `json:"signal,omitempty"` // root process's terminating signal (when signaled)
	Error       string    `json:"error,omitempty"`  // why the run failed (OutcomeError)
	DurationNs  int64     `json:"duration_ns"`      // run start to last process gone (or kill)
	Windows     int       `json:"windows"`          // windows streamed
	Events      int       `json:"events"`           // calls counted
	Kept        int       `json:"kept"`             // calls kept with their details
	Truncated   bool      `json:"truncated"`        // budget hit: some calls were counted but not kept
	Processes   []Process `json:"processes"`
	Stdout      string    `json:"stdout,omitempty"` // first bytes of the root's stdout+stderr
	StdoutTrunc bool      `json:"stdout_truncated,omitempty"`

	// Format is what the agent found the sample to be and how it ran it:
	// "elf-x86_64", "elf-i386", "script" (through its interpreter),
	// "pe-x86_64", "pe-i386", "pe-dll" (under Wine). Empty from older agents.
	Format string `json:"format,omitempty"`
	// Runner is the command line that started the sample when it was not
	// executed directly (an interpreter, wine, rundll32).
	Runner []string `json:"runner,omitempty"`
	// Windows API calls (runs under Wine): counted, kept, and whether the
	// budget cut some.
	APICalls     int  `json:"api_calls,omitempty"`
	APIKept      int  `json:"api_kept,omitempty"`
	APITruncated bool `json:"api_truncated,omitempty"`
	// ProcessesDropped counts processes left out of Processes so that the
	// summary fits one protocol frame (the earliest ones are kept).
	ProcessesDropped int `json:"processes_dropped,omitempty"`

	// Bounded is what the host cut when it re-applied the bounds (see
	// Bounder); the host replaces whatever the guest sent here.
	Bounded *Bounded `json:"bounded,omitempty"`
}

// Trace is a whole recorded run as stored by the orchestrator.
type Trace struct {
	Windows []Window `json:"windows"`
	Summary Summary  `json:"summary"`
}

// ErrMalformed is returned for traces that cannot be decoded or violate the
// format's invariants.
var ErrMalformed = errors.New("malformed trace")

// Validate checks the invariants a consumer relies on: windows in order and
// non-overlapping, events inside their window, sane process table.
func (t *Trace) Validate() error {
	var prevEnd int64
	for i, w := range t.Windows {
		if w.Index != i {
			return fmt.Errorf("%w: window %d has index %d", ErrMalformed, i, w.Index)
		}
		if w.End < w.Start || w.Start < prevEnd {
			return fmt.Errorf("%w: window %d spans [%d,%d) after %d", ErrMalformed, i, w.Start, w.End, prevEnd)
		}
		prevEnd = w.End
		for c, n := range w.Counts {
			if n < 0 {
				return fmt.Errorf("%w: window %d negative count for %q", ErrMalformed, i, c)
			}
		}
		if w.Dropped < 0 || w.APIDropped < 0 {
			return fmt.Errorf("%w: window %d negative dropped count", ErrMalformed, i)
		}
		for c, n := range w.APICounts {
			if n < 0 {
				return fmt.Errorf("%w: window %d negative API count for %q", ErrMalformed, i, c)
			}
		}
	}
	for _, p := range t.Summary.Processes {
		if p.PID <= 0 {
			return fmt.Errorf("%w: process with pid %d", ErrMalformed, p.PID)
		}
	}
	return nil
}

// Events returns all kept events of the trace in time order.
func (t *Trace) Events() []Event {
	var out []Event
	for _, w := range t.Windows {
		out = append(out, w.Events...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out
}

// APICalls returns all kept Windows API calls of the trace in time order.
func (t *Trace) APICalls() []APICall {
	var out []APICall
	for _, w := range t.Windows {
		out = append(out, w.API...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out
}

// WriteJSONL writes the trace as JSON lines: one {"window":...} line per
// window and a final {"summary":...} line. This is the on-disk artifact
// format (gzip-compressed by the orchestrator).
func (t *Trace) WriteJSONL(w io.Writer) error {
	jw := NewJSONLWriter(w)
	for i := range t.Windows {
		if err := jw.Window(&t.Windows[i]); err != nil {
			return err
		}
	}
	return jw.Summary(&t.Summary)
}

// JSONLWriter streams a trace in the JSONL format, window by window, so a
// whole trace never has to be held in memory.
type JSONLWriter struct{ enc *json.Encoder }

// NewJSONLWriter returns a JSONLWriter on w.
func NewJSONLWriter(w io.Writer) *JSONLWriter { return &JSONLWriter{enc: json.NewEncoder(w)} }

// Window writes one window line.
func (j *JSONLWriter) Window(w *Window) error { return j.enc.Encode(line{Window: w}) }

// Summary writes the final summary line.
func (j *JSONLWriter) Summary(s *Summary) error { return j.enc.Encode(line{Summary: s}) }

type line struct {
	Window  *Window  `json:"window,omitempty"`
	Summary *Summary `json:"summary,omitempty"`
}

// MaxLineBytes bounds one line of a JSONL trace when reading.
const MaxLineBytes = 64 << 20

// ReadEvents is the kept-call budget ReadJSONL applies: well above what the
// orchestrator keeps per run, so a trace it stored is read whole.
const ReadEvents = 1_000_000

// ReadJSONL reads a trace written by WriteJSONL. It rejects lines longer than
// MaxLineBytes and traces that fail Validate, and applies the Bounder's
// limits with MaxEvents ReadEvents and the default kept bytes: calls past
// them are counted as dropped, not kept (see ReadJSONLLimits).
func ReadJSONL(r io.Reader) (*Trace, error) {
	return ReadJSONLLimits(r, Limits{MaxEvents: ReadEvents})
}

// ReadJSONLLimits reads a trace like ReadJSONL under the given limits. What
// was cut is added to the summary's Bounded (which keeps what the host cut
// when it recorded the trace).
func ReadJSONLLimits(r io.Reader, lim Limits) (*Trace, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	bd := NewBounder(lim)
	t := &Trace{}
	sawSummary := false
	n := 0
	for sc.Scan() {
		n++
		b := sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		w, sum, err := readLine(bd, b)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		switch {
		case w != nil:
			if sawSummary {
				return nil, fmt.Errorf("%w: line %d: window after summary", ErrMalformed, n)
			}
			t.Windows = append(t.Windows, *w)
		case sum != nil:
			if sawSummary {
				return nil, fmt.Errorf("%w: line %d: second summary", ErrMalformed, n)
			}
			t.Summary = *sum
			sawSummary = true
		default:
			return nil, fmt.Errorf("%w: line %d: neither window nor summary", ErrMalformed, n)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: line %d: %v", ErrMalformed, n+1, err)
	}
	if !sawSummary {
		return nil, fmt.Errorf("%w: no summary line (truncated?)", ErrMalformed)
	}
	prior := t.Summary.Bounded
	bd.Summary(&t.Summary)
	if prior != nil {
		merged := *prior
		if t.Summary.Bounded != nil {
			st := *t.Summary.Bounded
			merged.Dropped = addCount(merged.Dropped, st.Dropped)
			merged.APIDropped = addCount(merged.APIDropped, st.APIDropped)
			merged.Cut = addCount(merged.Cut, st.Cut)
			merged.NamesMerged = addCount(merged.NamesMerged, st.NamesMerged)
			merged.ProcessesOmitted = addCount(merged.ProcessesOmitted, st.ProcessesOmitted)
		}
		t.Summary.Bounded = &merged
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// readLine decodes one JSONL line: {"window":...} or {"summary":...}.
func readLine(bd *Bounder, b []byte) (*Window, *Summary, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := expectDelim(dec, '{'); err != nil {
		return nil, nil, err
	}
	var (
		w   *Window
		sum *Summary
	)
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return nil, nil, err
		}
		switch key {
		case "window":
			if !nextIsNull(dec, b) {
				win, err := bd.DecodeWindow(dec, nil)
				if err != nil {
					return nil, nil, err
				}
				w = &win
				continue
			}
			err = skipValue(dec)
		case "summary":
			var s *Summary
			err = decodeValue(dec, &s)
			if s != nil {
				sum = s
			}
		default:
			err = skipValue(dec)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, nil, err
	}
	if err := ExpectEnd(dec); err != nil {
		return nil, nil, err
	}
	if w != nil && sum != nil {
		return nil, nil, malformed("line with both a window and a summary")
	}
	return w, sum, nil
}

// nextIsNull reports whether the next value in dec (reading b) is JSON null.
func nextIsNull(dec *json.Decoder, b []byte) bool {
	rest := bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n:")
	return bytes.HasPrefix(rest, []byte("null"))
}
