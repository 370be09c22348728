package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Usage is what the data directory holds on disk, as found by walking it
// (so it includes files GC has yet to sweep).
type Usage struct {
	Samples       int   `json:"samples"`        // sample files
	SampleBytes   int64 `json:"sample_bytes"`   // their total size
	Artifacts     int   `json:"artifacts"`      // artifact files, all jobs
	ArtifactBytes int64 `json:"artifact_bytes"` // their total size
	DBBytes       int64 `json:"db_bytes"`       // the bbolt file
	TotalBytes    int64 `json:"total_bytes"`    // the three together
}

// Usage measures the samples, the artifacts and the database file.
func (s *Store) Usage() (Usage, error) {
	var u Usage
	var err error
	if u.Samples, u.SampleBytes, err = dirUsage(s.layout.Samples()); err != nil {
		return Usage{}, err
	}
	if u.Artifacts, u.ArtifactBytes, err = dirUsage(s.layout.Artifacts()); err != nil {
		return Usage{}, err
	}
	st, err := os.Stat(s.layout.DB())
	if err != nil {
		return Usage{}, fmt.Errorf("store: usage: %w", err)
	}
	u.DBBytes = st.Size()
	u.TotalBytes = u.SampleBytes + u.ArtifactBytes + u.DBBytes
	return u, nil
}

// dirUsage counts the regular files under dir and their bytes. Files that
// vanish during the walk (a concurrent GC) are skipped.
func dirUsage(dir string) (n int, bytes int64, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		n++
		bytes += info.Size()
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("store: usage of %s: %w", dir, err)
	}
	return n, bytes, nil
}

// FreeBytes is the space available to this (unprivileged) process on the
// data directory's file system.
func (s *Store) FreeBytes() (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(s.dir, &st); err != nil {
		return 0, fmt.Errorf("store: statfs %s: %w", s.dir, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
