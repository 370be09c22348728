package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrInsecureToken is wrapped when a token file is readable by others.
var ErrInsecureToken = errors.New("token file is accessible by group or others")

// LoadOrCreateToken returns the API token stored at path, creating it (32
// random bytes, hex, mode 0600) if it does not exist. An existing file that
// group or others can access, or that is not a regular file, is refused.
func LoadOrCreateToken(path string) (string, error) {
	for attempt := 0; attempt < 2; attempt++ {
		tok, err := readToken(path)
		if !errors.Is(err, fs.ErrNotExist) {
			return tok, err
		}
		tok, err = createToken(path)
		if !errors.Is(err, fs.ErrExist) {
			return tok, err
		}
		// Another process created it first; read theirs.
	}
	return "", fmt.Errorf("token %s: created and removed concurrently", path)
}

func readToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("token %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("token %s: not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("token %s: %w (mode %04o); run: chmod 600 %s", path, ErrInsecureToken, perm, path)
	}
	b := make([]byte, 1024)
	n, err := f.Read(b)
	if err != nil && n == 0 {
		return "", fmt.Errorf("token %s: %w", path, err)
	}
	tok := strings.TrimSpace(string(b[:n]))
	if len(tok) < 16 || strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("token %s: malformed token (want one line of at least 16 characters)", path)
	}
	return tok, nil
}

func createToken(path string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	tok := hex.EncodeToString(b[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, werr := f.WriteString(tok + "\n")
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(path)
		return "", fmt.Errorf("token %s: %w", path, err)
	}
	return tok, nil
}
