package header

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
)

func TestParsePESynthetic(t *testing.T) {
	for _, pe64 := range []bool{false, true} {
		b := buildPE(peSpec{sections: 2, pe64: pe64})
		f, err := ParsePE(b)
		if err != nil {
			t.Fatalf("pe64=%v: %v", pe64, err)
		}
		if f.Is64() != pe64 || len(f.Sections) != 2 || len(f.DataDirs) != 16 {
			t.Fatalf("pe64=%v: Is64 %v, %d sections, %d dirs", pe64, f.Is64(), len(f.Sections), len(f.DataDirs))
		}
		raw, _ := ClaMPRaw(f)
		integ, _ := ClaMPIntegrated(f)
		if len(raw) != 55 || len(integ) != 69 || len(ClaMPRawColumns) != 55 || len(ClaMPIntegratedColumns) != 69 {
			t.Fatalf("lengths %d %d %d %d", len(raw), len(integ), len(ClaMPRawColumns), len(ClaMPIntegratedColumns))
		}
		col := func(names []string, v []float64, n string) float64 {
			for i, c := range names {
				if c == n {
					return v[i]
				}
			}
			t.Fatalf("no column %s", n)
			return 0
		}
		if got := col(ClaMPRawColumns, raw, "CreationYear"); got != 2012 {
			t.Errorf("CreationYear %v", got)
		}
		if got := col(ClaMPIntegratedColumns, integ, "E_text"); got <= 0 {
			t.Errorf("E_text %v", got)
		}
		if got := col(ClaMPIntegratedColumns, integ, "non_sus_sections"); got != 2 {
			t.Errorf("non_sus_sections %v", got)
		}
		if got := col(ClaMPIntegratedColumns, integ, "ImageBase"); got != b2f(!pe64) {
			t.Errorf("ImageBase flag %v", got)
		}
	}
}

// TestParsePEMalformed checks every kind of damage yields the right
// sentinel and never a panic.
func TestParsePEMalformed(t *testing.T) {
	good := buildPE(peSpec{})
	set := func(b []byte, off int, v uint32) []byte {
		c := bytes.Clone(b)
		binary.LittleEndian.PutUint32(c[off:], v)
		return c
	}
	set16 := func(b []byte, off int, v uint16) []byte {
		c := bytes.Clone(b)
		binary.LittleEndian.PutUint16(c[off:], v)
		return c
	}
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrNotPE},
		{"short DOS header", good[:40], ErrTruncated},
		{"not MZ", append([]byte("ZM"), good[2:]...), ErrNotPE},
		{"e_lfanew past end", set(good, 60, 0x10000), ErrNotPE},
		{"e_lfanew huge", set(good, 60, 0xffffffff), ErrNotPE},
		{"signature cut", set(good, 60, uint32(len(good)-2)), ErrTruncated},
		{"bad signature", set(good, 0x40, 0x454e), ErrNotPE},
		{"file header cut", good[:0x44+10], ErrTruncated},
		{"optional header cut", good[:0x58+40], ErrTruncated},
		{"NumberOfSections huge", set16(good, 0x46, 0xffff), ErrMalformed},
		{"section table cut", buildPE(peSpec{})[:0x58+224+20], ErrTruncated},
		{"section table past end", set16(good, 0x54, 0xff00), nil}, // pefile: zero sections
		{"section data past end", buildPE(peSpec{rawPtr: 0x200, rawSize: 0xfffff000}), nil},
		{"section pointer past end", buildPE(peSpec{rawPtr: 0x7ffff000}), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := ParsePE(c.in)
			if c.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if _, err := ClaMPIntegrated(f); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if _, err := ParsePEMax(good, 100); !errors.Is(err, ErrTooLarge) {
		t.Errorf("max size: %v", err)
	}
	if _, err := ReadAll(bytes.NewReader(good), int64(len(good)), 100); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadAll max size: %v", err)
	}
	if b, err := ReadAll(bytes.NewReader(good), int64(len(good)), 0); err != nil || !bytes.Equal(b, good) {
		t.Errorf("ReadAll: %v", err)
	}
	if _, err := ReadAll(bytes.NewReader(good), int64(len(good))+5, 0); !errors.Is(err, ErrTruncated) {
		t.Errorf("ReadAll short: %v", err)
	}
}

// TestResourceLoop: a resource directory whose entry points back at itself
// must not recurse.
func TestResourceLoop(t *testing.T) {
	b := buildPE(peSpec{})
	le := binary.LittleEndian
	oh := 0x58
	le.PutUint32(b[oh+96+16:], 0x1000) // resource dir RVA = .text start
	le.PutUint32(b[oh+96+20:], 0x100)
	r := b[0x200:]
	for i := range 64 {
		r[i] = 0
	}
	le.PutUint16(r[14:], 2)                // two id entries
	le.PutUint32(r[16:], 16)               // RT_VERSION
	le.PutUint32(r[20:], 0x80000000)       // -> itself
	le.PutUint32(r[24:], 3)                // RT_ICON
	le.PutUint32(r[28:], 0x80000000|0x100) // past the section
	f, err := ParsePE(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != nil {
		t.Fatal("version from a looping tree")
	}
}

// TestCrossCheckDebugPE compares header fields with debug/pe on real files.
func TestCrossCheckDebugPE(t *testing.T) {
	files := smallFiles(installedPEFiles(t), 60, 4<<20)
	if len(files) == 0 {
		t.Skip("no installed PE files (wine64, mingw-w64)")
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := pe.NewFile(bytes.NewReader(b))
		if err != nil {
			continue
		}
		f, err := ParsePE(b)
		if err != nil {
			t.Errorf("%s: %v (debug/pe accepts it)", p, err)
			continue
		}
		if f.File.Machine != ref.Machine || f.File.NumberOfSections != ref.NumberOfSections || f.File.TimeDateStamp != ref.TimeDateStamp {
			t.Errorf("%s: file header differs", p)
		}
		switch oh := ref.OptionalHeader.(type) {
		case *pe.OptionalHeader32:
			if f.Optional.ImageBase != uint64(oh.ImageBase) || f.Optional.SizeOfImage != oh.SizeOfImage || f.Optional.BaseOfData != oh.BaseOfData || f.Optional.CheckSum != oh.CheckSum {
				t.Errorf("%s: PE32 optional header differs", p)
			}
		case *pe.OptionalHeader64:
			if f.Optional.ImageBase != oh.ImageBase || f.Optional.SizeOfImage != oh.SizeOfImage || f.Optional.SizeOfStackReserve != oh.SizeOfStackReserve || f.Optional.DllCharacteristics != oh.DllCharacteristics {
				t.Errorf("%s: PE32+ optional header differs", p)
			}
		}
	}
}

func TestExtractByMagic(t *testing.T) {
	pe := buildPE(peSpec{})
	sets, err := Extract(pe)
	if err != nil || len(sets) != 2 || sets[0].Name != NameClaMPRaw || sets[1].Name != NameClaMPIntegrated {
		t.Fatalf("PE: %v %v", sets, err)
	}
	for _, s := range sets {
		if err := s.Validate(); err != nil {
			t.Error(err)
		}
	}
	if _, err := ELFHeaderSet(pe); !errors.Is(err, features.ErrNotApplicable) {
		t.Errorf("ELF set on PE: %v", err)
	}
	if _, err := ClaMPRawSet([]byte("\x7fELF\x02\x01")); !errors.Is(err, features.ErrNotApplicable) {
		t.Errorf("PE set on ELF: %v", err)
	}
	if _, err := Extract([]byte("#!/bin/sh\n")); !errors.Is(err, features.ErrNotApplicable) {
		t.Errorf("script: %v", err)
	}
	if _, err := ClaMPIntegratedSet(pe[:100]); !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated PE: %v", err)
	}
}
