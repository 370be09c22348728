package header

import (
	"errors"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"os"
	"testing"
)

// Seeds are read at test time from installed binaries (never committed):
// a few small wine/mingw PE files and /bin ELF files, plus hand-made
// truncations of them.

func addSeeds(f *testing.F, files [][]byte) {
	for _, b := range files {
		f.Add(b)
		for _, n := range []int{2, 63, 64, 100, 300, 1024, len(b) / 2} {
			if n < len(b) {
				f.Add(b[:n])
			}
		}
	}
}

func FuzzParsePE(f *testing.F) {
	seeds := [][]byte{buildPE(peSpec{}), buildPE(peSpec{pe64: true, sections: 3})}
	for _, p := range smallFiles(installedPEFiles(f), 6, 64<<10) {
		if b, err := os.ReadFile(p); err == nil {
			seeds = append(seeds, b)
		}
	}
	addSeeds(f, seeds)
	f.Fuzz(func(t *testing.T, b []byte) {
		pf, err := ParsePE(b)
		if err != nil {
			if !wrapsSentinel(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		raw, err := ClaMPRaw(pf)
		if err != nil || len(raw) != len(ClaMPRawColumns) {
			t.Fatalf("raw: %d values, %v", len(raw), err)
		}
		integ, err := ClaMPIntegrated(pf)
		if err != nil || len(integ) != len(ClaMPIntegratedColumns) {
			t.Fatalf("integrated: %d values, %v", len(integ), err)
		}
	})
}

func FuzzParseELF(f *testing.F) {
	var seeds [][]byte
	for _, b := range readSamples(f, []string{"/bin/true", "/usr/bin/env", "/bin/ls"}) {
		seeds = append(seeds, b)
	}
	addSeeds(f, seeds)
	f.Add([]byte("\x7fELF\x01\x01\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ef, err := ParseELF(b)
		if err != nil {
			if !wrapsSentinel(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		v, err := ELFFeatures(ef)
		if err != nil || len(v) != len(ELFColumns) {
			t.Fatalf("features: %d values, %v", len(v), err)
		}
	})
}

// FuzzExtract checks the magic dispatch: any error is ErrNotApplicable or a
// parse sentinel.
func FuzzExtract(f *testing.F) {
	f.Add(buildPE(peSpec{}))
	f.Add([]byte("\x7fELF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Extract(b); err != nil && !wrapsSentinel(err) && !errors.Is(err, errNotApplicable) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

var errNotApplicable = features.ErrNotApplicable
