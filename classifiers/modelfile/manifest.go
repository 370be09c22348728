package modelfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ManifestFile is the manifest of a model directory: the model files the
// orchestrator may serve, each pinned by the SHA-256 of the whole file, the
// way `plugins register` pins a plugin's binary. A model file that is not
// in the manifest, or whose digest differs, is not served.
//
//	{"models": [{"file": "fhids-cnn-lstm.smnmodel", "sha256": "…"}]}
//
// `scalemalnet train --out DIR/NAME.smnmodel` pins what it writes (Pin).
const ManifestFile = "models.json"

// MaxManifest bounds the manifest's size.
const MaxManifest = 1 << 20

// ErrNotPinned is wrapped by errors about a model file missing from the
// manifest or not matching its digest, and about a directory without one.
var ErrNotPinned = errors.New("model file not pinned")

// Manifest lists a directory's pinned model files.
type Manifest struct {
	Models []Pinned `json:"models"`
}

// Pinned is one model file of a Manifest: a base name in the directory.
type Pinned struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

// Entry is a pinned model file found by LoadDir.
type Entry struct {
	Path   string // absolute
	SHA256 string // of the whole file, as pinned and as found
	Header Header
}

// Skipped is a model file LoadDir did not take, with the reason.
type Skipped struct {
	Path string
	Err  error
}

// ReadManifest reads dir's manifest.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	f, err := os.Open(filepath.Join(dir, ManifestFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return m, fmt.Errorf("%w: %s has no %s", ErrNotPinned, dir, ManifestFile)
		}
		return m, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxManifest+1))
	if err != nil {
		return m, err
	}
	if len(b) > MaxManifest {
		return m, fmt.Errorf("%w: %s larger than %d bytes", ErrFormat, ManifestFile, MaxManifest)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("%w: %s: %v", ErrFormat, ManifestFile, err)
	}
	for _, p := range m.Models {
		if err := p.check(); err != nil {
			return m, err
		}
	}
	return m, nil
}

func (p Pinned) check() error {
	if p.File == "" || p.File != filepath.Base(p.File) || strings.HasPrefix(p.File, ".") || !strings.HasSuffix(p.File, ".smnmodel") {
		return fmt.Errorf("%w: %s: %q is not a model file name in the directory", ErrFormat, ManifestFile, p.File)
	}
	if b, err := hex.DecodeString(p.SHA256); err != nil || len(b) != sha256.Size {
		return fmt.Errorf("%w: %s: %q has no valid sha256", ErrFormat, ManifestFile, p.File)
	}
	return nil
}

// LoadDir returns the pinned model files of dir, which must be an
// absolute path: each listed file is read whole (within MaxHeader plus
// MaxWeights), its SHA-256 compared with the pin, and its header checked
// (bounds included). Files that fail, and *.smnmodel files the manifest
// does not list, are returned in skipped with the reason; a directory
// without a manifest gives an error wrapping ErrNotPinned.
func LoadDir(dir string) (entries []Entry, skipped []Skipped, err error) {
	if !filepath.IsAbs(dir) {
		return nil, nil, fmt.Errorf("model directory %q is not an absolute path", dir)
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, nil, err
	}
	listed := map[string]bool{}
	for _, p := range m.Models {
		path := filepath.Join(dir, p.File)
		listed[p.File] = true
		h, sum, err := readPinned(path, p.SHA256)
		if err != nil {
			skipped = append(skipped, Skipped{Path: path, Err: err})
			continue
		}
		entries = append(entries, Entry{Path: path, SHA256: sum, Header: h})
	}
	others, _ := filepath.Glob(filepath.Join(dir, "*.smnmodel"))
	for _, o := range others {
		if !listed[filepath.Base(o)] {
			skipped = append(skipped, Skipped{Path: o, Err: fmt.Errorf("%w: not in %s", ErrNotPinned, ManifestFile)})
		}
	}
	return entries, skipped, nil
}

// readPinned reads a whole model file, checks it against its pinned
// digest, then checks its header and weights.
func readPinned(path, want string) (Header, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return Header{}, "", err
	}
	defer f.Close()
	limit := int64(MaxHeader + MaxWeights + len(magic) + 4)
	if st, err := f.Stat(); err != nil {
		return Header{}, "", err
	} else if !st.Mode().IsRegular() || st.Size() > limit {
		return Header{}, "", fmt.Errorf("%w: %s: not a regular file of at most %d bytes", ErrFormat, path, limit)
	}
	hs := sha256.New()
	h, _, err := Read(io.TeeReader(io.LimitReader(f, limit), hs))
	if err != nil {
		return h, "", fmt.Errorf("%s: %w", path, err)
	}
	if _, err := io.Copy(hs, io.LimitReader(f, 1)); err != nil {
		return h, "", err
	}
	sum := hex.EncodeToString(hs.Sum(nil))
	if !strings.EqualFold(sum, want) {
		return h, "", fmt.Errorf("%w: %s has sha256 %s, pinned %s", ErrNotPinned, path, sum, want)
	}
	return h, sum, nil
}

// Pin records path's SHA-256 in the manifest of its directory, replacing
// an earlier pin of the same name (the manifest is written atomically).
func Pin(path string) error {
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	dir = filepath.Clean(dir)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	hs := sha256.New()
	_, err = io.Copy(hs, f)
	f.Close()
	if err != nil {
		return err
	}
	m, err := ReadManifest(dir)
	if err != nil && !errors.Is(err, ErrNotPinned) {
		return err
	}
	p := Pinned{File: name, SHA256: hex.EncodeToString(hs.Sum(nil))}
	if err := p.check(); err != nil {
		return err
	}
	out := []Pinned{p}
	for _, q := range m.Models {
		if q.File != name {
			out = append(out, q)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	b, err := json.MarshalIndent(Manifest{Models: out}, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ManifestFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, ManifestFile))
}
