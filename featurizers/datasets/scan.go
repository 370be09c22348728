package datasets

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// lineScanner reads separator-delimited tokens line by line without holding
// a whole line: memory is bounded by MaxCallBytes per token, however long the
// line (some traces are one 12 MB line).
type lineScanner struct {
	r     *bufio.Reader
	file  string
	lim   Limits
	comma bool // ',' separates tokens too
	line  int  // 1-based number of the line being read
	tok   []byte
}

func newLineScanner(r io.Reader, file string, lim Limits, comma bool) *lineScanner {
	return &lineScanner{r: bufio.NewReaderSize(r, 64<<10), file: file, lim: lim, comma: comma,
		tok: make([]byte, 0, 64)}
}

// scanLine reads the next line and calls fn for each non-empty token. It
// returns io.EOF (unwrapped) when no bytes were left to read.
func (s *lineScanner) scanLine(fn func(tok []byte) error) error {
	s.line++
	n := 0
	s.tok = s.tok[:0]
	flush := func() error {
		if len(s.tok) == 0 {
			return nil
		}
		err := fn(s.tok)
		s.tok = s.tok[:0]
		return err
	}
	for {
		b, err := s.r.ReadByte()
		if errors.Is(err, io.EOF) {
			if n == 0 {
				return io.EOF
			}
			return flush()
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return formatErr(s.file, s.line, "truncated input")
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", s.file, s.line, err)
		}
		n++
		if n > s.lim.MaxLineBytes {
			return fmt.Errorf("%w: %s:%d: line longer than %d bytes", ErrLimit, s.file, s.line, s.lim.MaxLineBytes)
		}
		switch {
		case b == '\n':
			return flush()
		case b == ' ' || b == '\t' || b == '\r' || (s.comma && b == ','):
			if err := flush(); err != nil {
				return err
			}
		case b < 0x20 || b == 0x7f:
			return formatErr(s.file, s.line, "control byte 0x%02x", b)
		default:
			if len(s.tok) >= s.lim.MaxCallBytes {
				return formatErr(s.file, s.line, "token longer than %d bytes", s.lim.MaxCallBytes)
			}
			s.tok = append(s.tok, b)
		}
	}
}

// atoi parses a small non-negative decimal number.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
