package header

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

var elfSamples = []string{"/bin/ls", "/bin/sh", "/usr/bin/env", "/bin/true", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/sbin/ldconfig"}

func readSamples(t testing.TB, paths []string) map[string][]byte {
	m := map[string][]byte{}
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil && IsELF(b) {
			m[p] = b
		}
	}
	return m
}

func TestELFRealFiles(t *testing.T) {
	samples := readSamples(t, elfSamples)
	if len(samples) == 0 {
		t.Skip("no ELF samples")
	}
	for p, b := range samples {
		f, err := ParseELF(b)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		v, err := ELFFeatures(f)
		if err != nil || len(v) != len(ELFColumns) {
			t.Fatalf("%s: %d values, %v", p, len(v), err)
		}
		ref, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if len(ref.Progs) != len(f.Progs) || len(ref.Sections) != len(f.Sections) {
			t.Errorf("%s: %d/%d progs, %d/%d sections", p, len(f.Progs), len(ref.Progs), len(f.Sections), len(ref.Sections))
		}
		for i, s := range ref.Sections {
			if s.Name != f.Sections[i].Name {
				t.Errorf("%s: section %d name %q vs %q", p, i, f.Sections[i].Name, s.Name)
				break
			}
		}
		libs, _ := ref.ImportedLibraries()
		if got := v[colIndex(t, ELFColumns, "needed_count")]; int(got) != len(libs) {
			t.Errorf("%s: needed_count %v, debug/elf %d", p, got, len(libs))
		}
		if syms, err := ref.DynamicSymbols(); err == nil {
			if got := v[colIndex(t, ELFColumns, "dynsym_count")]; int(got) != len(syms)+1 { // debug/elf skips the null symbol
				t.Errorf("%s: dynsym_count %v, debug/elf %d", p, got, len(syms))
			}
		}
		s, err := ELFHeaderSet(b)
		if err != nil || s.Validate() != nil {
			t.Fatalf("%s: set %v", p, err)
		}
	}
}

func colIndex(t testing.TB, cols []string, n string) int {
	for i, c := range cols {
		if c == n {
			return i
		}
	}
	t.Fatalf("no column %s", n)
	return -1
}

func TestELFMalformed(t *testing.T) {
	b, err := os.ReadFile("/bin/true")
	if err != nil || !IsELF(b) || b[4] != 2 {
		t.Skip("/bin/true is not a 64-bit ELF here")
	}
	mod := func(off int, size int, v uint64) []byte {
		c := bytes.Clone(b)
		switch size {
		case 2:
			binary.LittleEndian.PutUint16(c[off:], uint16(v))
		case 8:
			binary.LittleEndian.PutUint64(c[off:], v)
		}
		return c
	}
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"not ELF", []byte("MZ\x90\x00"), ErrNotELF},
		{"ident cut", b[:10], ErrTruncated},
		{"header cut", b[:40], ErrTruncated},
		{"bad class", append(append([]byte{}, b[:4]...), append([]byte{9}, b[5:]...)...), ErrNotELF},
		{"bad byte order", append(append([]byte{}, b[:5]...), append([]byte{7}, b[6:]...)...), ErrNotELF},
		{"phoff past end", mod(32, 8, 1<<40), ErrTruncated},
		{"phoff overflow", mod(32, 8, ^uint64(0)-10), ErrTruncated},
		{"phnum PN_XNUM", mod(56, 2, 0xffff), ErrMalformed},
		{"phentsize small", mod(54, 2, 8), ErrMalformed},
		{"shoff past end", mod(40, 8, 1<<40), ErrTruncated},
		{"shnum huge", mod(60, 2, 0xfff0), ErrMalformed},
		{"shentsize small", mod(58, 2, 1), ErrMalformed},
		{"truncated tail", b[:len(b)/2], ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseELF(c.in)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	// A damaged shstrndx or dynamic segment degrades, it does not fail.
	f, err := ParseELF(mod(62, 2, 0xfff))
	if err != nil || f.ShstrndxOK {
		t.Fatalf("bad shstrndx: %v", err)
	}
	if _, err := ELFFeatures(f); err != nil {
		t.Fatal(err)
	}
}
