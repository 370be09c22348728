package image

import "testing"

func TestWidthFor(t *testing.T) {
	cases := []struct{ size, want int }{
		{0, 32}, {1, 32}, {10*1024 - 1, 32},
		{10 * 1024, 64}, {30*1024 - 1, 64},
		{30 * 1024, 128}, {60*1024 - 1, 128},
		{60 * 1024, 256}, {100*1024 - 1, 256},
		{100 * 1024, 384}, {200*1024 - 1, 384},
		{200 * 1024, 512}, {500*1024 - 1, 512},
		{500 * 1024, 768}, {1000*1024 - 1, 768},
		{1000 * 1024, 1024}, {1 << 30, 1024},
	}
	for _, c := range cases {
		if got := WidthFor(c.size); got != c.want {
			t.Errorf("WidthFor(%d) = %d, want %d", c.size, got, c.want)
		}
	}
}

func TestSizeRangeFor(t *testing.T) {
	for _, b := range Widths() {
		lo, hi, ok := SizeRangeFor(b.Width)
		if !ok || WidthFor(lo) != b.Width || (hi != 0 && (WidthFor(hi-1) != b.Width || WidthFor(hi) == b.Width)) {
			t.Errorf("SizeRangeFor(%d) = %d, %d, %v", b.Width, lo, hi, ok)
		}
	}
	if _, _, ok := SizeRangeFor(100); ok {
		t.Error("SizeRangeFor(100) ok")
	}
}
