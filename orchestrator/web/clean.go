package web

import (
	"fmt"
	"html/template"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// Clean neutralises a guest- or submitter-controlled string for display:
// control characters (C0, DEL, C1: an ANSI escape's ESC among them),
// bidirectional formatting characters (U+061C, U+200E, U+200F,
// U+202A-U+202E, U+2066-U+2069) and invalid UTF-8 become visible escapes
// (\x1b, \u202e), so a name cannot reorder or hide what surrounds it. HTML
// escaping is html/template's job and happens after.
func Clean(s string) string {
	clean := true
	for i, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || isBidi(r) {
			_ = i
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x80 && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || isBidi(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func isBidi(r rune) bool {
	return r == 0x061c || r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// short cleans s and cuts it to n runes with an ellipsis.
func short(s string, n int) string {
	s = Clean(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

var funcs = template.FuncMap{
	"clean": Clean,
	"short": short,
	"join": func(a []string) string {
		out := make([]string, len(a))
		for i, s := range a {
			out[i] = Clean(s)
		}
		return strings.Join(out, " ")
	},
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"ms":  func(ns int64) string { return fmt.Sprintf("%.3f s", float64(ns)/1e9) },
	"dur": func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"pct": func(p float64) string { return fmt.Sprintf("%.1f%%", 100*p) },
	"f3":  func(f float64) string { return fmt.Sprintf("%+.3f", f) },
	"f2":  func(f float64) string { return fmt.Sprintf("%.2f", f) },
	"verdictClass": func(v *jobs.VerdictBrief) string {
		if v == nil {
			return "none"
		}
		return v.Label
	},
	"active": func(s jobs.State) bool { return !s.Final() },
	"add":    func(a, b int) int { return a + b },
	"sub":    func(a, b int) int { return a - b },
	"bytes": func(n int64) string {
		switch {
		case n >= 1<<20:
			return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
		case n >= 1<<10:
			return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
		}
		return fmt.Sprintf("%d B", n)
	},
}
