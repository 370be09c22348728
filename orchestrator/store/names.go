package store

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen bounds a sample's display name in bytes.
const MaxNameLen = 255

// SanitizeName turns a submitted file name into a display name: the last
// element of a '/' or '\' separated path, with invalid UTF-8 and
// non-printable characters replaced, surrounding space trimmed, at most
// MaxNameLen bytes. It never returns "", "." or "..". The result is for
// display only and is never used as a path.
func SanitizeName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(printable(name, MaxNameLen))
	if name == "" || name == "." || name == ".." {
		return "sample"
	}
	return name
}

// printable replaces invalid UTF-8 and non-printable runes with '?' and cuts
// the result to at most max bytes on a rune boundary.
func printable(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			r = '?'
		}
		if b.Len()+utf8.RuneLen(r) > max {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// validArtifactName accepts a single path element of printable ASCII without
// separators, not starting with a dot (so no ".", ".." or hidden files).
func validArtifactName(name string) error {
	if name == "" || len(name) > 128 || name[0] == '.' {
		return fmt.Errorf("%w: artifact name %q", ErrInvalid, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
		if !ok {
			return fmt.Errorf("%w: artifact name %q", ErrInvalid, name)
		}
	}
	return nil
}

// validSHA256 checks a lowercase hex SHA-256 digest.
func validSHA256(s string) error {
	if len(s) != 64 {
		return fmt.Errorf("%w: sha256 %q: want 64 hex digits", ErrInvalid, printable(s, 80))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("%w: sha256 %q: want lowercase hex", ErrInvalid, printable(s, 80))
		}
	}
	return nil
}
