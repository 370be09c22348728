// Package store keeps the orchestrator's state: job and sample metadata in a
// bbolt database, and large files (samples, artifacts) on disk beside it.
//
// Data directory layout:
//
//	<dir>/
//	  scalemalnet.db                bbolt database, schema below
//	  samples/ab/cd/<sha256>        sample content, addressed by SHA-256, mode 0444
//	  artifacts/<job-id>/<name>     per-job artifacts, e.g. trace.jsonl.gz
//	  tmp/                          files being written; renamed into place when complete
//
// Database schema (version 3). Keys are strings unless noted; values are JSON
// unless noted:
//
//	meta/
//	  version                 -> uint64 big-endian, the schema version (SchemaVersion)
//	  created                 -> RFC 3339 time the database was initialised (text)
//	samples/
//	  <sha256>                -> sampleRecord (jobs.Sample as first seen, first-seen time)
//	samples-md5/              index of samples/ by MD5 (version 3), kept consistent
//	  <md5 hex>               -> <sha256> (text) with samples/ in every transaction
//	jobs/
//	  <job-id>                -> jobs.Job
//	states/                   index of jobs by state, kept consistent with jobs/ in
//	  <state>/                every transaction that writes a job
//	    <job-id>              -> empty; ids sort by creation time, so
//	                             states/queued/ is the FIFO queue
//	reports/
//	  <job-id>                -> report.Report
//	artifacts/
//	  <job-id>/
//	    <name>                -> Artifact
//	index/                    search indexes (version 2; search.go): keys
//	  sha256/ sha1/ md5/      "<value>\x00<job-id>" -> empty, kept consistent
//	  verdict/ family/        with jobs/ like states/
//	  signature/
//
// Version 1 had no index/; opening it builds the indexes from jobs/ and
// sets version 2 in one transaction. Version 2 had no samples-md5/;
// opening it builds that index from samples/ and sets version 3, in the
// same way.
//
//	cuckoo/                   Cuckoo-compatible API's task ids (cuckoo.go); created on first use
//	  tasks/                  sequence: the last task id given (bbolt NextSequence); ids never reused
//	    <task-id>             uint64 big-endian -> CuckooTask (job id, Cuckoo fields, ignored options)
//	  jobs/
//	    <job-id>              -> uint64 big-endian task id
//
// Job ids are time-ordered (see newID), so iterating a bucket of ids in key
// order is creation order. The sample and artifact files are written to tmp/,
// synced and renamed, so a crash never leaves a partial file under its final
// name; a crash between the rename and the database update leaves at worst an
// unreferenced file.
//
// DeleteJob (delete.go) removes a finished job's records, its Cuckoo task
// mapping included, then its artifact files.
//
// GC (gc.go) deletes in the opposite order: records in one transaction,
// then files, so a record never points at a missing file and leftover
// files are swept by the next GC. Compaction closes and reopens the
// database, so every transaction runs under Store.mu (shared), compaction
// exclusively.
package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"github.com/scalemalnet/scalemalnet/orchestrator/errkind"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the database schema version this code reads and writes.
const SchemaVersion = 3

// DBFile is the database file's name in the data directory.
const DBFile = defaults.DBName

// Sentinel errors; every error returned by the package that falls in one of
// these kinds wraps it.
var (
	ErrNotFound = errkind.ErrNotFound
	ErrTooLarge = errkind.ErrTooLarge
	ErrLocked   = errors.New("database locked by another process")
	ErrSchema   = errors.New("unsupported database schema")
	ErrInvalid  = errkind.ErrInvalid
	// ErrQueueFull: CreateJob with Options.MaxQueued jobs already queued.
	ErrQueueFull = errkind.ErrQueueFull
)

// Bucket names.
var (
	bktMeta      = []byte("meta")
	bktSamples   = []byte("samples")
	bktSampleMD5 = []byte("samples-md5") // md5 hex -> sha256 (version 3)
	bktJobs      = []byte("jobs")
	bktStates    = []byte("states")
	bktReports   = []byte("reports")
	bktArtifacts = []byte("artifacts")

	keyVersion = []byte("version")
	keyCreated = []byte("created")
)

// Options tune Open. The zero value is fine.
type Options struct {
	// LockTimeout is how long Open waits for the database lock held by
	// another process before failing with ErrLocked. Default 1s.
	LockTimeout time.Duration
	// Logger receives warnings; default slog.Default().
	Logger *slog.Logger
	// MaxQueued caps the queued jobs: CreateJob fails with ErrQueueFull
	// when that many are queued. 0 means no cap.
	MaxQueued int
}

// Store is an open data directory. It is safe for concurrent use.
type Store struct {
	dir    string
	layout defaults.Layout
	opts   Options
	log    *slog.Logger

	// mu guards db: every transaction holds it shared (view, update);
	// compaction, which closes and reopens the database, holds it
	// exclusively.
	mu sync.RWMutex
	db *bolt.DB

	// sampleMu serialises the commit of a sample (file and record) with
	// the sample phase of GC, and guards recent: samples stored lately
	// that GC leaves alone although no job references them yet (Submit
	// stores the sample, then creates its job).
	sampleMu sync.Mutex
	recent   map[string]time.Time

	gcMu sync.Mutex // one GC at a time
}

// Open opens (creating if needed) the data directory dir and its database.
// It fails with ErrLocked if another process has the database open, and
// with ErrSchema if the database was written by a newer version.
func Open(dir string, opts Options) (*Store, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store: data dir %q: %w", dir, err)
	}
	lay := defaults.Layout{Root: abs}
	for _, d := range []string{abs, lay.Samples(), lay.Artifacts(), lay.Tmp()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	path := lay.DB()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("store: %s: %w (waited %s)", path, ErrLocked, opts.LockTimeout)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &Store{dir: abs, layout: defaults.Layout{Root: abs}, db: db, opts: opts, log: opts.Logger, recent: map[string]time.Time{}}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	s.cleanTmp()
	return s, nil
}

// init creates the buckets of a new database, or checks the schema version
// of an existing one.
func (s *Store) init() error {
	return s.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bktMeta)
		if meta != nil {
			v := meta.Get(keyVersion)
			if len(v) != 8 {
				return fmt.Errorf("store: %w: missing or malformed version key", ErrSchema)
			}
			ver := binary.BigEndian.Uint64(v)
			if ver > SchemaVersion {
				return fmt.Errorf("store: %w: database schema is version %d, this program supports up to %d; upgrade scalemalnet",
					ErrSchema, ver, SchemaVersion)
			}
			if ver < 1 {
				return fmt.Errorf("store: %w: database schema version %d", ErrSchema, ver)
			}
			if ver == 1 {
				n, err := rebuildIndexes(tx)
				if err != nil {
					return fmt.Errorf("store: migrate schema 1 to 2: %w", err)
				}
				var v [8]byte
				binary.BigEndian.PutUint64(v[:], 2)
				if err := meta.Put(keyVersion, v[:]); err != nil {
					return err
				}
				s.log.Info("database migrated to schema 2: search indexes built", "jobs", n)
				ver = 2
			}
			if ver == 2 {
				n, err := rebuildSampleMD5(tx)
				if err != nil {
					return fmt.Errorf("store: migrate schema 2 to 3: %w", err)
				}
				var v [8]byte
				binary.BigEndian.PutUint64(v[:], 3)
				if err := meta.Put(keyVersion, v[:]); err != nil {
					return err
				}
				s.log.Info("database migrated to schema 3: sample MD5 index built", "samples", n)
			}
		}
		var err error
		if meta == nil {
			if meta, err = tx.CreateBucket(bktMeta); err != nil {
				return err
			}
			var v [8]byte
			binary.BigEndian.PutUint64(v[:], SchemaVersion)
			if err := meta.Put(keyVersion, v[:]); err != nil {
				return err
			}
			if err := meta.Put(keyCreated, []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
				return err
			}
		}
		for _, b := range [][]byte{bktSamples, bktSampleMD5, bktJobs, bktStates, bktReports, bktArtifacts, bktIndex} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("store: create bucket %s: %w", b, err)
			}
		}
		return nil
	})
}

// cleanTmp removes temporary files left by a crash. Only one process can
// hold the database, so nothing else is writing there.
func (s *Store) cleanTmp() {
	tmp := s.layout.Tmp()
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(tmp, e.Name())); err == nil {
			s.log.Warn("removed leftover temporary file", "path", filepath.Join(tmp, e.Name()))
		}
	}
}

// Dir is the absolute data directory.
func (s *Store) Dir() string { return s.dir }

// Close closes the database. Open files returned by the store stay valid.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// view runs a read-only transaction, holding mu shared.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.db.View(fn)
}

// update runs a read-write transaction, holding mu shared (bbolt serialises
// writers itself; mu only keeps compaction out).
func (s *Store) update(fn func(*bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.db.Update(fn)
}

// syncDir fsyncs a directory so a rename into it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
