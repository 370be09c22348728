package image

import (
	"errors"
	"fmt"
	"io"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
)

// MaxFileSize is the largest input FromBytes accepts: 64 MiB, which at the
// table's widest rows (1024) is an image of 65,536 rows. Malimg files are
// far smaller (the largest are a few MB).
const MaxFileSize = 64 << 20

var (
	// ErrEmpty is returned (wrapped) for an empty input.
	ErrEmpty = errors.New("empty input")
	// ErrTooLarge is returned (wrapped) for an input, PNG file or decoded
	// image beyond the configured bound.
	ErrTooLarge = errors.New("input too large")
	// ErrBadSize is returned (wrapped) for an invalid width or height.
	ErrBadSize = errors.New("invalid image size")
)

// FromBytes returns data as a Malimg-style grayscale image: one pixel per
// byte, row by row, with the row width chosen by [WidthFor](len(data)) and
// height ceil(len(data)/width). The last row is padded with zero bytes, so
// Pix is the input followed by Width*Height-len(data) zeros (fewer than
// Width). The input is copied. Inputs of more than [MaxFileSize] bytes get
// an error wrapping [ErrTooLarge]; empty inputs an error wrapping [ErrEmpty].
func FromBytes(data []byte) (*features.Image, error) {
	return FromBytesWidth(data, WidthFor(len(data)))
}

// FromBytesWidth is [FromBytes] with an explicit row width (1 to 65,536).
func FromBytesWidth(data []byte, width int) (*features.Image, error) {
	switch {
	case len(data) == 0:
		return nil, fmt.Errorf("bytes to image: %w", ErrEmpty)
	case len(data) > MaxFileSize:
		return nil, fmt.Errorf("bytes to image: %d bytes, limit %d: %w", len(data), MaxFileSize, ErrTooLarge)
	case width < 1 || width > 1<<16:
		return nil, fmt.Errorf("bytes to image: width %d: %w", width, ErrBadSize)
	}
	h := (len(data) + width - 1) / width
	pix := make([]byte, width*h)
	copy(pix, data)
	return &features.Image{Width: width, Height: h, Pix: pix}, nil
}

// FromReader reads at most [MaxFileSize] bytes from r and returns them as an
// image as [FromBytes] does; a longer stream is an error wrapping
// [ErrTooLarge] (it is not truncated).
func FromReader(r io.Reader) (*features.Image, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("bytes to image: read: %w", err)
	}
	return FromBytes(data)
}
