package image

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"testing"
)

func TestGenerateSynthetic(t *testing.T) {
	const fams, per = 8, 8
	dir := t.TempDir()
	if err := GenerateSynthetic(dir, fams, per, 42); err != nil {
		t.Fatal(err)
	}
	ds, err := LoadMalimg(dir, LoadOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Classes) != fams || len(ds.Records) != fams*per {
		t.Fatalf("%d classes, %d records", len(ds.Classes), len(ds.Records))
	}
	for _, r := range ds.Records {
		if _, _, ok := SizeRangeFor(r.Image.Width); !ok {
			t.Errorf("%s: width %d", r.Path, r.Image.Width)
		}
	}
	// The PNGs hold exactly FromBytes(SyntheticSample(...)).
	data, _ := SyntheticSample(3, 5, 42)
	want, _ := FromBytes(data)
	if got := ds.Records[3*per+5].Image; !bytes.Equal(got.Pix, want.Pix) || got.Width != want.Width {
		t.Error("PNG differs from SyntheticSample")
	}

	// Separability: nearest centroid on 32x32 images, centroids from the first half of each family, tested on
	// the second half.
	feat := func(r Record) []float64 {
		small, err := Resize(r.Image, 32, 32)
		if err != nil {
			t.Fatal(err)
		}
		v := make([]float64, 0, 32*32)
		for _, p := range small.Pix {
			v = append(v, float64(p)/255)
		}
		return v
	}
	cent := make([][]float64, fams)
	// Records are ordered by family, then file name: index%per is the sample.
	for i, r := range ds.Records {
		if i%per < per/2 {
			f := feat(r)
			if cent[r.Label] == nil {
				cent[r.Label] = make([]float64, len(f))
			}
			for k, x := range f {
				cent[r.Label][k] += x / (per / 2)
			}
		}
	}
	correct, total := 0, 0
	for i, r := range ds.Records {
		if i%per < per/2 {
			continue
		}
		f, best, bestD := feat(r), -1, math.Inf(1)
		for c, m := range cent {
			d := 0.0
			for k := range f {
				d += (f[k] - m[k]) * (f[k] - m[k])
			}
			if d < bestD {
				best, bestD = c, d
			}
		}
		total++
		if best == r.Label {
			correct++
		}
	}
	t.Logf("nearest centroid: %d/%d held-out images correct", correct, total)
	if float64(correct) < 0.9*float64(total) {
		t.Errorf("families not separable: %d/%d", correct, total)
	}
}

const pinnedSynthetic = "c0ef4afc47e229f18ef54f1619711a4b5c1fb74a4cd7715649c297a092f04323"

func TestSyntheticDeterministic(t *testing.T) {
	a, _ := SyntheticSample(2, 7, 1)
	b, _ := SyntheticSample(2, 7, 1)
	c, _ := SyntheticSample(2, 7, 2)
	d, _ := SyntheticSample(2, 8, 1)
	if !bytes.Equal(a, b) {
		t.Error("same seed, different bytes")
	}
	if bytes.Equal(a, c) || bytes.Equal(a, d) {
		t.Error("different seed or index, same bytes")
	}
	if len(a) < 2048 || len(a) > 50*1024 {
		t.Errorf("size %d", len(a))
	}
	// Pin a few bytes so an accidental change of the generator is noticed
	// (the synthetic set must not change under the models' tests).
	if sum := fmt.Sprintf("%x", sha256.Sum256(a)); sum != pinnedSynthetic {
		t.Errorf("SyntheticSample(2, 7, 1) sha256 %s, was %s: the generator changed", sum, pinnedSynthetic)
	}
	if _, err := SyntheticSample(-1, 0, 1); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("family -1: %v", err)
	}
	if err := GenerateSynthetic(t.TempDir(), 0, 1, 1); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("0 families: %v", err)
	}
}
