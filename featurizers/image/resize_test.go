package image

import (
	"bytes"
	"errors"
	"testing"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
)

func img(w, h int, pix ...byte) *features.Image {
	return &features.Image{Width: w, Height: h, Pix: pix}
}

func TestResizeKnownAnswers(t *testing.T) {
	cases := []struct {
		name string
		in   *features.Image
		w, h int
		want []byte
	}{
		// 2x2 blocks averaged: (0+10+20+30)/4=15, (40+50+60+70)/4=55, ...
		{"area 4x4 to 2x2", img(4, 4,
			0, 10, 40, 50,
			20, 30, 60, 70,
			100, 100, 200, 201,
			100, 100, 201, 202), 2, 2, []byte{15, 55, 100, 201}},
		// 201+200+201+202 = 804/4 = 201 exactly; 1+2 rounds half up.
		{"area rounding half up", img(2, 1, 1, 2), 1, 1, []byte{2}},
		// Fractional coverage: target 0 covers src 0 and half of src 1:
		// (2*30+60)/3 = 40; target 1: (60+2*90)/3 = 80.
		{"area 3 to 2", img(3, 1, 30, 60, 90), 2, 1, []byte{40, 80}},
		{"area 3 to 2 vertical", img(1, 3, 30, 60, 90), 1, 2, []byte{40, 80}},
		// Bilinear with aligned centres: source x = (i+0.5)/2-0.5 =
		// -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
		{"bilinear 2 to 4", img(2, 1, 0, 200), 4, 1, []byte{0, 50, 150, 200}},
		{"bilinear 1 to 3", img(1, 1, 77), 3, 3, []byte{77, 77, 77, 77, 77, 77, 77, 77, 77}},
		// Mixed: width shrinks by area (4 -> 2), height grows bilinearly (1 -> 2).
		{"mixed axes", img(4, 1, 10, 20, 30, 41), 2, 2, []byte{15, 36, 15, 36}},
		{"identity", img(2, 2, 1, 2, 3, 4), 2, 2, []byte{1, 2, 3, 4}},
	}
	for _, c := range cases {
		got, err := Resize(c.in, c.w, c.h)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got.Width != c.w || got.Height != c.h || !bytes.Equal(got.Pix, c.want) {
			t.Errorf("%s: got %dx%d %v, want %v", c.name, got.Width, got.Height, got.Pix, c.want)
		}
	}
}

// Integer-factor area downscaling preserves the mean exactly (up to the
// per-pixel rounding), and constant images stay constant at any size.
func TestResizeProperties(t *testing.T) {
	data := make([]byte, 100*1024)
	for i := range data {
		data[i] = byte(i*7 + i/300)
	}
	src, _ := FromBytes(data) // 384 x 267
	for _, sz := range [][2]int{{32, 32}, {64, 64}, {17, 5}, {500, 300}} {
		out, err := Resize(src, sz[0], sz[1])
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Pix) != sz[0]*sz[1] {
			t.Fatalf("size %v: %d pixels", sz, len(out.Pix))
		}
		again, _ := Resize(src, sz[0], sz[1])
		if !bytes.Equal(out.Pix, again.Pix) {
			t.Fatalf("size %v: not deterministic", sz)
		}
	}
	c := &features.Image{Width: 37, Height: 23, Pix: bytes.Repeat([]byte{123}, 37*23)}
	for _, sz := range [][2]int{{1, 1}, {32, 32}, {64, 64}, {100, 7}} {
		out, _ := Resize(c, sz[0], sz[1])
		for _, p := range out.Pix {
			if p != 123 {
				t.Fatalf("constant image resized to %v has pixel %d", sz, p)
			}
		}
	}
	in := &features.Image{Width: 64, Height: 64, Pix: make([]byte, 64*64)}
	var sum int
	for i := range in.Pix {
		in.Pix[i] = byte(i % 251)
		sum += int(in.Pix[i])
	}
	out, _ := Resize(in, 1, 1)
	if want := (sum + 64*64/2) / (64 * 64); int(out.Pix[0]) != want {
		t.Errorf("1x1 = %d, want mean %d", out.Pix[0], want)
	}
}

func TestResizeErrors(t *testing.T) {
	ok := img(2, 2, 1, 2, 3, 4)
	for _, sz := range [][2]int{{0, 1}, {1, 0}, {-1, 5}, {MaxResizeDim + 1, 1}} {
		if _, err := Resize(ok, sz[0], sz[1]); !errors.Is(err, ErrBadSize) {
			t.Errorf("size %v: %v", sz, err)
		}
	}
	for _, bad := range []*features.Image{nil, img(2, 2, 1), img(0, 0)} {
		if _, err := Resize(bad, 2, 2); !errors.Is(err, features.ErrInvalid) {
			t.Errorf("bad image %+v: %v", bad, err)
		}
	}
}
