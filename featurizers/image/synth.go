package image

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
)

// ErrInvalidArgument is returned (wrapped) for out-of-range arguments of
// [GenerateSynthetic] and [SyntheticSample].
var ErrInvalidArgument = errors.New("invalid argument")

// Bounds of the synthetic generator.
const (
	MaxSyntheticFamilies  = 256
	MaxSyntheticPerFamily = 10000
)

// SyntheticFamilyName returns the folder name of synthetic family f,
// "synth-00", "synth-01", ...
func SyntheticFamilyName(f int) string { return fmt.Sprintf("synth-%02d", f) }

// GenerateSynthetic writes a small Malimg-layout set under dir (created if
// missing): families folders named by [SyntheticFamilyName], each with
// perFamily PNG files "sample-0000.png", ... Each image is [FromBytes] of
// the synthetic file [SyntheticSample](f, i, seed), so widths follow the
// Malimg table and images load back with [LoadMalimg].
//
// A family is a random "program layout" (see [SyntheticSample]): a fixed
// header, then sections of zero runs, code-like bytes drawn from a
// family-specific skewed byte distribution around a family prototype,
// text from a family-specific alphabet, high-entropy (packed) data and
// tables of records with a family-specific period. Samples of one family
// vary in size (±15% per section), mutate 5% of the prototype's code bytes
// and regenerate the rest, so families are separable by texture and byte
// statistics (a nearest-centroid classifier on 32x32 resized images does
// well) while no two samples are equal. Pixels are a pure function of
// (families, perFamily, seed) on every platform; the PNG bytes are those
// of Go's encoder at its default compression.
func GenerateSynthetic(dir string, families, perFamily int, seed int64) error {
	if families < 1 || families > MaxSyntheticFamilies || perFamily < 1 || perFamily > MaxSyntheticPerFamily {
		return fmt.Errorf("synthetic: %d families x %d (1..%d x 1..%d): %w",
			families, perFamily, MaxSyntheticFamilies, MaxSyntheticPerFamily, ErrInvalidArgument)
	}
	for f := range families {
		fdir := filepath.Join(dir, SyntheticFamilyName(f))
		if err := os.MkdirAll(fdir, 0o755); err != nil {
			return fmt.Errorf("synthetic: %w", err)
		}
		fam := newSynthFamily(f, seed)
		for i := range perFamily {
			img, err := FromBytes(fam.sample(i))
			if err != nil {
				return fmt.Errorf("synthetic: family %d sample %d: %w", f, i, err)
			}
			if err := WritePNGFile(filepath.Join(fdir, fmt.Sprintf("sample-%04d.png", i)), img); err != nil {
				return fmt.Errorf("synthetic: %w", err)
			}
		}
	}
	return nil
}

// SyntheticSample returns the bytes of synthetic file i of family f for
// seed (f in 0..MaxSyntheticFamilies-1, i >= 0); sizes are 2-50 KB.
func SyntheticSample(f, i int, seed int64) ([]byte, error) {
	if f < 0 || f >= MaxSyntheticFamilies || i < 0 {
		return nil, fmt.Errorf("synthetic: family %d sample %d: %w", f, i, ErrInvalidArgument)
	}
	return newSynthFamily(f, seed).sample(i), nil
}

// Section kinds of a synthetic family's layout.
const (
	secZeros = iota
	secCode
	secText
	secPacked
	secTable
	numSecKinds
)

type synthSection struct {
	kind, length int
}

// synthFamily holds everything shared by a family's samples.
type synthFamily struct {
	f        int
	seed     int64
	header   []byte
	sections []synthSection
	codeDist [256]byte // cumulative-weight table index -> byte (256 slots)
	proto    []byte    // prototype code bytes (longest code section)
	alphabet []byte
	record   []byte // table record template; len is the period
}

func newSynthFamily(f int, seed int64) *synthFamily {
	r := newSplitMix(uint64(seed), uint64(f), 0xfa)
	fam := &synthFamily{f: f, seed: seed}
	fam.header = make([]byte, 64+r.intn(192))
	for k := range fam.header {
		if r.intn(3) == 0 {
			fam.header[k] = byte(r.next())
		}
	}
	fam.header[0], fam.header[1] = 'M', 'Z'
	// Code: 8-40 favoured byte values with geometric weights over 256 slots.
	nfav := 8 + r.intn(33)
	fav := make([]byte, nfav)
	for k := range fav {
		fav[k] = byte(r.next())
	}
	slot := 0
	for k := 0; slot < 256; k = (k + 1) % nfav {
		n := max(1, (256-slot)/3)
		for j := 0; j < n && slot < 256; j++ {
			fam.codeDist[slot] = fav[k]
			slot++
		}
	}
	// Text: 10-40 printable characters.
	fam.alphabet = make([]byte, 10+r.intn(31))
	for k := range fam.alphabet {
		fam.alphabet[k] = byte(0x20 + r.intn(0x5f))
	}
	// Table: a record of 4-64 bytes.
	fam.record = make([]byte, 4+r.intn(61))
	for k := range fam.record {
		fam.record[k] = byte(r.next())
	}
	// Layout: 3-7 sections, total 2-40 KB before variation; the first
	// section after the header is code so every family has some.
	nsec := 3 + r.intn(5)
	total := 2048 + r.intn(38*1024)
	maxCode := 0
	for k := range nsec {
		kind := r.intn(numSecKinds)
		if k == 0 {
			kind = secCode
		}
		length := max(64, total/nsec/2+r.intn(total/nsec+1))
		fam.sections = append(fam.sections, synthSection{kind, length})
		if kind == secCode {
			maxCode = max(maxCode, length)
		}
	}
	fam.proto = make([]byte, maxCode*115/100+1)
	for k := range fam.proto {
		fam.proto[k] = fam.codeDist[r.intn(256)]
	}
	return fam
}

// sample builds the bytes of sample i.
func (fam *synthFamily) sample(i int) []byte {
	r := newSplitMix(uint64(fam.seed), uint64(fam.f), uint64(i)+1<<32)
	out := append([]byte(nil), fam.header...)
	for _, s := range fam.sections {
		n := s.length * (85 + r.intn(31)) / 100
		switch s.kind {
		case secZeros:
			out = append(out, make([]byte, n)...)
		case secCode:
			for k := range n {
				b := fam.proto[k]
				if r.intn(20) == 0 {
					b = fam.codeDist[r.intn(256)]
				}
				out = append(out, b)
			}
		case secText:
			for k := range n {
				switch {
				case r.intn(12) == 0:
					out = append(out, 0)
				case k%9 == 0:
					out = append(out, ' ')
				default:
					out = append(out, fam.alphabet[r.intn(len(fam.alphabet))])
				}
			}
		case secPacked:
			for range n {
				out = append(out, byte(r.next()))
			}
		case secTable:
			p := len(fam.record)
			for k := range n {
				b := fam.record[k%p]
				if k%p == 0 {
					b += byte(k / p) // a counter field
				}
				out = append(out, b)
			}
		}
	}
	return out
}

// splitMix is SplitMix64 (Steele, Lea, Flood 2014): tiny, fixed forever,
// so synthetic data never changes with the Go version.
type splitMix struct{ s uint64 }

func newSplitMix(a, b, c uint64) *splitMix {
	r := &splitMix{s: a}
	r.s ^= r.next() ^ b*0x9e3779b97f4a7c15
	r.s ^= r.next() ^ c*0xc2b2ae3d27d4eb4f
	return r
}

func (r *splitMix) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// intn returns a value in [0, n) (n > 0), with negligible bias.
func (r *splitMix) intn(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}
