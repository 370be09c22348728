package image

import (
	"bytes"
	"errors"
	stdimage "image"
	"image/color"
	"testing"
)

// FuzzDecodePNG feeds arbitrary bytes to the PNG loader path: it must
// never panic, must respect the limits, and any image it returns must be
// consistent and re-encode to the same pixels.
func FuzzDecodePNG(f *testing.F) {
	g := stdimage.NewGray(stdimage.Rect(0, 0, 5, 3))
	for i := range g.Pix {
		g.Pix[i] = byte(i * 17)
	}
	rgba := stdimage.NewNRGBA(stdimage.Rect(0, 0, 2, 2))
	rgba.Set(1, 1, color.NRGBA{1, 2, 3, 4})
	pal := stdimage.NewPaletted(stdimage.Rect(0, 0, 3, 1), color.Palette{color.Black, color.White})
	g16 := stdimage.NewGray16(stdimage.Rect(0, 0, 1, 4))
	for _, m := range []stdimage.Image{g, rgba, pal, g16} {
		f.Add(encode(f, m))
	}
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte{})
	lim := DecodeLimits{MaxFileBytes: 1 << 20, MaxWidth: 4096, MaxHeight: 4096, MaxPixels: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := DecodePNG(bytes.NewReader(data), lim)
		if err != nil {
			if !errors.Is(err, ErrDecode) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		if img.Width <= 0 || img.Height <= 0 || img.Width > lim.MaxWidth || img.Height > lim.MaxHeight ||
			img.Width*img.Height > lim.MaxPixels || len(img.Pix) != img.Width*img.Height {
			t.Fatalf("bad image %dx%d, %d pixels", img.Width, img.Height, len(img.Pix))
		}
		var buf bytes.Buffer
		if err := EncodePNG(&buf, img); err != nil {
			t.Fatal(err)
		}
		back, err := DecodePNG(&buf, lim)
		if err != nil || !bytes.Equal(back.Pix, img.Pix) {
			t.Fatalf("gray re-encode round trip failed: %v", err)
		}
	})
}

// FuzzFromBytes checks bytes to image (and resizing) on arbitrary input:
// the image holds the input then fewer than Width zeros, at the table's
// width, and resizes to a valid 32x32 image.
func FuzzFromBytes(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add(bytes.Repeat([]byte{0xFF, 0}, 6000))
	f.Add(make([]byte, 10*1024))
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := FromBytes(data)
		if len(data) == 0 {
			if !errors.Is(err, ErrEmpty) {
				t.Fatalf("empty input: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		pad := len(img.Pix) - len(data)
		if img.Width != WidthFor(len(data)) || len(img.Pix) != img.Width*img.Height || pad < 0 || pad >= img.Width {
			t.Fatalf("%d bytes -> %dx%d", len(data), img.Width, img.Height)
		}
		if !bytes.Equal(img.Pix[:len(data)], data) || !bytes.Equal(img.Pix[len(data):], make([]byte, pad)) {
			t.Fatal("pixels are not the input plus zero padding")
		}
		small, err := Resize(img, 32, 32)
		if err != nil || len(small.Pix) != 32*32 {
			t.Fatalf("resize: %v", err)
		}
		lo, hi := byte(255), byte(0)
		for _, p := range img.Pix {
			lo, hi = min(lo, p), max(hi, p)
		}
		for _, p := range small.Pix {
			if p < lo || p > hi {
				t.Fatalf("resized pixel %d outside the input range [%d, %d]", p, lo, hi)
			}
		}
	})
}
