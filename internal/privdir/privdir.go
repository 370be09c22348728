// Package privdir makes a private directory (for sockets and other
// per-instance runtime files) in a place others can write to, such as
// /tmp: created with mode 0700, and refused if it already exists as
// anything but a directory of the current user that no one else can enter.
package privdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrInsecure is returned for a path that exists but is not private to the
// current user: another owner, group or other permissions, or not a
// directory (a symlink included).
var ErrInsecure = errors.New("directory is not private to this user")

// Ensure creates dir with mode 0700 (its parent with MkdirAll) or checks
// the existing one: it must be a real directory owned by the effective
// user, with no group or other permission bits. It never changes an
// existing directory.
func Ensure(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return Check(dir)
}

// Check verifies that dir is a private directory of the effective user.
func Check(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: %s is a %s, not a directory", ErrInsecure, dir, st.Mode().Type())
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
		return fmt.Errorf("%w: %s is owned by uid %d, not %d", ErrInsecure, dir, sys.Uid, os.Geteuid())
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o (group or other may enter)", ErrInsecure, dir, perm)
	}
	return nil
}
