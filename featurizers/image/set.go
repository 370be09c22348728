package image

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
)

// Featurizer names and versions. A version changes whenever the output for
// some input would change (width table, padding, resampling filter).
const (
	NameFull       = "byteimage" // full-size Malimg image
	NameResized32  = "byteimage-32"
	NameResized64  = "byteimage-64"
	VersionFull    = "1" // Malimg width table (KB = 1024), zero padding
	VersionResized = "1" // VersionFull + Resize: area averaging down, bilinear up, integer rounding half up
)

// ErrUnknownName is returned (wrapped) by [ByName] for a name it does not know.
var ErrUnknownName = errors.New("unknown byteimage featurizer name")

// Featurizer turns a file's bytes into a features.Set of kind
// features.KindImage: the full Malimg image ([NewFull]) or that image
// resized to a fixed size ([NewResized]). It is immutable and safe for
// concurrent use.
type Featurizer struct {
	name, version string
	width, height int // 0: full size
}

// NewFull returns the "byteimage" featurizer: [FromBytes] unchanged, so the
// image size varies with the file size.
func NewFull() *Featurizer {
	return &Featurizer{name: NameFull, version: VersionFull}
}

// NewResized returns the featurizer producing [FromBytes] resized with
// [Resize] to width x height. It is named "byteimage-N" when square
// (so NewResized(32, 32) is "byteimage-32") and "byteimage-WxH" otherwise.
func NewResized(width, height int) (*Featurizer, error) {
	if width < 1 || height < 1 || width > MaxResizeDim || height > MaxResizeDim {
		return nil, fmt.Errorf("byteimage: size %dx%d (1..%d): %w", width, height, MaxResizeDim, ErrBadSize)
	}
	name := fmt.Sprintf("%s-%dx%d", NameFull, width, height)
	if width == height {
		name = fmt.Sprintf("%s-%d", NameFull, width)
	}
	return &Featurizer{name: name, version: VersionResized, width: width, height: height}, nil
}

// ByName returns the featurizer for a name NewFull or NewResized produces:
// "byteimage", "byteimage-N" or "byteimage-WxH".
func ByName(name string) (*Featurizer, error) {
	if name == NameFull {
		return NewFull(), nil
	}
	rest, ok := strings.CutPrefix(name, NameFull+"-")
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownName, name)
	}
	ws, hs, found := strings.Cut(rest, "x")
	if !found {
		hs = ws
	}
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if err1 != nil || err2 != nil || strconv.Itoa(w) != ws || strconv.Itoa(h) != hs {
		return nil, fmt.Errorf("%w: %q", ErrUnknownName, name)
	}
	f, err := NewResized(w, h)
	if err != nil {
		return nil, err
	}
	if f.name != name { // e.g. "byteimage-32x32" is spelled "byteimage-32"
		return nil, fmt.Errorf("%w: %q (canonical name %q)", ErrUnknownName, name, f.name)
	}
	return f, nil
}

// Name returns the featurizer name, e.g. "byteimage-32".
func (f *Featurizer) Name() string { return f.name }

// Version returns the featurizer version.
func (f *Featurizer) Version() string { return f.version }

// Kind returns features.KindImage.
func (f *Featurizer) Kind() features.Kind { return features.KindImage }

// Size returns the fixed output size, or 0, 0 for the full-size featurizer.
func (f *Featurizer) Size() (width, height int) { return f.width, f.height }

// Featurize returns data's image as a validated feature set. Meta records
// "file_size", "malimg_width", "malimg_height" and "padding" (zero bytes
// added to the last row) and, for resized sets, "resize" (the filter).
// Errors wrap [ErrEmpty], [ErrTooLarge] or [ErrBadSize].
func (f *Featurizer) Featurize(data []byte) (*features.Set, error) {
	img, err := FromBytes(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.name, err)
	}
	meta := map[string]string{
		"file_size":     strconv.Itoa(len(data)),
		"malimg_width":  strconv.Itoa(img.Width),
		"malimg_height": strconv.Itoa(img.Height),
		"padding":       strconv.Itoa(len(img.Pix) - len(data)),
	}
	if f.width > 0 {
		if img, err = Resize(img, f.width, f.height); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		meta["resize"] = "area-down/bilinear-up"
	}
	s := &features.Set{Name: f.name, Version: f.version, Kind: features.KindImage, Image: img, Meta: meta}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", f.name, err)
	}
	return s, nil
}
