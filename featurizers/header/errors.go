package header

import (
	"errors"
	"fmt"
)

// Sentinel error kinds. Every parse error wraps exactly one of them.
var (
	// ErrNotPE: the input does not start with an MZ header leading to a PE
	// signature.
	ErrNotPE = errors.New("not a PE file")
	// ErrNotELF: the input does not start with the ELF magic or has an
	// unknown class or byte order.
	ErrNotELF = errors.New("not an ELF file")
	// ErrTruncated: a header or table lies (partly) past the end of the input.
	ErrTruncated = errors.New("truncated input")
	// ErrMalformed: a field holds a value no valid file has (a count over its
	// cap, an impossible size, a loop in a tree).
	ErrMalformed = errors.New("malformed header")
	// ErrTooLarge: the input is larger than the configured maximum size.
	ErrTooLarge = errors.New("input too large")
)

// DefaultMaxFileSize is the largest input the parsers accept by default.
const DefaultMaxFileSize = 256 << 20

func truncated(what string, off, n uint64, size int) error {
	return fmt.Errorf("%w: %s needs bytes [%d, %d) of %d", ErrTruncated, what, off, off+n, size)
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}
