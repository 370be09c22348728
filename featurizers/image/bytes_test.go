package image

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestFromBytes(t *testing.T) {
	data := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35}
	img, err := FromBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	if img.Width != 32 || img.Height != 2 || len(img.Pix) != 64 {
		t.Fatalf("got %dx%d (%d pixels), want 32x2", img.Width, img.Height, len(img.Pix))
	}
	if !bytes.Equal(img.Pix[:35], data) || !bytes.Equal(img.Pix[35:], make([]byte, 29)) {
		t.Errorf("pixels = %v", img.Pix)
	}
	data[0] = 99
	if img.Pix[0] != 1 {
		t.Error("FromBytes did not copy its input")
	}

	// Exact multiple: no padding row.
	img, err = FromBytes(make([]byte, 64))
	if err != nil || img.Height != 2 {
		t.Fatalf("64 bytes: %v, %+v", err, img)
	}
	// A 10 KB file gets 64-wide rows.
	img, err = FromBytes(make([]byte, 10*1024))
	if err != nil || img.Width != 64 || img.Height != 160 {
		t.Fatalf("10 KB: %v, %dx%d", err, img.Width, img.Height)
	}
}

func TestFromBytesErrors(t *testing.T) {
	if _, err := FromBytes(nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
	if _, err := FromBytes(make([]byte, MaxFileSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too large: %v", err)
	}
	if _, err := FromBytesWidth([]byte{1}, 0); !errors.Is(err, ErrBadSize) {
		t.Errorf("width 0: %v", err)
	}
	if _, err := FromReader(strings.NewReader("")); !errors.Is(err, ErrEmpty) {
		t.Errorf("FromReader empty: %v", err)
	}
	if img, err := FromReader(strings.NewReader("abc")); err != nil || string(img.Pix[:3]) != "abc" {
		t.Errorf("FromReader: %v", err)
	}
}
