package host

import (
	"bytes"
	"strings"
	"sync"
)

// stderrTail formats what the plugin last wrote to stderr for error
// messages: its panic, when it panicked, else its last lines; p.mu held.
func (p *Plugin) stderrTail() string {
	s := strings.TrimSpace(p.stderr.String())
	if s == "" {
		return ""
	}
	return "; stderr ends: " + s
}

// tail keeps the last n bytes written to a plugin's stderr, and separately
// the start of a Go panic or fatal error ("panic: …", the goroutine and its
// top frames), which a long stack trace would otherwise push out of the
// window. go-plugin writes stderr one line per Write, then "\n".
type tail struct {
	mu       sync.Mutex
	n        int
	buf      []byte
	panicked []byte // from the first "panic: " line on, bounded by panicMax
}

// panicMax bounds the kept start of a panic.
const panicMax = 2048

func newTail(n int) *tail { return &tail{n: n} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	lineStart := len(t.buf) == 0 || t.buf[len(t.buf)-1] == '\n'
	if t.panicked == nil && lineStart && (bytes.HasPrefix(p, []byte("panic: ")) || bytes.HasPrefix(p, []byte("fatal error: "))) {
		t.panicked = []byte{}
	}
	if t.panicked != nil && len(t.panicked) < panicMax {
		t.panicked = append(t.panicked, p[:min(len(p), panicMax-len(t.panicked))]...)
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.n {
		t.buf = append([]byte{}, t.buf[len(t.buf)-t.n:]...)
	}
	return len(p), nil
}

// String returns the panic (its line, the goroutine and the top frame) if
// there was one, else the last 8 lines, joined by " | ".
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.panicked != nil {
		var keep [][]byte
		for _, l := range bytes.Split(t.panicked, []byte("\n")) {
			if l = bytes.TrimSpace(l); len(l) > 0 && len(keep) < 4 {
				keep = append(keep, l)
			}
		}
		return string(bytes.Join(keep, []byte(" | ")))
	}
	lines := bytes.Split(bytes.TrimSpace(t.buf), []byte("\n"))
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return string(bytes.Join(lines, []byte(" | ")))
}

func (t *tail) reset() {
	t.mu.Lock()
	t.buf, t.panicked = nil, nil
	t.mu.Unlock()
}
