// Package host is the orchestrator's side of the plugin system: it finds
// plugins (built into the scalemalnet binary, or registered in the external
// plugin directory), verifies external binaries by SHA-256 before running
// them (go-plugin's SecureConfig), starts each as its own process, watches
// its health, restarts it when it dies, and puts a deadline on every call so
// a crashing or hanging plugin costs one vote and nothing else.
package host

import (
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

// DirName is the external plugin directory's name inside the orchestrator's
// data directory: DATA_DIR/plugins.
const DirName = "plugins"

// ManifestFile is the registry of external plugins in the plugin directory:
// only binaries listed there with their SHA-256 are ever started.
const ManifestFile = "plugins.json"

// Entry registers one external plugin binary.
type Entry struct {
	Name   string          `json:"name"`
	Path   string          `json:"path"`   // binary, relative to the plugin directory
	SHA256 string          `json:"sha256"` // of the binary, checked at every start
	Config json.RawMessage `json:"config,omitempty"`
}

// Manifest is the content of plugins.json.
type Manifest struct {
	Plugins []Entry `json:"plugins"`
}

// Errors of plugin registration and discovery.
var (
	ErrManifest      = errors.New("invalid plugin manifest")
	ErrNotRegistered = errors.New("plugin binary not registered")
)

// ReadManifest reads dir/plugins.json; a missing file is an empty manifest.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%w: %s: %v", ErrManifest, ManifestFile, err)
	}
	seen := map[string]bool{}
	for _, e := range m.Plugins {
		if e.Name == "" || seen[e.Name] {
			return m, fmt.Errorf("%w: empty or duplicate name %q", ErrManifest, e.Name)
		}
		seen[e.Name] = true
		if e.Path == "" || filepath.IsAbs(e.Path) || strings.Contains(e.Path, "..") {
			return m, fmt.Errorf("%w: %s: path %q must be relative, inside the plugin directory", ErrManifest, e.Name, e.Path)
		}
		if _, err := hex.DecodeString(e.SHA256); err != nil || len(e.SHA256) != 64 {
			return m, fmt.Errorf("%w: %s: sha256 %q is not a SHA-256 hex digest", ErrManifest, e.Name, e.SHA256)
		}
	}
	return m, nil
}

// Register adds (or updates) the binary at path to dir's manifest under
// name, recording its current SHA-256. The binary must be inside dir.
func Register(dir, name, path string, config json.RawMessage) (Entry, error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return Entry{}, err
	}
	absPath, err := filepath.Abs(path)
	if err != nil {
		return Entry{}, err
	}
	rel, err := filepath.Rel(absDir, absPath)
	if err != nil || strings.HasPrefix(rel, "..") {
		return Entry{}, fmt.Errorf("%w: %s is not inside the plugin directory %s (copy it there first)", ErrManifest, path, dir)
	}
	sum, err := FileSHA256(absPath)
	if err != nil {
		return Entry{}, err
	}
	m, err := ReadManifest(absDir)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Name: name, Path: rel, SHA256: sum, Config: config}
	replaced := false
	for i := range m.Plugins {
		if m.Plugins[i].Name == name {
			m.Plugins[i], replaced = e, true
		}
	}
	if !replaced {
		m.Plugins = append(m.Plugins, e)
	}
	sort.Slice(m.Plugins, func(i, j int) bool { return m.Plugins[i].Name < m.Plugins[j].Name })
	b, _ := json.MarshalIndent(m, "", "  ")
	tmp := filepath.Join(absDir, ManifestFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return Entry{}, err
	}
	return e, os.Rename(tmp, filepath.Join(absDir, ManifestFile))
}

// FileSHA256 hashes a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// unregistered lists executable files in dir that the manifest does not
// name, so operators see why a binary they dropped there is not loaded.
func unregistered(dir string, m Manifest) []string {
	known := map[string]bool{ManifestFile: true}
	for _, e := range m.Plugins {
		known[filepath.Clean(e.Path)] = true
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, de := range ents {
		if de.IsDir() || known[de.Name()] {
			continue
		}
		if info, err := de.Info(); err == nil && info.Mode()&0o111 != 0 {
			out = append(out, de.Name())
		}
	}
	return out
}
