package image

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestRoundTripBinaries converts real binaries to images, writes them as
// PNG, reads them back and gets the original bytes followed by the zero
// padding, with the width the Malimg table gives for the file size.
func TestRoundTripBinaries(t *testing.T) {
	paths := []string{"/bin/true", "/bin/ls"}
	if exe, err := os.Executable(); err == nil {
		paths = append(paths, exe)
	}
	dir := t.TempDir()
	done := 0
	for i, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Logf("skipping %s: %v", p, err)
			continue
		}
		img, err := FromBytes(data)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if want := WidthFor(len(data)); img.Width != want {
			t.Errorf("%s: %d bytes, width %d, want %d", p, len(data), img.Width, want)
		}
		out := filepath.Join(dir, string(rune('a'+i))+".png")
		if err := WritePNGFile(out, img); err != nil {
			t.Fatal(err)
		}
		back, err := ReadPNGFile(out, DecodeLimits{})
		if err != nil {
			t.Fatal(err)
		}
		pad := back.Width*back.Height - len(data)
		if back.Width != img.Width || pad < 0 || pad >= back.Width {
			t.Fatalf("%s: read back %dx%d for %d bytes", p, back.Width, back.Height, len(data))
		}
		if !bytes.Equal(back.Pix[:len(data)], data) || !bytes.Equal(back.Pix[len(data):], make([]byte, pad)) {
			t.Errorf("%s: bytes differ after the PNG round trip", p)
		}
		t.Logf("%s: %d bytes -> %dx%d (+%d padding)", p, len(data), back.Width, back.Height, pad)
		done++
	}
	if done < 2 {
		t.Fatalf("only %d binaries round-tripped", done)
	}
}
