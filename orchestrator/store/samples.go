package store

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// sampleRecord is the samples/<sha256> value.
type sampleRecord struct {
	Sample    jobs.Sample `json:"sample"` // name as first submitted
	FirstSeen time.Time   `json:"first_seen"`
}

// ctxReader fails reads once ctx is done, so a cancelled upload stops.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// PutSample stores the content of r, at most maxSize bytes (no limit if
// maxSize <= 0), under its SHA-256 and returns its description with name
// sanitised (see SanitizeName). More than maxSize bytes fail with
// ErrTooLarge and leave nothing behind. Storing content already present is
// idempotent.
func (s *Store) PutSample(ctx context.Context, r io.Reader, name string, maxSize int64) (jobs.Sample, error) {
	tmp, err := os.CreateTemp(s.layout.Tmp(), "sample-*")
	if err != nil {
		return jobs.Sample{}, fmt.Errorf("store: sample temp file: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h256, h1, h5 := sha256.New(), sha1.New(), md5.New()
	src := io.Reader(ctxReader{ctx, r})
	if maxSize > 0 {
		src = io.LimitReader(src, maxSize+1)
	}
	n, err := io.Copy(io.MultiWriter(tmp, h256, h1, h5), src)
	if err != nil {
		return jobs.Sample{}, fmt.Errorf("store: read sample: %w", err)
	}
	if maxSize > 0 && n > maxSize {
		return jobs.Sample{}, fmt.Errorf("store: sample: %w: more than %d bytes", ErrTooLarge, maxSize)
	}
	smp := jobs.Sample{
		SHA256: hex.EncodeToString(h256.Sum(nil)),
		SHA1:   hex.EncodeToString(h1.Sum(nil)),
		MD5:    hex.EncodeToString(h5.Sum(nil)),
		Size:   n,
		Name:   SanitizeName(name),
		Type:   DetectType(tmp, n),
	}
	// From here to the record, GC must not run its sample phase: it could
	// remove the file found below before the record is written.
	s.sampleMu.Lock()
	defer s.sampleMu.Unlock()
	s.recent[smp.SHA256] = now()
	final := s.samplePath(smp.SHA256)
	if st, err := os.Stat(final); err == nil && st.Mode().IsRegular() && st.Size() == n {
		// Already stored: the temp copy is discarded by the deferred cleanup.
	} else {
		if err := tmp.Chmod(0o444); err != nil {
			return jobs.Sample{}, fmt.Errorf("store: sample: %w", err)
		}
		if err := tmp.Sync(); err != nil {
			return jobs.Sample{}, fmt.Errorf("store: sync sample: %w", err)
		}
		if err := tmp.Close(); err != nil {
			return jobs.Sample{}, fmt.Errorf("store: close sample: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
			return jobs.Sample{}, fmt.Errorf("store: sample dir: %w", err)
		}
		if err := os.Rename(tmp.Name(), final); err != nil {
			return jobs.Sample{}, fmt.Errorf("store: sample: %w", err)
		}
		committed = true
		if err := syncDir(filepath.Dir(final)); err != nil {
			return jobs.Sample{}, fmt.Errorf("store: sync sample dir: %w", err)
		}
	}
	err = s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktSamples)
		if b.Get([]byte(smp.SHA256)) != nil {
			return nil
		}
		v, err := json.Marshal(sampleRecord{Sample: smp, FirstSeen: time.Now().UTC()})
		if err != nil {
			return err
		}
		if err := b.Put([]byte(smp.SHA256), v); err != nil {
			return err
		}
		return putSampleMD5(tx, smp)
	})
	if err != nil {
		return jobs.Sample{}, fmt.Errorf("store: record sample: %w", err)
	}
	return smp, nil
}

// Sample returns a stored sample's description, with the name it was first
// submitted under.
func (s *Store) Sample(sha256 string) (jobs.Sample, error) {
	if err := validSHA256(sha256); err != nil {
		return jobs.Sample{}, err
	}
	var rec sampleRecord
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bktSamples).Get([]byte(sha256))
		if v == nil {
			return fmt.Errorf("store: sample %s: %w", sha256, ErrNotFound)
		}
		return json.Unmarshal(v, &rec)
	})
	return rec.Sample, err
}

func (s *Store) samplePath(sha string) string {
	return s.layout.Sample(sha)
}

// SamplePath returns the absolute path of a stored sample's content.
func (s *Store) SamplePath(sha256 string) (string, error) {
	if err := validSHA256(sha256); err != nil {
		return "", err
	}
	p := s.samplePath(sha256)
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("store: sample %s: %w", sha256, ErrNotFound)
		}
		return "", fmt.Errorf("store: %w", err)
	}
	return p, nil
}

// OpenSample opens a stored sample's content for reading.
func (s *Store) OpenSample(sha256 string) (*os.File, error) {
	p, err := s.SamplePath(sha256)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("store: sample %s: %w", sha256, ErrNotFound)
		}
		return nil, fmt.Errorf("store: %w", err)
	}
	return f, nil
}
