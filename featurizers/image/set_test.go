package image

import (
	"bytes"
	"errors"
	"testing"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
)

func TestFeaturizers(t *testing.T) {
	data := bytes.Repeat([]byte{0xAA, 0x55, 0, 0xFF}, 5000) // 20,000 bytes: width 64
	full := NewFull()
	s, err := full.Featurize(data)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "byteimage" || s.Version != VersionFull || s.Kind != features.KindImage {
		t.Errorf("full set header %q %q %q", s.Name, s.Version, s.Kind)
	}
	if s.Image.Width != 64 || s.Image.Height != 313 || s.Meta["padding"] != "32" || s.Meta["file_size"] != "20000" {
		t.Errorf("full set %dx%d meta %v", s.Image.Width, s.Image.Height, s.Meta)
	}
	for _, n := range []int{32, 64} {
		f, err := NewResized(n, n)
		if err != nil {
			t.Fatal(err)
		}
		s, err := f.Featurize(data)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		if s.Image.Width != n || s.Image.Height != n || s.Version != VersionResized || s.Meta["resize"] == "" {
			t.Errorf("%s: %dx%d %v", s.Name, s.Image.Width, s.Image.Height, s.Meta)
		}
		if w, h := f.Size(); w != n || h != n || f.Kind() != features.KindImage {
			t.Errorf("%s: Size %d,%d", f.Name(), w, h)
		}
	}
	if _, err := full.Featurize(nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
	if _, err := NewResized(0, 3); !errors.Is(err, ErrBadSize) {
		t.Errorf("NewResized(0,3): %v", err)
	}
}

func TestByName(t *testing.T) {
	for name, size := range map[string][2]int{
		"byteimage": {0, 0}, "byteimage-32": {32, 32}, "byteimage-64": {64, 64}, "byteimage-128": {128, 128}, "byteimage-64x32": {64, 32},
	} {
		f, err := ByName(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if w, h := f.Size(); f.Name() != name || w != size[0] || h != size[1] {
			t.Errorf("%s: got %s %dx%d", name, f.Name(), w, h)
		}
	}
	for _, name := range []string{"", "byteimage-", "byteimage-0", "byteimage-032", "byteimage-32x32", "byteimage-x", "byteimage-99999", "other-32", "byteimage-+3"} {
		if _, err := ByName(name); err == nil {
			t.Errorf("%q accepted", name)
		}
	}
	if _, err := ByName("byteimage-32x32"); !errors.Is(err, ErrUnknownName) {
		t.Errorf("non-canonical: %v", err)
	}
}
