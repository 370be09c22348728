// Package relay parses the lines of Wine's relay debug channel
// (WINEDEBUG=+relay), which logs every call a program makes into a DLL of
// Wine, and defines the recorded Windows API set that limits the channel
// (RelayInclude).
//
// Wine 8.0 writes one line per call and one per return, on stderr:
//
//	[ticks.ms:][pid:]tid:Call Module.Func(arg,arg,...) ret=caller
//	[ticks.ms:][pid:]tid:Ret  Module.Func() retval=value ret=caller
//
// The ticks prefix comes with +timestamp, the pid with +pid; pid and tid
// are hex (%04x). Arguments are hex numbers; a string argument is its address
// followed by the string as Wine's debugstr_a/debugstr_w print it:
// "C:\\x.txt" or L"C:\\x.txt", with \\ \" \n \r \t escaped, other bytes of a
// narrow string as \xHH, other characters of a wide string as \HHHH, and
// "..." after the closing quote when Wine cut a long string (about 300
// bytes). An export without a name shows as Module.123 (the ordinal).
// Everything else on the channel (Wine's own trace/err/fixme lines, the
// "Call PE DLL (...)" lines of DLL entry points, the program's own stderr) is
// not a relay line: Parse returns ErrNotRelay for it (see ParseDLLEntry for
// the entry-point lines, which tell which modules were loaded).
package relay

//go:generate go run ./internal/mknames -datasets ../../../shared/datasets -wine /usr/lib/x86_64-linux-gnu/wine -o znames.go

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Kind is the kind of a relay line.
type Kind int

const (
	Call Kind = iota + 1 // a call entered a DLL function
	Ret                  // the call returned
)

func (k Kind) String() string {
	switch k {
	case Call:
		return "Call"
	case Ret:
		return "Ret"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Line is one parsed relay line.
type Line struct {
	Kind   Kind
	PID    int      // Windows pid when the line carries one (WINEDEBUG +pid), else 0
	TID    int      // Windows thread id (hex in the log)
	Module string   // "KERNEL32", "ntdll", ...
	Func   string   // "CreateFileA"; the ordinal's number ("123") for an export without a name, as Wine prints it
	Args   []string // Call only: raw argument texts, at most MaxArgs entries of at most MaxArgLen bytes each
	Path   string   // Call only: first string argument (file path, registry key, module name), unescaped, at most MaxPath bytes
	Retval string   // Ret only: "retval=" value
	Caller string   // the "ret=" return address
	// Truncated is set for a Call line that ends before its ") ret=" (a line
	// cut short): Args holds what was there, the last entry possibly partial.
	Truncated bool
}

// Bounds on what Parse keeps of one line.
const (
	MaxArgs   = 16
	MaxArgLen = 256
	MaxPath   = 4096
	MaxLine   = 64 << 10 // bytes of a line looked at; the rest is ignored
	maxName   = 128      // bytes of a module or function name
	maxHexLen = 16       // digits of pid, tid, retval, ret
)

// ErrNotRelay is returned (wrapped) for a line that is not a relay Call or Ret
// line.
var ErrNotRelay = errors.New("not a relay line")

func notRelay(why string) error { return fmt.Errorf("%w: %s", ErrNotRelay, why) }

// Parse parses one line without its newline (a trailing "\r" is ignored).
// Lines that are not relay Call/Ret lines give ErrNotRelay (wrapped). It never
// panics and allocates O(len(line)), bounded by the Max constants.
func Parse(line []byte) (Line, error) {
	if len(line) > MaxLine {
		line = line[:MaxLine]
	}
	line = bytes.TrimSuffix(line, []byte{'\r'})
	var l Line
	rest, ok := parsePrefix(line, &l)
	if !ok {
		return Line{}, notRelay("no thread prefix")
	}
	switch {
	case bytes.HasPrefix(rest, []byte("Call ")):
		l.Kind = Call
		rest = rest[len("Call "):]
	case bytes.HasPrefix(rest, []byte("Ret ")):
		l.Kind = Ret
		rest = rest[len("Ret "):]
	default:
		return Line{}, notRelay("neither Call nor Ret")
	}
	rest = bytes.TrimLeft(rest, " ")
	open := bytes.IndexByte(rest, '(')
	if open <= 0 {
		return Line{}, notRelay("no argument list")
	}
	name := rest[:open]
	dot := bytes.LastIndexByte(name, '.')
	if dot <= 0 || dot == len(name)-1 || !isName(name[:dot]) || !isName(name[dot+1:]) {
		return Line{}, notRelay("no Module.Func name")
	}
	l.Module = string(name[:dot])
	l.Func = string(name[dot+1:])
	rest = rest[open+1:]
	if l.Kind == Ret {
		return parseRet(rest, l)
	}
	return parseCall(rest, l), nil
}

// parsePrefix reads "[ticks.ms:][pid:]tid:" and returns what follows.
func parsePrefix(b []byte, l *Line) ([]byte, bool) {
	// Optional +timestamp: "%3u.%03u:" (leading spaces for small values).
	t := bytes.TrimLeft(b, " ")
	if i := bytes.IndexByte(t, ':'); i > 0 {
		if d := bytes.IndexByte(t[:i], '.'); d > 0 && allDigits(t[:d]) && allDigits(t[d+1:i]) && i-d-1 == 3 {
			b = t[i+1:]
		}
	}
	var ids [2]int
	n := 0
	for n < 2 {
		i := 0
		for i < len(b) && i <= maxHexLen && isHex(b[i]) {
			i++
		}
		if i == 0 || i > 8 || i >= len(b) || b[i] != ':' {
			break
		}
		v, err := strconv.ParseUint(string(b[:i]), 16, 32)
		if err != nil {
			return nil, false
		}
		ids[n] = int(v)
		n++
		b = b[i+1:]
	}
	switch n {
	case 1:
		l.TID = ids[0]
	case 2:
		l.PID, l.TID = ids[0], ids[1]
	default:
		return nil, false
	}
	return b, true
}

// parseRet reads ") retval=V ret=C" after "Ret  Module.Func(".
func parseRet(b []byte, l Line) (Line, error) {
	if len(b) == 0 || b[0] != ')' {
		return Line{}, notRelay("Ret line with arguments")
	}
	for _, f := range bytes.Fields(b[1:]) {
		switch {
		case bytes.HasPrefix(f, []byte("retval=")):
			l.Retval = hexField(f[len("retval="):])
		case bytes.HasPrefix(f, []byte("ret=")):
			l.Caller = hexField(f[len("ret="):])
		}
	}
	return l, nil
}

// parseCall reads "arg,arg,...) ret=C" after "Call Module.Func(". A line cut
// before ") ret=" gives the arguments seen so far and Truncated.
func parseCall(b []byte, l Line) Line {
	i := 0
	start := 0
	depth := 0 // {...} of i386 int128 arguments
	pathSet := false
	emit := func(arg []byte) {
		arg = bytes.TrimSpace(arg)
		if !pathSet {
			if p, ok := firstString(arg); ok {
				l.Path, pathSet = p, true
			}
		}
		if len(l.Args) < MaxArgs {
			if len(arg) > MaxArgLen {
				arg = trimUTF8(arg[:MaxArgLen])
			}
			l.Args = append(l.Args, string(arg))
		}
	}
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			i = skipString(b, i+1)
			continue
		case c == '{':
			depth++
		case c == '}':
			if depth > 0 {
				depth--
			}
		case c == ',' && depth == 0:
			emit(b[start:i])
			start = i + 1
		case c == ')' && depth == 0 && bytes.HasPrefix(b[i+1:], []byte(" ret=")):
			if i > start || len(l.Args) > 0 {
				emit(b[start:i])
			}
			l.Caller = hexField(b[i+len(") ret="):])
			return l
		}
		i++
	}
	// Cut short: keep what is there.
	if len(bytes.TrimSpace(b[start:])) > 0 {
		emit(b[start:])
	}
	l.Truncated = true
	return l
}

// skipString returns the index after the closing quote of a string whose
// first content byte is at i (or len(b) if it never closes).
func skipString(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case '\\':
			i += 2
			continue
		case '"':
			return i + 1
		}
		i++
	}
	return len(b)
}

// firstString returns the unescaped string of an argument "addr "str"" or
// "addr L"str"" (possibly followed by "..." or cut short).
func firstString(arg []byte) (string, bool) {
	q := bytes.IndexByte(arg, '"')
	if q < 0 {
		return "", false
	}
	wide := q > 0 && arg[q-1] == 'L'
	// The text before the quote must be "hex " or "hex L".
	head := arg[:q]
	if wide {
		head = head[:len(head)-1]
	}
	head = bytes.TrimRight(head, " ")
	if len(head) == 0 || !allHex(head) {
		return "", false
	}
	return unescape(arg[q+1:], wide), true
}

// unescape decodes Wine's debugstr escapes up to the closing quote, keeping
// at most MaxPath bytes.
func unescape(b []byte, wide bool) string {
	out := make([]byte, 0, min(len(b), MaxPath))
	put := func(p []byte) bool {
		if len(out)+len(p) > MaxPath {
			return false
		}
		out = append(out, p...)
		return true
	}
	var rb [utf8.UTFMax]byte
	var high rune // pending high surrogate of a wide string
	flushHigh := func() bool {
		if high == 0 {
			return true
		}
		n := utf8.EncodeRune(rb[:], utf8.RuneError)
		high = 0
		return put(rb[:n])
	}
	for i := 0; i < len(b); {
		c := b[i]
		if c == '"' {
			break
		}
		if c != '\\' || i+1 >= len(b) {
			if !flushHigh() || !put(b[i:i+1]) {
				break
			}
			i++
			continue
		}
		e := b[i+1]
		var lit byte
		switch e {
		case 'n':
			lit = '\n'
		case 'r':
			lit = '\r'
		case 't':
			lit = '\t'
		case '"', '\\':
			lit = e
		}
		if lit != 0 {
			if !flushHigh() || !put([]byte{lit}) {
				break
			}
			i += 2
			continue
		}
		if !wide && e == 'x' && i+4 <= len(b) && allHex(b[i+2:i+4]) {
			v, _ := strconv.ParseUint(string(b[i+2:i+4]), 16, 8)
			if !put([]byte{byte(v)}) {
				break
			}
			i += 4
			continue
		}
		if wide && i+5 <= len(b) && allHex(b[i+1:i+5]) {
			v, _ := strconv.ParseUint(string(b[i+1:i+5]), 16, 16)
			r := rune(v)
			i += 5
			switch {
			case utf16.IsSurrogate(r) && r < 0xdc00:
				if !flushHigh() {
					return string(out)
				}
				high = r
				continue
			case utf16.IsSurrogate(r) && high != 0:
				r = utf16.DecodeRune(high, r)
				high = 0
			case utf16.IsSurrogate(r):
				r = utf8.RuneError
			default:
				if !flushHigh() {
					return string(out)
				}
			}
			n := utf8.EncodeRune(rb[:], r)
			if !put(rb[:n]) {
				break
			}
			continue
		}
		// An escape Wine does not write: keep it as it is.
		if !flushHigh() || !put(b[i:i+1]) {
			break
		}
		i++
	}
	flushHigh()
	return string(out)
}

// ParseDLLEntry reads the line Wine's relay channel writes when it calls a
// DLL's entry point, `tid:Call PE DLL (proc=...,module=... L"ntdll.dll",
// reason=PROCESS_ATTACH,...)`, and returns the module's file name and the
// reason (PROCESS_ATTACH, THREAD_ATTACH, ...). ok is false for any other line.
// A PROCESS_ATTACH names a module the process loaded.
func ParseDLLEntry(line []byte) (pid, tid int, module, reason string, ok bool) {
	if len(line) > MaxLine {
		line = line[:MaxLine]
	}
	var l Line
	rest, good := parsePrefix(line, &l)
	if !good || !bytes.HasPrefix(rest, []byte("Call PE DLL (")) {
		return 0, 0, "", "", false
	}
	rest = rest[len("Call PE DLL ("):]
	m := bytes.Index(rest, []byte("module="))
	r := bytes.Index(rest, []byte("reason="))
	if m < 0 || r < 0 {
		return 0, 0, "", "", false
	}
	mod, good := firstString(bytes.SplitN(rest[m+len("module="):], []byte(","), 2)[0])
	if !good {
		return 0, 0, "", "", false
	}
	reason = string(bytes.SplitN(rest[r+len("reason="):], []byte(","), 2)[0])
	if len(reason) > maxName {
		reason = reason[:maxName]
	}
	return l.PID, l.TID, mod, reason, true
}

// Names is the recorded API set (function names), sorted: every name of the
// MalBehavD-V1 and Mal-API-2019 vocabularies that a DLL of Wine exports,
// spelled as Wine exports it (znames.go, generated by internal/mknames).
func Names() []string {
	out := append([]string(nil), names...)
	sort.Strings(out)
	return out
}

// NotRelayed lists the vocabulary's names that Wine cannot relay because no
// DLL of Wine exports them: Cuckoo's pseudo-APIs (__process__, __anomaly__,
// __exception__, __missing__), COM methods and browser hooks
// (IWbemServices_ExecQuery, cdocument_write, ...) and functions Wine 8.0 does
// not export (NtCreateProcessEx, ...).
func NotRelayed() []string {
	out := append([]string(nil), notRelayed...)
	sort.Strings(out)
	return out
}

// Include is the RelayInclude value (semicolon-separated) that limits Wine's
// relay channel to the recorded API set. Wine 8 matches an entry without a
// dot against the function name of every DLL, case-sensitively.
func Include() string { return strings.Join(Names(), ";") }

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func allHex(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isHex(c) {
			return false
		}
	}
	return true
}

func allDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isName accepts a module or function name as Wine prints it: no spaces,
// quotes or parentheses, bounded length.
func isName(b []byte) bool {
	if len(b) == 0 || len(b) > maxName {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || c == '(' || c == ')' || c == '"' || c == ',' || c == ':' {
			return false
		}
	}
	return true
}

// hexField returns the leading hex digits of b (at most maxHexLen).
func hexField(b []byte) string {
	i := 0
	for i < len(b) && i < maxHexLen && isHex(b[i]) {
		i++
	}
	return string(b[:i])
}

// trimUTF8 drops a partial UTF-8 sequence at the end of b.
func trimUTF8(b []byte) []byte {
	for k := 0; k < utf8.UTFMax && len(b) > 0; k++ {
		r, size := utf8.DecodeLastRune(b)
		if r != utf8.RuneError || size != 1 {
			return b
		}
		if b[len(b)-1] < 0x80 {
			return b
		}
		b = b[:len(b)-1]
	}
	return b
}
