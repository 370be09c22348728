package image

import (
	"fmt"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
)

// MaxResizeDim bounds the target width and height of [Resize].
const MaxResizeDim = 4096

// Resize returns img resampled to width x height. The filter is separable
// and chosen per axis:
//
//   - shrinking (or keeping) an axis: area averaging (a box filter whose
//     support is exactly the source span of the target pixel). Each target
//     pixel is the mean of the source pixels it covers, partially covered
//     pixels weighted by the covered fraction. This keeps every byte's
//     contribution, which is what matters for malware images: texture is
//     averaged, not aliased as nearest-neighbour or bilinear sampling would.
//   - enlarging an axis: bilinear interpolation with pixel centres aligned
//     (source coordinate (i+0.5)*src/dst-0.5), clamped at the edges.
//
// All weights are integers and the sum is exact in int64; the result is
// rounded half up once at the end. The output is therefore the same on
// every platform and Go version. An axis kept at its size is copied
// unchanged. Sizes outside 1..[MaxResizeDim] wrap [ErrBadSize]; an
// inconsistent img wraps [features.ErrInvalid].
func Resize(img *features.Image, width, height int) (*features.Image, error) {
	if img == nil || img.Width <= 0 || img.Height <= 0 || len(img.Pix) != img.Width*img.Height {
		return nil, fmt.Errorf("resize: %w: image dimensions do not match its pixels", features.ErrInvalid)
	}
	if width < 1 || height < 1 || width > MaxResizeDim || height > MaxResizeDim {
		return nil, fmt.Errorf("resize: target %dx%d (1..%d): %w", width, height, MaxResizeDim, ErrBadSize)
	}
	sw, sh := img.Width, img.Height
	if sw == width && sh == height {
		return &features.Image{Width: width, Height: height, Pix: append([]byte(nil), img.Pix...)}, nil
	}
	ax, ay := weightsFor(sw, width), weightsFor(sh, height)

	// Horizontal pass: tmp[y][i] = sum_x pix[y][x]*wx[i][x], exact.
	tmp := make([]int64, sh*width)
	for y := 0; y < sh; y++ {
		row := img.Pix[y*sw : (y+1)*sw]
		out := tmp[y*width : (y+1)*width]
		if sw == width { // identity weights, den == width
			for i, p := range row {
				out[i] = int64(p) * ax.den
			}
			continue
		}
		for i := range out {
			var s int64
			src := row[ax.start[i]:]
			for k, w := range ax.w[i] {
				s += int64(src[k]) * w
			}
			out[i] = s
		}
	}
	// Vertical pass, row by row, and a single rounding.
	den := ax.den * ay.den
	pix := make([]byte, width*height)
	acc := make([]int64, width)
	for j := range height {
		clear(acc)
		for k, w := range ay.w[j] {
			src := tmp[(ay.start[j]+k)*width : (ay.start[j]+k+1)*width]
			for i, v := range src {
				acc[i] += v * w
			}
		}
		out := pix[j*width : (j+1)*width]
		for i, s := range acc {
			out[i] = byte((s + den/2) / den)
		}
	}
	return &features.Image{Width: width, Height: height, Pix: pix}, nil
}

// axisWeights maps each target index to a contiguous run of source indices
// starting at start[i] with integer weights w[i] summing to den.
type axisWeights struct {
	den   int64
	start []int
	w     [][]int64
}

// weightsFor returns area-averaging weights when m <= n and bilinear
// weights when m > n, for n source and m target samples.
func weightsFor(n, m int) axisWeights {
	a := axisWeights{start: make([]int, m), w: make([][]int64, m)}
	if m <= n {
		// In units of 1/m source pixel, target i covers [i*n, (i+1)*n) and
		// source j covers [j*m, (j+1)*m); the weight is the overlap.
		a.den = int64(n)
		for i := range m {
			lo, hi := i*n, (i+1)*n
			j0, j1 := lo/m, (hi+m-1)/m // j1 exclusive
			a.start[i] = j0
			ws := make([]int64, 0, j1-j0)
			for j := j0; j < j1; j++ {
				ws = append(ws, int64(min(hi, (j+1)*m)-max(lo, j*m)))
			}
			a.w[i] = ws
		}
		return a
	}
	// Bilinear, in units of 1/(2m) source pixel: x2 = ((i+0.5)*n/m - 0.5)*2m.
	d := 2 * m
	a.den = int64(d)
	for i := range m {
		x2 := (2*i+1)*n - m
		x2 = max(0, min(x2, d*(n-1)))
		j0, f := x2/d, x2%d
		a.start[i] = j0
		if f == 0 {
			a.w[i] = []int64{int64(d)}
		} else {
			a.w[i] = []int64{int64(d - f), int64(f)}
		}
	}
	return a
}
