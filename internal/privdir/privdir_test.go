package privdir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Finding 10 (issue 13): the non-root socket directory /tmp/scalemalnet-<hash>
// was made with MkdirAll, which accepts a directory another user made first
// (and then owns the VMs' agent sockets).
func TestEnsure(t *testing.T) {
	base := t.TempDir()
	fresh := filepath.Join(base, "fresh")
	if err := Ensure(fresh); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(fresh); st.Mode().Perm() != 0o700 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
	if err := Ensure(fresh); err != nil {
		t.Errorf("second Ensure: %v", err)
	}
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o700)
	os.Chmod(open, 0o777)
	if err := Ensure(open); !errors.Is(err, ErrInsecure) {
		t.Errorf("world-writable dir accepted: %v", err)
	}
	link := filepath.Join(base, "link")
	os.Symlink(fresh, link)
	if err := Ensure(link); !errors.Is(err, ErrInsecure) {
		t.Errorf("symlink accepted: %v", err)
	}
	file := filepath.Join(base, "file")
	os.WriteFile(file, nil, 0o600)
	if err := Ensure(file); !errors.Is(err, ErrInsecure) {
		t.Errorf("file accepted: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Log("not root: the other-owner case needs chown")
		return
	}
	other := filepath.Join(base, "other")
	os.Mkdir(other, 0o700)
	if err := os.Chown(other, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := Ensure(other); !errors.Is(err, ErrInsecure) {
		t.Errorf("directory of another user accepted: %v", err)
	}
}
