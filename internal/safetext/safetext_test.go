package safetext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"plain text", 0, "plain text"},
		{"a\tb\nc\r", 0, "a b c "},
		{"\x1b[2J\x1b]0;title\x07x", 0, "[2J]0;titlex"},
		{"del\x7f c1\u0085\u009b", 0, "del c1"},
		{"ab\u202edc\u2066x\u2069", 0, "abdcx"},
		{"bad\xffutf8", 0, "bad\uFFFDutf8"},
		{"héllo wörld", 8, "héll…"},
		{"exactly8", 8, "exactly8"},
		{strings.Repeat("é", 10), 7, "éé…"},
	}
	for _, c := range cases {
		if got := Clean(c.in, c.max); got != c.want {
			t.Errorf("Clean(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

func FuzzClean(f *testing.F) {
	f.Add("\x1b[31mred\u202e", 10)
	f.Add(strings.Repeat("é", 100), 7)
	f.Fuzz(func(t *testing.T, s string, max int) {
		max %= 4096
		got := Clean(s, max)
		if !IsClean(got) || !utf8.ValidString(got) {
			t.Fatalf("Clean(%q) = %q is not clean", s, got)
		}
		if max > len(Ellipsis) && len(got) > max {
			t.Fatalf("Clean(%q, %d) = %d bytes", s, max, len(got))
		}
	})
}
