//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetRelayInclude(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "user.reg")
	orig := "WINE REGISTRY Version 2\n;; All keys relative to \\\\User\\\\S-1-5-21\n\n#arch=win64\n"
	if err := os.WriteFile(reg, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := setRelayInclude(dir, "CreateFileA;RegSetValueExA"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(reg)
	s := string(b)
	if !strings.HasPrefix(s, orig) || !strings.Contains(s, "\n[Software\\\\Wine\\\\Debug] ") ||
		!strings.HasSuffix(s, "\n\"RelayInclude\"=\"CreateFileA;RegSetValueExA\"\n") {
		t.Fatalf("user.reg:\n%s", s)
	}
	if err := setRelayInclude(dir, `a"b`); err == nil {
		t.Errorf("a value with a quote was written")
	}
	if err := setRelayInclude(filepath.Join(dir, "none"), "x"); err == nil {
		t.Errorf("no error for a prefix without user.reg")
	}
}
