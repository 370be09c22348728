package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pool.json")
	if err := WriteFile(p, []byte("one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "two\n" {
		t.Fatalf("content %q, %v", b, err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	onlyFile(t, dir, "pool.json")
}

// The process "dies" after the new content is durable but before the
// rename: the old file is intact and no temporary file is left behind.
func TestWriteFileKilledBeforeRename(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pool.json")
	if err := WriteFile(p, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	crash := errors.New("killed")
	var sawTmp string
	beforeRename = func(tmp string) error {
		sawTmp = tmp
		b, err := os.ReadFile(tmp) // the new content is complete before the rename
		if err != nil || string(b) != "new\n" {
			t.Errorf("temporary file before the rename: %q, %v", b, err)
		}
		return crash
	}
	defer func() { beforeRename = func(string) error { return nil } }()
	if err := WriteFile(p, []byte("new\n"), 0o600); !errors.Is(err, crash) {
		t.Fatalf("got %v, want the injected failure", err)
	}
	if sawTmp == "" || filepath.Dir(sawTmp) != dir {
		t.Fatalf("temporary file %q not in the target's directory", sawTmp)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "old\n" {
		t.Fatalf("after the failure the file is %q, %v; want the old content", b, err)
	}
	onlyFile(t, dir, "pool.json")
}

func TestWriteFileNoDir(t *testing.T) {
	if err := WriteFile(filepath.Join(t.TempDir(), "missing", "x"), []byte("x"), 0o600); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

func onlyFile(t *testing.T, dir, name string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != name {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("directory holds %v, want only %s", names, name)
	}
}
