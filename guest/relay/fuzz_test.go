package relay

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that Parse never panics, keeps its bounds and reports
// every failure as ErrNotRelay. Seeds: the recorded relay lines of testdata
// and the hand-written cases.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.log")
	for _, name := range files {
		for i, line := range readLines(f, filepath.Base(name)) {
			if i%7 == 0 { // a sample of each file keeps the seed set small
				f.Add(line)
			}
		}
	}
	for _, s := range []string{
		`0024:Call KERNEL32.CreateFileW(140004000 L"smn-\00e9\d83d\de00\t\"q\".txt",40000000) ret=1`,
		`  1.005:0024:0028:Call m.f({1,2,3,4},1.5,"a\x"...,L"\d8") ret=2`,
		`0024:Call KERNEL32.CreateFileA(0040a000 "C:\\us`, `0024:Ret  m.f() retval=`, "0024:Call", "\x00:Call .(",
	} {
		f.Add([]byte(s))
	}
	if _, err := os.Stat("testdata"); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		l, err := Parse(line)
		if err != nil {
			if !errors.Is(err, ErrNotRelay) {
				t.Fatalf("error %v does not wrap ErrNotRelay", err)
			}
			if l.Kind != 0 || l.Module != "" || l.Args != nil {
				t.Fatalf("error with a result: %+v", l)
			}
			return
		}
		if l.Kind != Call && l.Kind != Ret {
			t.Fatalf("kind %v", l.Kind)
		}
		if l.Module == "" || l.Func == "" || len(l.Module) > maxName || len(l.Func) > maxName {
			t.Fatalf("name %q.%q", l.Module, l.Func)
		}
		if len(l.Args) > MaxArgs || len(l.Path) > MaxPath {
			t.Fatalf("%d args, path %d bytes", len(l.Args), len(l.Path))
		}
		for _, a := range l.Args {
			if len(a) > MaxArgLen {
				t.Fatalf("arg of %d bytes", len(a))
			}
		}
		if l.Kind == Ret && (len(l.Args) != 0 || l.Path != "") {
			t.Fatalf("return with arguments: %+v", l)
		}
		if len(l.Retval) > maxHexLen || len(l.Caller) > maxHexLen {
			t.Fatalf("retval %q caller %q", l.Retval, l.Caller)
		}
		// Wide strings decode to valid UTF-8 (narrow ones keep Windows bytes).
		_ = utf8.ValidString(l.Path)
		ParseDLLEntry(line)
	})
}
