package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Artifact describes a committed artifact file.
type Artifact struct {
	Path    string    `json:"path"` // relative to the data directory, e.g. artifacts/<id>/trace.jsonl.gz
	Size    int64     `json:"size"`
	SHA256  string    `json:"sha256"`
	Created time.Time `json:"created"`
}

// ArtifactWriter writes an artifact to a temporary file; Commit moves it
// into place. Exactly one of Commit or Abort must be called.
type ArtifactWriter struct {
	s     *Store
	jobID string
	name  string
	f     *os.File
	h     hash.Hash
	n     int64
	done  bool
}

// CreateArtifact starts writing artifact name of an existing job. Names are
// single path elements of [A-Za-z0-9._-] not starting with a dot.
func (s *Store) CreateArtifact(jobID, name string) (*ArtifactWriter, error) {
	if err := validArtifactName(name); err != nil {
		return nil, err
	}
	if !ValidID(jobID) {
		return nil, fmt.Errorf("store: %w: job id %q", ErrInvalid, printable(jobID, 64))
	}
	if _, err := s.Job(jobID); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(s.layout.Tmp(), "artifact-*")
	if err != nil {
		return nil, fmt.Errorf("store: artifact temp file: %w", err)
	}
	return &ArtifactWriter{s: s, jobID: jobID, name: name, f: f, h: sha256.New()}, nil
}

// Write appends to the artifact.
func (w *ArtifactWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("store: artifact %s: write after commit or abort", w.name)
	}
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// Commit syncs the file, renames it to artifacts/<job-id>/<name> (replacing
// an earlier version) and records it.
func (w *ArtifactWriter) Commit() (Artifact, error) {
	if w.done {
		return Artifact{}, fmt.Errorf("store: artifact %s: already committed or aborted", w.name)
	}
	w.done = true
	fail := func(err error) (Artifact, error) {
		w.f.Close()
		os.Remove(w.f.Name())
		return Artifact{}, fmt.Errorf("store: commit artifact %s/%s: %w", w.jobID, w.name, err)
	}
	if err := w.f.Chmod(0o400); err != nil {
		return fail(err)
	}
	if err := w.f.Sync(); err != nil {
		return fail(err)
	}
	if err := w.f.Close(); err != nil {
		return fail(err)
	}
	rel := filepath.Join(defaults.ArtifactsDir, w.jobID, w.name)
	dir := w.s.layout.ArtifactDir(w.jobID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(err)
	}
	if err := os.Rename(w.f.Name(), filepath.Join(w.s.dir, rel)); err != nil {
		return fail(err)
	}
	if err := syncDir(dir); err != nil {
		return Artifact{}, fmt.Errorf("store: sync %s: %w", dir, err)
	}
	a := Artifact{Path: rel, Size: w.n, SHA256: hex.EncodeToString(w.h.Sum(nil)), Created: now()}
	v, err := json.Marshal(a)
	if err != nil {
		return Artifact{}, err
	}
	err = w.s.update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bktArtifacts).CreateBucketIfNotExists([]byte(w.jobID))
		if err != nil {
			return err
		}
		return b.Put([]byte(w.name), v)
	})
	if err != nil {
		return Artifact{}, fmt.Errorf("store: record artifact %s: %w", rel, err)
	}
	return a, nil
}

// Abort discards the artifact. It is safe to call after Commit (no-op), so
// it can be deferred.
func (w *ArtifactWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	return os.Remove(w.f.Name())
}

// Artifact returns a committed artifact's record.
func (s *Store) Artifact(jobID, name string) (Artifact, error) {
	var a Artifact
	err := s.view(func(tx *bolt.Tx) error {
		var v []byte
		if b := tx.Bucket(bktArtifacts).Bucket([]byte(jobID)); b != nil {
			v = b.Get([]byte(name))
		}
		if v == nil {
			return fmt.Errorf("store: artifact %q of job %q: %w", printable(name, 64), printable(jobID, 64), ErrNotFound)
		}
		return json.Unmarshal(v, &a)
	})
	return a, err
}

// OpenArtifact opens a committed artifact for reading.
func (s *Store) OpenArtifact(jobID, name string) (*os.File, error) {
	if err := validArtifactName(name); err != nil {
		return nil, err
	}
	if !ValidID(jobID) {
		return nil, fmt.Errorf("store: %w: job id %q", ErrInvalid, printable(jobID, 64))
	}
	f, err := os.Open(s.layout.Artifact(jobID, name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("store: artifact %s of job %s: %w", name, jobID, ErrNotFound)
		}
		return nil, fmt.Errorf("store: %w", err)
	}
	return f, nil
}
