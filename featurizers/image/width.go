package image

// KB is the kilobyte used by the Malimg width table: 1024 bytes. (The six
// sample images in the shared data set are consistent with either 1000 or
// 1024; the choice only matters for files within a few percent of a band
// boundary.)
const KB = 1024

// WidthBand is one row of the Malimg width table: files whose size is below
// Below bytes (and not in an earlier band) get rows of Width pixels.
type WidthBand struct {
	Below int // exclusive upper bound in bytes; 0 means no bound (last band)
	Width int
}

// widthTable is the table from Nataraj et al. (2011), bands half-open
// [previous bound, Below): under 10 KB: 32; 10-30 KB: 64; 30-60 KB: 128;
// 60-100 KB: 256; 100-200 KB: 384; 200-500 KB: 512; 500-1000 KB: 768;
// 1000 KB and over: 1024.
var widthTable = []WidthBand{
	{10 * KB, 32},
	{30 * KB, 64},
	{60 * KB, 128},
	{100 * KB, 256},
	{200 * KB, 384},
	{500 * KB, 512},
	{1000 * KB, 768},
	{0, 1024},
}

// Widths returns a copy of the Malimg width table, smallest files first.
func Widths() []WidthBand {
	return append([]WidthBand(nil), widthTable...)
}

// WidthFor returns the Malimg row width for a file of size bytes. Sizes of
// zero or less get the smallest width.
func WidthFor(size int) int {
	for _, b := range widthTable {
		if b.Below == 0 || size < b.Below {
			return b.Width
		}
	}
	return widthTable[len(widthTable)-1].Width // unreachable: last band is unbounded
}

// SizeRangeFor returns the range of file sizes [lo, hi) that get width w
// under the table, and ok=false if w is not one of the table's widths. For
// the last band hi is 0 (unbounded).
func SizeRangeFor(w int) (lo, hi int, ok bool) {
	for _, b := range widthTable {
		if b.Width == w {
			return lo, b.Below, true
		}
		lo = b.Below
	}
	return 0, 0, false
}
