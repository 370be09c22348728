package header

import (
	"encoding/binary"
	"fmt"
	"io"
)

// span returns b[off:off+n] or an ErrTruncated error; it never panics, even
// when off+n overflows.
func span(b []byte, off, n uint64, what string) ([]byte, error) {
	size := uint64(len(b))
	if off > size || n > size-off {
		return nil, truncated(what, off, n, len(b))
	}
	return b[off : off+n], nil
}

// le16/le32/le64 read little-endian integers at off from a slice already
// known to be long enough.
func le16(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
func le32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func le64(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }

// ReadAll reads at most max bytes of size from r. It returns an error
// wrapping ErrTooLarge when size exceeds max, so callers that hold an
// io.ReaderAt never allocate more than max.
func ReadAll(r io.ReaderAt, size, max int64) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxFileSize
	}
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size %d", ErrMalformed, size)
	}
	if size > max {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, size, max)
	}
	b := make([]byte, size)
	n, err := r.ReadAt(b, 0)
	if int64(n) == size {
		return b, nil
	}
	if err == nil || err == io.EOF {
		return nil, fmt.Errorf("%w: read %d of %d bytes", ErrTruncated, n, size)
	}
	return nil, fmt.Errorf("reading input: %w", err)
}
