package agent

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// elfHeader makes a minimal ELF header: class 1 or 2, little-endian, with
// the given machine and, when interp is set, one PT_INTERP program header.
func elfHeader(class byte, machine uint16, interp string) []byte {
	le := binary.LittleEndian
	b := make([]byte, 512)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = class, 1, 1
	le.PutUint16(b[18:], machine)
	if interp == "" {
		return b
	}
	if class == 2 {
		le.PutUint64(b[32:], 64) // phoff
		le.PutUint16(b[54:], 56) // phentsize
		le.PutUint16(b[56:], 1)  // phnum
		ph := b[64:]
		le.PutUint32(ph[0:], 3) // PT_INTERP
		le.PutUint64(ph[8:], 200)
		le.PutUint64(ph[32:], uint64(len(interp)+1))
	} else {
		le.PutUint32(b[28:], 52)
		le.PutUint16(b[42:], 32)
		le.PutUint16(b[44:], 1)
		ph := b[52:]
		le.PutUint32(ph[0:], 3)
		le.PutUint32(ph[4:], 200)
		le.PutUint32(ph[16:], uint32(len(interp)+1))
	}
	copy(b[200:], interp)
	return b
}

func peHeader(machine uint16, dll bool) []byte {
	b := make([]byte, 512)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80)
	copy(b[0x80:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(b[0x84:], machine)
	if dll {
		binary.LittleEndian.PutUint16(b[0x80+22:], 0x2000|0x0002)
	}
	return b
}

// fakeRoot is a guest root with the interpreters and Wine loaders present.
func fakeRoot(t testing.TB) string {
	root := t.TempDir()
	for _, p := range []string{"/bin/sh", "/bin/bash", "/usr/bin/python3", "/usr/bin/perl", "/usr/bin/env",
		"/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux.so.2", "/usr/lib/wine/wine64", "/usr/lib/wine/wine"} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestClassify(t *testing.T) {
	root := fakeRoot(t)
	work := t.TempDir()
	cases := []struct {
		name, file string
		data       []byte
		format     string
		path       string // program executed ("" = the sample itself)
		refuse     string // substring of the refusal
	}{
		{name: "static x86-64", data: elfHeader(2, 62, ""), format: FormatELF64},
		{name: "dynamic x86-64", data: elfHeader(2, 62, "/lib64/ld-linux-x86-64.so.2"), format: FormatELF64},
		{name: "dynamic i386", data: elfHeader(1, 3, "/lib/ld-linux.so.2"), format: FormatELF32},
		{name: "musl interpreter missing", data: elfHeader(2, 62, "/lib/ld-musl-x86_64.so.1"), refuse: "needs the program interpreter /lib/ld-musl-x86_64.so.1"},
		{name: "ARM", data: elfHeader(1, 40, "/lib/ld-linux-armhf.so.3"), refuse: "ELF for ARM: this guest runs x86-64 and i386"},
		{name: "AArch64", data: elfHeader(2, 183, ""), refuse: "ELF for AArch64"},
		{name: "MIPS big-endian", data: func() []byte { b := elfHeader(1, 0, ""); b[5] = 2; b[19] = 8; return b }(), refuse: "big-endian ELF (machine MIPS)"},
		{name: "truncated ELF", data: []byte("\x7fELF\x02\x01"), refuse: "ELF header truncated"},
		{name: "bash script", data: []byte("#!/bin/bash\necho hi\n"), format: FormatScript},
		{name: "python via env", data: []byte("#!/usr/bin/env python3\nprint(1)\n"), format: FormatScript},
		{name: "ruby via env", data: []byte("#!/usr/bin/env ruby\nputs 1\n"), refuse: "runs \"ruby\" through env, which this guest lacks"},
		{name: "ruby missing", data: []byte("#!/usr/bin/ruby\nputs 1\n"), refuse: "interpreter /usr/bin/ruby is not in this guest"},
		{name: "python by extension", file: "x.py", data: []byte("print(1)\n"), format: FormatScript, path: "/usr/bin/python3"},
		{name: "unknown text", data: []byte("hello world"), refuse: "not an ELF or PE executable nor a script"},
		{name: "empty", data: nil, refuse: "empty"},
		{name: "PE64", data: peHeader(0x8664, false), format: FormatPE64, path: "/usr/lib/wine/wine64"},
		{name: "PE32", data: peHeader(0x14c, false), format: FormatPE32, path: "/usr/lib/wine/wine"},
		{name: "DLL64", data: peHeader(0x8664, true), format: FormatDLL64, path: "/usr/lib/wine/wine64"},
		{name: "PE ARM64", data: peHeader(0xaa64, false), refuse: "PE for ARM64"},
		{name: "truncated PE", data: []byte("MZ\x90\x00"), refuse: "not a valid PE file: DOS header truncated"},
		{name: "PE offset beyond the file", data: func() []byte { b := peHeader(0x8664, false)[:0x60]; return b }(), refuse: "beyond the end of the file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(work, strings.ReplaceAll(c.name, " ", "_"))
			if err := os.WriteFile(file, c.data, 0o755); err != nil {
				t.Fatal(err)
			}
			name := c.file
			if name == "" {
				name = "sample"
			}
			w := Wine{Loader64: "/usr/lib/wine/wine64", Loader32: "/usr/lib/wine/wine", Prefix: "/root/.wine"}
			l, err := Classify(root, file, name, "", w)
			if c.refuse != "" {
				if !errors.Is(err, ErrUnrunnable) || !strings.Contains(err.Error(), c.refuse) {
					t.Fatalf("err %v, want a refusal containing %q", err, c.refuse)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.Format != c.format {
				t.Errorf("format %q, want %q", l.Format, c.format)
			}
			want := c.path
			if want == "" {
				want = file
			}
			if l.Path != want {
				t.Errorf("path %q, want %q", l.Path, want)
			}
			if strings.HasPrefix(c.format, "pe") {
				if !l.Wine || len(l.Env) == 0 || !strings.Contains(strings.Join(l.Env, " "), "+relay") {
					t.Errorf("PE launch without Wine's relay environment: %+v", l)
				}
				if c.format == FormatDLL64 && (len(l.Args) != 3 || l.Args[1] != "rundll32.exe" || !strings.HasSuffix(l.Args[2], ".dll,#1") || !strings.HasPrefix(l.Args[2], "Z:\\")) {
					t.Errorf("DLL args %q", l.Args)
				}
			}
		})
	}
}

func TestClassifyWithoutWine(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "s")
	if err := os.WriteFile(file, peHeader(0x8664, false), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Classify(dir, file, "s.exe", "", DefaultWine)
	if !errors.Is(err, ErrUnrunnable) || !strings.Contains(err.Error(), "needs Wine") {
		t.Fatalf("err %v", err)
	}
}

func FuzzClassify(f *testing.F) {
	f.Add(elfHeader(2, 62, "/lib64/ld-linux-x86-64.so.2"))
	f.Add(elfHeader(1, 3, "/lib/ld-linux.so.2"))
	f.Add(peHeader(0x8664, true))
	f.Add([]byte("#!/bin/sh\n"))
	root := fakeRoot(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		file := filepath.Join(dir, "s")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := Classify(root, file, "s", "", DefaultWine)
		if err != nil && !errors.Is(err, ErrUnrunnable) {
			t.Fatalf("error of another kind: %v", err)
		}
		if err == nil && l.Path == "" {
			t.Fatalf("launch without a program: %+v", l)
		}
	})
}

func TestLoaderError(t *testing.T) {
	for out, want := range map[string]string{
		"x: error while loading shared libraries: libfoo.so.1: cannot open shared object file: No such file or directory\n":             "the dynamic loader could not start it: x: error while loading shared libraries: libfoo.so.1",
		"err:module:map_image_into_view file probably truncated\nShellExecuteEx failed: Bad EXE format for Z:\\tmp\\smn\\sample.exe.\n": "Wine could not start it: ShellExecuteEx failed: Bad EXE format",
		"ordinary failure\n": "",
	} {
		got := loaderError(trace.Summary{Outcome: trace.OutcomeExited, ExitCode: 1, Stdout: out})
		if !strings.HasPrefix(got, want) || (want == "" && got != "") {
			t.Errorf("loaderError(%q) = %q, want prefix %q", out, got, want)
		}
	}
	if got := loaderError(trace.Summary{Outcome: trace.OutcomeExited, ExitCode: 0, Stdout: "Bad EXE format"}); got != "" {
		t.Errorf("a run that exited 0 got %q", got)
	}
}
