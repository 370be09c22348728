package image

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	stdimage "image"
	"image/color"
	"image/png"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
)

// ErrDecode is returned (wrapped) for data that is not a decodable PNG.
var ErrDecode = errors.New("not a decodable PNG")

// DecodeLimits bounds what [DecodePNG] will read and decode. Zero fields
// take the defaults of [DefaultLimits].
type DecodeLimits struct {
	MaxFileBytes int64 // encoded PNG size
	MaxWidth     int
	MaxHeight    int
	MaxPixels    int // width*height
}

// DefaultLimits returns the default bounds: a 64 MiB PNG file, 65,536
// pixels wide or high and 32 Mi pixels in all (a 32 MiB file at Malimg's
// widest rows; decoding a 16-bit RGBA PNG of that size takes 256 MB).
func DefaultLimits() DecodeLimits {
	return DecodeLimits{MaxFileBytes: 64 << 20, MaxWidth: 1 << 16, MaxHeight: 1 << 16, MaxPixels: 1 << 25}
}

func (l DecodeLimits) withDefaults() DecodeLimits {
	d := DefaultLimits()
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxWidth <= 0 {
		l.MaxWidth = d.MaxWidth
	}
	if l.MaxHeight <= 0 {
		l.MaxHeight = d.MaxHeight
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = d.MaxPixels
	}
	return l
}

// DecodePNG reads a PNG from r and returns it as an 8-bit grayscale image.
// The encoded size and the dimensions (read with png.DecodeConfig, i.e.
// image.DecodeConfig restricted to PNG, before any pixel is decoded) are
// checked against lim; beyond them the error wraps [ErrTooLarge]. Other
// failures wrap [ErrDecode].
//
// 8-bit gray pixels are taken as they are. Other color models are converted
// with color.GrayModel (luma 0.299R+0.587G+0.114B, 16-bit gray keeps its
// high byte); alpha is ignored after Go's premultiplication, so a fully
// transparent pixel becomes 0.
func DecodePNG(r io.Reader, lim DecodeLimits) (*features.Image, error) {
	lim = lim.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("png: read: %w", err)
	}
	if int64(len(data)) > lim.MaxFileBytes {
		return nil, fmt.Errorf("png: more than %d bytes: %w", lim.MaxFileBytes, ErrTooLarge)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("png: %w: %w", ErrDecode, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("png: %w: %dx%d image", ErrDecode, cfg.Width, cfg.Height)
	}
	if cfg.Width > lim.MaxWidth || cfg.Height > lim.MaxHeight || cfg.Width > lim.MaxPixels/cfg.Height {
		return nil, fmt.Errorf("png: %dx%d exceeds limits (%dx%d, %d pixels): %w",
			cfg.Width, cfg.Height, lim.MaxWidth, lim.MaxHeight, lim.MaxPixels, ErrTooLarge)
	}
	m, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("png: %w: %w", ErrDecode, err)
	}
	return toGray(m), nil
}

// ReadPNGFile opens path and decodes it with [DecodePNG]; a file larger
// than lim.MaxFileBytes is rejected before it is read. Errors are
// [*FileError] values naming the path.
func ReadPNGFile(path string, lim DecodeLimits) (*features.Image, error) {
	lim = lim.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, &FileError{Path: path, Err: err}
	} else if st.Size() > lim.MaxFileBytes {
		return nil, &FileError{Path: path, Err: fmt.Errorf("png: %d bytes, limit %d: %w", st.Size(), lim.MaxFileBytes, ErrTooLarge)}
	}
	img, err := DecodePNG(f, lim)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	return img, nil
}

// EncodePNG writes img as an 8-bit grayscale PNG. An inconsistent img
// wraps features.ErrInvalid.
func EncodePNG(w io.Writer, img *features.Image) error {
	g, err := ToGray(img)
	if err != nil {
		return err
	}
	if err := png.Encode(w, g); err != nil {
		return fmt.Errorf("png: encode: %w", err)
	}
	return nil
}

// WritePNGFile writes img to path with [EncodePNG].
func WritePNGFile(path string, img *features.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := EncodePNG(f, img); err != nil {
		f.Close()
		return &FileError{Path: path, Err: err}
	}
	return f.Close()
}

// ToGray returns img as a standard library *image.Gray sharing its pixels.
func ToGray(img *features.Image) (*stdimage.Gray, error) {
	if img == nil || img.Width <= 0 || img.Height <= 0 || len(img.Pix) != img.Width*img.Height {
		return nil, fmt.Errorf("%w: image dimensions do not match its pixels", features.ErrInvalid)
	}
	return &stdimage.Gray{Pix: img.Pix, Stride: img.Width, Rect: stdimage.Rect(0, 0, img.Width, img.Height)}, nil
}

// toGray converts any decoded image to a tight row-major 8-bit gray image.
func toGray(m stdimage.Image) *features.Image {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	out := &features.Image{Width: w, Height: h, Pix: make([]byte, w*h)}
	switch m := m.(type) {
	case *stdimage.Gray:
		for y := range h {
			copy(out.Pix[y*w:(y+1)*w], m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):])
		}
	case *stdimage.Paletted:
		var lut [256]byte
		for i, c := range m.Palette[:min(len(m.Palette), 256)] {
			lut[i] = color.GrayModel.Convert(c).(color.Gray).Y
		}
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				out.Pix[y*w+x] = lut[row[x]]
			}
		}
	default:
		for y := range h {
			for x := range w {
				out.Pix[y*w+x] = color.GrayModel.Convert(m.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
			}
		}
	}
	return out
}

// FileError is an error about one file, naming it.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }

// Unwrap returns the underlying error, so errors.Is(err, ErrTooLarge) works.
func (e *FileError) Unwrap() error { return e.Err }
