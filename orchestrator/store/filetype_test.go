package store

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func detectFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("%s: %v", path, err)
	}
	return DetectType(bytes.NewReader(b), int64(len(b)))
}

func TestDetectTypeRealBinaries(t *testing.T) {
	got := detectFile(t, "/bin/true")
	t.Logf("/bin/true: %s", got)
	for _, want := range []string{"ELF 64-bit LSB", "x86-64", "dynamic (interpreter /lib"} {
		if !strings.Contains(got, want) {
			t.Errorf("/bin/true: %q lacks %q", got, want)
		}
	}
	// A pure-Go program built without cgo is a static executable.
	exe := buildStatic(t)
	got = detectFile(t, exe)
	t.Logf("static Go binary: %s", got)
	if !strings.HasPrefix(got, "ELF 64-bit LSB executable, x86-64") || !strings.HasSuffix(got, ", static") {
		t.Errorf("static Go binary: %q, want a static executable", got)
	}
	if _, err := os.Stat("/sbin/ldconfig"); err == nil {
		got = detectFile(t, "/sbin/ldconfig")
		t.Logf("/sbin/ldconfig: %s", got)
		if !strings.Contains(got, "static") || strings.Contains(got, "dynamic") {
			t.Errorf("/sbin/ldconfig: %q, want static(-pie)", got)
		}
	}
}

func TestDetectTypeTruncatedAndOdd(t *testing.T) {
	elf, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Skip(err)
	}
	cases := map[string]struct {
		in   []byte
		want string
	}{
		"empty":          {nil, "empty"},
		"magic only":     {[]byte("\x7fELF"), "ELF (truncated header)"},
		"truncated hdr":  {elf[:40], "ELF 64-bit LSB (truncated header)"},
		"no phdrs":       {elf[:64], "truncated (program headers past end of file)"},
		"bad class":      {[]byte("\x7fELF\x09\x01\x00\x00"), "ELF (invalid class 9)"},
		"script":         {[]byte("#!/bin/sh -e\necho hi\n"), "script, interpreter /bin/sh -e"},
		"script env":     {[]byte("#! /usr/bin/env python3\r\n"), "script, interpreter /usr/bin/env python3"},
		"bare shebang":   {[]byte("#!\n"), "script"},
		"shebang escape": {[]byte("#!/bin/\x1b[31msh\n"), "script, interpreter /bin/?[31msh"},
		"dos":            {[]byte("MZ\x90\x00"), "MS-DOS executable"},
		"text":           {[]byte("hello world\n"), "data"},
	}
	for name, c := range cases {
		if got := DetectType(bytes.NewReader(c.in), int64(len(c.in))); !strings.HasSuffix(got, c.want) {
			t.Errorf("%s: got %q, want suffix %q", name, got, c.want)
		}
	}
	rnd := make([]byte, 4096)
	rand.Read(rnd)
	rnd[0] = 'x'
	if got := DetectType(bytes.NewReader(rnd), int64(len(rnd))); got != "data" {
		t.Errorf("random: %q", got)
	}
}

// minimalPE builds the headers of a PE file: MZ stub, PE signature, COFF
// header and an optional header up to its Subsystem field.
func minimalPE(machine, magic, chars, subsystem uint16) []byte {
	b := make([]byte, 0x80+24+96)
	copy(b, "MZ")
	le16 := func(off int, v uint16) { b[off], b[off+1] = byte(v), byte(v>>8) }
	b[0x3c] = 0x80
	copy(b[0x80:], "PE\x00\x00")
	le16(0x80+4, machine)
	le16(0x80+22, chars)
	le16(0x80+24, magic)
	le16(0x80+24+68, subsystem)
	return b
}

func TestDetectTypePE(t *testing.T) {
	cases := []struct {
		in   []byte
		want string
	}{
		{minimalPE(0x8664, 0x20b, 0x0022, 3), "PE32+ executable (console) x86-64"},
		{minimalPE(0x14c, 0x10b, 0x2102, 2), "PE32 DLL (GUI) Intel 80386"},
		{minimalPE(0x14c, 0x10b, 0x0102, 2)[:0x80+30], "PE32 executable (truncated) Intel 80386"},
		{minimalPE(0x14c, 0x999, 0, 2), "PE executable (unknown optional header magic 0x999)"},
	}
	for _, c := range cases {
		if got := DetectType(bytes.NewReader(c.in), int64(len(c.in))); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
	// e_lfanew pointing far past the end must not be followed.
	b := minimalPE(0x14c, 0x10b, 0, 2)
	b[0x3c], b[0x3f] = 0xff, 0x7f
	if got := DetectType(bytes.NewReader(b), int64(len(b))); got != "MS-DOS executable" {
		t.Errorf("bad e_lfanew: %q", got)
	}
}

// FuzzDetectType checks the detector never panics, reads only within the
// declared size and returns a short printable description.
func FuzzDetectType(f *testing.F) {
	for _, p := range []string{"/bin/true", "/sbin/ldconfig"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b[:min(len(b), 8192)])
		}
	}
	f.Add(minimalPE(0x8664, 0x20b, 0x22, 3))
	f.Add([]byte("#!/bin/sh\n"))
	f.Add([]byte("\x7fELF\x01\x02\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := DetectType(strictReader{b}, int64(len(b)))
		if got == "" || len(got) > 1024 || printable(got, 1024) != got {
			t.Fatalf("bad description %q", got)
		}
	})
}

// strictReader fails the test (by panicking) on reads past its end, which
// the detector's bounds checks must prevent.
type strictReader struct{ b []byte }

func (s strictReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(s.b)) {
		if !(off == 0 && len(p) <= 512) { // the initial head read is clamped to size
			panic("read past end")
		}
	}
	return bytes.NewReader(s.b).ReadAt(p, off)
}

// buildStatic compiles a trivial Go program with CGO_ENABLED=0.
func buildStatic(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o644)
	out := filepath.Join(dir, "static")
	cmd := exec.Command(goBin, "build", "-o", out, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}
