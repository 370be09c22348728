// Package safetext makes untrusted text (from a guest, from the API) safe
// to store and to print on a terminal: bounded in length, valid UTF-8, with
// no control characters and no bidirectional overrides.
package safetext

import (
	"strings"
	"unicode/utf8"
)

// Ellipsis marks text that Clean cut.
const Ellipsis = "…"

// Unsafe reports whether r is removed by Clean: C0 controls, DEL, C1
// controls, and the bidirectional embeddings, overrides and isolates
// (U+202A-U+202E, U+2066-U+2069) that can reorder what a terminal shows.
func Unsafe(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// Clean returns s with tabs and line breaks turned into spaces, every other
// Unsafe rune removed, invalid UTF-8 replaced by U+FFFD, and cut to at most
// max bytes (ending in Ellipsis when cut; max <= 0 means no bound). Text
// that needs no change is returned as is.
func Clean(s string, max int) string {
	if IsClean(s) && (max <= 0 || len(s) <= max) {
		return s
	}
	var b strings.Builder
	limit := len(s)
	if max > 0 && max < limit {
		limit = max
	}
	b.Grow(limit)
	cut := false
	for i, r := range s {
		var out string
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			out = " "
		case r == utf8.RuneError:
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				out = "\uFFFD"
			} else {
				out = string(r)
			}
		case Unsafe(r):
			continue
		default:
			out = s[i : i+utf8.RuneLen(r)]
		}
		if max > 0 && b.Len()+len(out) > max-len(Ellipsis) {
			// Keep room for the ellipsis unless the rest fits exactly.
			if rest := s[i:]; b.Len()+len(rest) <= max && IsClean(rest) {
				b.WriteString(rest)
				return b.String()
			}
			cut = true
			break
		}
		b.WriteString(out)
	}
	if cut {
		b.WriteString(Ellipsis)
	}
	return b.String()
}

// IsClean reports whether s is valid UTF-8 without Unsafe runes.
func IsClean(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if Unsafe(r) {
			return false
		}
	}
	return true
}
