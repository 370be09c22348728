package datasets

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestDirFromEnv(t *testing.T) {
	d := t.TempDir()
	t.Setenv(EnvDir, d)
	if got, err := Dir(); err != nil || got != d {
		t.Fatalf("Dir() = %q, %v", got, err)
	}
	t.Setenv(EnvDir, filepath.Join(d, "missing"))
	if _, err := Dir(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing dir: %v", err)
	}
}
