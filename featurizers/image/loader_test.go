package image

import (
	"bytes"
	"errors"
	stdimage "image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// TestMalimgSamples loads the six shared Malimg images and checks each
// image's width is a table width that some file size consistent with its
// height (height-1 full rows plus 1..width bytes) would get.
func TestMalimgSamples(t *testing.T) {
	root := datasetsDir(t, "malimg-samples")
	ds, err := LoadMalimg(root, LoadOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Classes) != 6 || len(ds.Records) != 6 || len(ds.Skipped) != 0 {
		t.Fatalf("got %d families, %d images, %d skipped; want 6, 6, 0", len(ds.Classes), len(ds.Records), len(ds.Skipped))
	}
	want := []string{"Adialer.C", "Agent.FYI", "Allaple.A", "Allaple.L", "Alueron.gen!j", "Autorun.K"}
	for i, c := range ds.Classes {
		if c != want[i] {
			t.Errorf("class %d = %q, want %q", i, c, want[i])
		}
	}
	for _, r := range ds.Records {
		im := r.Image
		if ds.Classes[r.Label] != r.Family || len(im.Pix) != im.Width*im.Height {
			t.Errorf("%s: inconsistent record", r.Path)
		}
		lo, hi, ok := SizeRangeFor(im.Width)
		if !ok {
			t.Errorf("%s: width %d is not a Malimg table width", r.Path, im.Width)
			continue
		}
		minSize, maxSize := (im.Height-1)*im.Width+1, im.Height*im.Width
		if maxSize < lo || (hi != 0 && minSize >= hi) {
			t.Errorf("%s: %dx%d holds %d..%d bytes, outside the %d-wide band [%d, %d)", r.Path, im.Width, im.Height, minSize, maxSize, im.Width, lo, hi)
		}
		t.Logf("%-14s %4dx%-4d (%d..%d bytes)", r.Family, im.Width, im.Height, minSize, maxSize)
	}
	counts := ds.CountByFamily()
	for _, c := range ds.Classes {
		if counts[c] != 1 {
			t.Errorf("%s: %d images", c, counts[c])
		}
	}
}

func encode(t testing.TB, m stdimage.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodePNGColorModels(t *testing.T) {
	rgba := stdimage.NewNRGBA(stdimage.Rect(0, 0, 3, 1))
	rgba.Set(0, 0, color.NRGBA{255, 0, 0, 255})
	rgba.Set(1, 0, color.NRGBA{10, 10, 10, 255})
	rgba.Set(2, 0, color.NRGBA{255, 255, 255, 0}) // transparent
	g16 := stdimage.NewGray16(stdimage.Rect(0, 0, 2, 1))
	g16.SetGray16(0, 0, color.Gray16{0xABCD})
	g16.SetGray16(1, 0, color.Gray16{0x00FF})
	pal := stdimage.NewPaletted(stdimage.Rect(0, 0, 2, 1), color.Palette{color.Gray{7}, color.RGBA{0, 0, 255, 255}})
	pal.SetColorIndex(1, 0, 1)
	gray := stdimage.NewGray(stdimage.Rect(0, 0, 2, 2))
	copy(gray.Pix, []byte{1, 2, 3, 4})
	cases := []struct {
		name string
		m    stdimage.Image
		want []byte
	}{
		{"nrgba", rgba, []byte{76, 10, 0}}, // luma of red = 0.299*255
		{"gray16", g16, []byte{0xAB, 0x00}},
		{"paletted", pal, []byte{7, 29}}, // luma of blue = 0.114*255
		{"gray", gray, []byte{1, 2, 3, 4}},
	}
	for _, c := range cases {
		got, err := DecodePNG(bytes.NewReader(encode(t, c.m)), DecodeLimits{})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !bytes.Equal(got.Pix, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got.Pix, c.want)
		}
	}
}

func TestDecodePNGLimits(t *testing.T) {
	big := encode(t, stdimage.NewGray(stdimage.Rect(0, 0, 100, 50)))
	for _, lim := range []DecodeLimits{{MaxWidth: 99}, {MaxHeight: 49}, {MaxPixels: 4999}, {MaxFileBytes: int64(len(big) - 1)}} {
		if _, err := DecodePNG(bytes.NewReader(big), lim); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%+v: %v", lim, err)
		}
	}
	if _, err := DecodePNG(bytes.NewReader(big), DecodeLimits{MaxPixels: 5000}); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	if _, err := DecodePNG(bytes.NewReader([]byte("not a png")), DecodeLimits{}); !errors.Is(err, ErrDecode) {
		t.Errorf("garbage: %v", err)
	}
	if _, err := DecodePNG(bytes.NewReader(big[:len(big)-20]), DecodeLimits{}); !errors.Is(err, ErrDecode) {
		t.Errorf("truncated: %v", err)
	}
}

func TestLoadMalimgSkips(t *testing.T) {
	root := t.TempDir()
	write := func(rel string, data []byte) string {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	small := encode(t, stdimage.NewGray(stdimage.Rect(0, 0, 32, 4)))
	large := encode(t, stdimage.NewGray(stdimage.Rect(0, 0, 64, 64)))
	write("FamB/b1.png", small)
	write("FamB/b2.PNG", small)
	write("FamA/a1.png", small)
	bad := write("FamA/broken.png", []byte("\x89PNG\r\n\x1a\nnope"))
	huge := write("FamC/huge.png", large)
	write("FamA/notes.txt", []byte("ignored"))
	write("README.md", []byte("ignored"))
	write(".hidden/x.png", small)

	lim := DecodeLimits{MaxPixels: 32 * 32}
	ds, err := LoadMalimg(root, LoadOptions{Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Classes) != 2 || ds.Classes[0] != "FamA" || ds.Classes[1] != "FamB" || len(ds.Records) != 3 {
		t.Fatalf("classes %v, %d records", ds.Classes, len(ds.Records))
	}
	if ds.Records[0].Family != "FamA" || ds.Records[1].Label != 1 || ds.Records[2].Path != filepath.Join(root, "FamB", "b2.PNG") {
		t.Errorf("records %+v", ds.Records)
	}
	if len(ds.Skipped) != 2 || ds.Skipped[0].Path != bad || !errors.Is(ds.Skipped[0], ErrDecode) ||
		ds.Skipped[1].Path != huge || !errors.Is(ds.Skipped[1], ErrTooLarge) {
		t.Errorf("skipped %v", ds.Skipped)
	}
	if _, err := LoadMalimg(root, LoadOptions{Limits: lim, Strict: true}); !errors.Is(err, ErrDecode) {
		t.Errorf("strict: %v", err)
	}
	if _, err := LoadMalimg(filepath.Join(root, "missing"), LoadOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing root: %v", err)
	}
	empty := t.TempDir()
	if _, err := LoadMalimg(empty, LoadOptions{}); !errors.Is(err, ErrNoImages) {
		t.Errorf("empty root: %v", err)
	}
}
