package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// Policy is a retention policy for GC. Zero fields keep everything.
type Policy struct {
	// MaxAge: finished (done or failed) jobs whose last update is older
	// than this are deleted. 0: no age limit.
	MaxAge time.Duration `json:"max_age"`
	// MaxBytes: while samples, artifacts and the database's used pages
	// together exceed this, the finished jobs that ended first are
	// deleted. 0: no size limit.
	MaxBytes int64 `json:"max_bytes"`
	// Compact rewrites the database file afterwards so deleted records
	// give their space back to the file system.
	Compact bool `json:"compact"`
	// DryRun chooses what would be deleted and reports it, deleting
	// nothing (no compaction, no sweep of orphaned files).
	DryRun bool `json:"dry_run,omitempty"`
}

// Validate rejects negative limits with ErrInvalid.
func (p Policy) Validate() error {
	switch {
	case p.MaxAge < 0:
		return fmt.Errorf("store: %w: retention max age %s is negative", ErrInvalid, p.MaxAge)
	case p.MaxBytes < 0:
		return fmt.Errorf("store: %w: retention max bytes %d is negative", ErrInvalid, p.MaxBytes)
	}
	return nil
}

// GCReport says what a GC did.
type GCReport struct {
	JobsExpired      int           `json:"jobs_expired"`           // deleted for MaxAge
	JobsEvicted      int           `json:"jobs_evicted"`           // deleted for MaxBytes
	ReportsDeleted   int           `json:"reports_deleted"`        // reports of the deleted jobs
	ArtifactsDeleted int           `json:"artifacts_deleted"`      // artifact records of the deleted jobs
	SamplesDeleted   int           `json:"samples_deleted"`        // sample records no job references any more
	OrphansRemoved   int           `json:"orphans_removed"`        // files without a record (an earlier GC interrupted, a crashed submit)
	FileErrors       int           `json:"file_errors"`            // files that could not be removed (logged; the next GC retries)
	BytesFreed       int64         `json:"bytes_freed"`            // sample and artifact bytes removed from disk
	BytesBefore      int64         `json:"bytes_before"`           // Usage().TotalBytes before
	BytesAfter       int64         `json:"bytes_after"`            // and after
	Compacted        bool          `json:"compacted"`              // the database was compacted
	DBBytesBefore    int64         `json:"db_bytes_before"`        // database file size before
	DBBytesAfter     int64         `json:"db_bytes_after"`         // and after
	Duration         time.Duration `json:"duration"`               // time taken
	JobsDeleted      []string      `json:"jobs_deleted,omitempty"` // ids, oldest first
	DryRun           bool          `json:"dry_run,omitempty"`      // nothing was deleted: the counts, ids and bytes_freed say what would be
}

// samplePin is how long a stored sample is kept without a job referring to
// it: Submit stores the sample, then creates the job.
const samplePin = 10 * time.Minute

// gcAfterCommit, when set (tests), runs after GC's database transaction
// and before any file is removed; an error ends GC there, like a crash.
var gcAfterCommit func() error

// GC applies a retention policy. Finished jobs older than p.MaxAge go, then,
// while the store is larger than p.MaxBytes, the finished jobs that ended
// first, each with its report and artifacts; then samples no remaining job
// references. Active jobs and their samples are never touched. The records
// go in one transaction first, then the files, so a crash in between
// leaves files without records (swept by the next GC), never a record
// without its file. With p.Compact the database file is compacted last.
func (s *Store) GC(ctx context.Context, p Policy) (GCReport, error) {
	if err := p.Validate(); err != nil {
		return GCReport{}, err
	}
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	start := time.Now()
	var rep GCReport
	before, err := s.Usage()
	if err != nil {
		return rep, err
	}
	rep.BytesBefore, rep.DBBytesBefore = before.TotalBytes, before.DBBytes
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("store: gc: %w", err)
	}
	if p.DryRun {
		_, _, err := s.gcRecords(p, &rep)
		rep.DryRun, rep.Duration, rep.BytesAfter, rep.DBBytesAfter = true, time.Since(start), rep.BytesBefore-rep.BytesFreed, rep.DBBytesBefore
		return rep, err
	}
	if err := s.gcData(ctx, p, &rep); err != nil {
		return rep, err
	}
	if p.Compact {
		if err := s.compact(ctx); err != nil {
			return rep, err
		}
		rep.Compacted = true
	}
	after, err := s.Usage()
	if err != nil {
		return rep, err
	}
	rep.BytesAfter, rep.DBBytesAfter = after.TotalBytes, after.DBBytes
	rep.Duration = time.Since(start)
	s.log.Info("store gc", "expired", rep.JobsExpired, "evicted", rep.JobsEvicted, "samples", rep.SamplesDeleted,
		"orphans", rep.OrphansRemoved, "freed", rep.BytesFreed, "bytes_before", rep.BytesBefore, "bytes_after", rep.BytesAfter,
		"compacted", rep.Compacted, "db_before", rep.DBBytesBefore, "db_after", rep.DBBytesAfter, "file_errors", rep.FileErrors)
	return rep, nil
}

// gcData deletes records, then files, then sweeps orphans; it holds
// sampleMu throughout so no sample is committed meanwhile.
func (s *Store) gcData(ctx context.Context, p Policy, rep *GCReport) error {
	s.sampleMu.Lock()
	defer s.sampleMu.Unlock()
	for sha, t := range s.recent {
		if now().Sub(t) > samplePin {
			delete(s.recent, sha)
		}
	}
	jobIDs, shas, err := s.gcRecords(p, rep)
	if err != nil {
		return err
	}
	if gcAfterCommit != nil {
		if err := gcAfterCommit(); err != nil {
			return err
		}
	}
	for _, id := range jobIDs {
		s.removeFiles(s.layout.ArtifactDir(id), rep)
	}
	for _, sha := range shas {
		s.removeFiles(s.samplePath(sha), rep)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: gc: %w", err)
	}
	return s.sweep(ctx, rep)
}

// gcJob is a finished job as GC weighs it.
type gcJob struct {
	id       string
	state    jobs.State
	sample   string
	finished time.Time
	bytes    int64 // artifacts plus its records
}

// errDryRun rolls back a dry run's transaction.
var errDryRun = errors.New("dry run")

// gcRecords chooses and deletes the records in one transaction. It returns
// the deleted jobs' ids and the deleted samples' digests. With p.DryRun the
// transaction is rolled back: rep says what would go, and BytesFreed what
// the samples and artifacts weigh.
func (s *Store) gcRecords(p Policy, rep *GCReport) (jobIDs, shas []string, err error) {
	err = s.update(func(tx *bolt.Tx) error {
		jobIDs, shas = nil, nil
		*rep = GCReport{BytesBefore: rep.BytesBefore, DBBytesBefore: rep.DBBytesBefore}
		sampleSize := map[string]int64{}
		var total int64
		err := tx.Bucket(bktSamples).ForEach(func(k, v []byte) error {
			var r sampleRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("store: decode sample %s: %w", k, err)
			}
			sampleSize[string(k)] = r.Sample.Size
			total += r.Sample.Size
			return nil
		})
		if err != nil {
			return err
		}
		artBytes := map[string]int64{}
		arts := tx.Bucket(bktArtifacts)
		err = arts.ForEach(func(k, v []byte) error {
			b := arts.Bucket(k)
			if v != nil || b == nil {
				return nil
			}
			return b.ForEach(func(name, v []byte) error {
				var a Artifact
				if err := json.Unmarshal(v, &a); err != nil {
					return fmt.Errorf("store: decode artifact %s/%s: %w", k, name, err)
				}
				artBytes[string(k)] += a.Size
				total += a.Size
				return nil
			})
		})
		if err != nil {
			return err
		}
		total += max(0, tx.Size()-int64(s.db.Stats().FreeAlloc))

		refs := map[string]int{}
		var cands []gcJob
		reports := tx.Bucket(bktReports)
		err = tx.Bucket(bktJobs).ForEach(func(k, v []byte) error {
			var j jobs.Job
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("store: decode job %s: %w", k, err)
			}
			refs[j.Sample.SHA256]++
			if j.State.Final() {
				cands = append(cands, gcJob{id: j.ID, state: j.State, sample: j.Sample.SHA256, finished: j.Updated,
					bytes: artBytes[j.ID] + int64(len(k)+len(v)+len(reports.Get(k)))})
			}
			return nil
		})
		if err != nil {
			return err
		}
		pinned := func(sha string) bool {
			t, ok := s.recent[sha]
			return ok && now().Sub(t) <= samplePin
		}
		for sha := range sampleSize {
			if refs[sha] == 0 && !pinned(sha) {
				total -= sampleSize[sha]
			}
		}
		slices.SortFunc(cands, func(a, b gcJob) int {
			return cmp.Or(a.finished.Compare(b.finished), cmp.Compare(a.id, b.id))
		})
		var del []gcJob
		drop := func(c gcJob) {
			del = append(del, c)
			total -= c.bytes
			if refs[c.sample]--; refs[c.sample] == 0 && !pinned(c.sample) {
				total -= sampleSize[c.sample]
			}
		}
		rest := cands[:0:0]
		cutoff := now().Add(-p.MaxAge)
		for _, c := range cands {
			if p.MaxAge > 0 && c.finished.Before(cutoff) {
				drop(c)
				rep.JobsExpired++
			} else {
				rest = append(rest, c)
			}
		}
		for _, c := range rest {
			if p.MaxBytes <= 0 || total <= p.MaxBytes {
				break
			}
			drop(c)
			rep.JobsEvicted++
		}

		states := tx.Bucket(bktStates)
		for _, c := range del {
			key := []byte(c.id)
			if j, err := getJob(tx, c.id); err == nil {
				if err := reindexJob(tx, &j, nil); err != nil {
					return err
				}
			}
			if err := tx.Bucket(bktJobs).Delete(key); err != nil {
				return err
			}
			if b := states.Bucket([]byte(c.state)); b != nil {
				if err := b.Delete(key); err != nil {
					return err
				}
			}
			if reports.Get(key) != nil {
				if err := reports.Delete(key); err != nil {
					return err
				}
				rep.ReportsDeleted++
			}
			if b := arts.Bucket(key); b != nil {
				rep.ArtifactsDeleted += b.Stats().KeyN
				if err := arts.DeleteBucket(key); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
					return err
				}
			}
			if err := deleteCuckooTask(tx, c.id); err != nil {
				return err
			}
			jobIDs = append(jobIDs, c.id)
			if p.DryRun {
				rep.BytesFreed += artBytes[c.id]
			}
		}
		for sha := range sampleSize {
			if refs[sha] > 0 || pinned(sha) {
				continue
			}
			if err := deleteSample(tx, sha); err != nil {
				return err
			}
			shas = append(shas, sha)
			rep.SamplesDeleted++
			if p.DryRun {
				rep.BytesFreed += sampleSize[sha]
			}
		}
		slices.Sort(shas)
		if p.DryRun {
			rep.JobsDeleted = jobIDs
			return errDryRun // roll back: nothing deleted
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		return jobIDs, shas, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: gc: %w", err)
	}
	rep.JobsDeleted = jobIDs
	return jobIDs, shas, nil
}

// removeFiles removes a file or a directory tree, counting the regular
// files' bytes. Failures are logged and counted, not fatal: the records are
// gone already, so the next GC sweeps what is left.
func (s *Store) removeFiles(path string, rep *GCReport) {
	_, n, err := dirUsage(path)
	if err != nil {
		s.log.Warn("gc: measure", "path", path, "err", err)
	}
	if err := os.RemoveAll(path); err != nil {
		rep.FileErrors++
		s.log.Warn("gc: remove", "path", path, "err", err)
		return
	}
	rep.BytesFreed += n
	// Drop the samples/ab/cd directories once empty; failures are fine.
	if rel, err := filepath.Rel(s.layout.Samples(), path); err == nil && !filepath.IsAbs(rel) && rel[0] != '.' {
		d := filepath.Dir(path)
		if os.Remove(d) == nil {
			_ = os.Remove(filepath.Dir(d))
		}
	}
}

// sweep removes files that have no record: artifact directories of jobs
// that no longer exist and sample files without a sample record (left by
// an interrupted GC or a crash during submit). The directories are listed
// before the database is read: a job exists before its artifact directory
// does, and with sampleMu held no sample is being committed.
func (s *Store) sweep(ctx context.Context, rep *GCReport) error {
	artDir := s.layout.Artifacts()
	ents, err := os.ReadDir(artDir)
	if err != nil {
		return fmt.Errorf("store: gc sweep: %w", err)
	}
	var dirs []string
	for _, e := range ents {
		if ValidID(e.Name()) {
			dirs = append(dirs, e.Name())
		}
	}
	var files []string
	err = filepath.WalkDir(s.layout.Samples(), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && validSHA256(d.Name()) == nil {
			files = append(files, d.Name())
		}
		return ctx.Err()
	})
	if err != nil {
		return fmt.Errorf("store: gc sweep: %w", err)
	}
	var orphanDirs, orphanFiles []string
	err = s.view(func(tx *bolt.Tx) error {
		for _, id := range dirs {
			if tx.Bucket(bktJobs).Get([]byte(id)) == nil {
				orphanDirs = append(orphanDirs, id)
			}
		}
		for _, sha := range files {
			if tx.Bucket(bktSamples).Get([]byte(sha)) == nil {
				orphanFiles = append(orphanFiles, sha)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: gc sweep: %w", err)
	}
	for _, id := range orphanDirs {
		s.log.Warn("gc: removing artifacts of a deleted job", "job", id)
		s.removeFiles(filepath.Join(artDir, id), rep)
		rep.OrphansRemoved++
	}
	for _, sha := range orphanFiles {
		if t, ok := s.recent[sha]; ok && now().Sub(t) <= samplePin {
			continue
		}
		s.log.Warn("gc: removing sample without a record", "sha256", sha)
		s.removeFiles(s.samplePath(sha), rep)
		rep.OrphansRemoved++
	}
	return nil
}

// compact rewrites the database into tmp/ with bbolt's Compact and renames
// it over the original, holding mu exclusively so no transaction runs
// meanwhile. On failure before the rename the original stays in use.
func (s *Store) compact(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := s.layout.DB()
	f, err := os.CreateTemp(s.layout.Tmp(), "compact-*.db")
	if err != nil {
		return fmt.Errorf("store: compact: %w", err)
	}
	tmp := f.Name()
	f.Close()
	fail := func(err error) error {
		os.Remove(tmp)
		return fmt.Errorf("store: compact: %w", err)
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: s.opts.LockTimeout})
	if err != nil {
		return fail(err)
	}
	if err := bolt.Compact(dst, s.db, 16<<20); err != nil {
		dst.Close()
		return fail(err)
	}
	if err := dst.Close(); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := s.db.Close(); err != nil {
		return fail(err)
	}
	reopen := func() error {
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: s.opts.LockTimeout})
		if err != nil {
			s.log.Error("store: cannot reopen the database after compaction; restart the orchestrator", "path", path, "err", err)
			return fmt.Errorf("store: compact: reopen %s: %w", path, err)
		}
		s.db = db
		return nil
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return errors.Join(fmt.Errorf("store: compact: %w", err), reopen())
	}
	if err := syncDir(s.dir); err != nil {
		s.log.Warn("store: sync data dir after compaction", "err", err)
	}
	return reopen()
}
