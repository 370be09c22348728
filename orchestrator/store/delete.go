package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/scalemalnet/scalemalnet/orchestrator/errkind"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// ErrActive is wrapped when a job must be finished for a request (delete)
// but is still queued or running.
var ErrActive = errkind.ErrActive

// DeleteJob deletes a finished (done, failed or cancelled) job with its
// report, artifacts and Cuckoo task mapping: the records in one
// transaction, then the artifact files (a file left behind is swept by the
// next GC). The sample stays until GC finds no job referring to it. A job
// not yet finished is refused with ErrActive.
func (s *Store) DeleteJob(id string) (jobs.Job, error) {
	if !ValidID(id) {
		return jobs.Job{}, fmt.Errorf("store: %w: job id %q", ErrInvalid, printable(id, 64))
	}
	var j jobs.Job
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		if j, err = getJob(tx, id); err != nil {
			return err
		}
		if !j.State.Final() {
			return fmt.Errorf("store: job %s is %s: %w", id, j.State, ErrActive)
		}
		key := []byte(id)
		if err := tx.Bucket(bktJobs).Delete(key); err != nil {
			return err
		}
		if err := reindexJob(tx, &j, nil); err != nil { // its search index entries
			return err
		}
		if b := tx.Bucket(bktStates).Bucket([]byte(j.State)); b != nil {
			if err := b.Delete(key); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bktReports).Delete(key); err != nil {
			return err
		}
		if err := tx.Bucket(bktArtifacts).DeleteBucket(key); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
			return err
		}
		return deleteCuckooTask(tx, id)
	})
	if err != nil {
		return jobs.Job{}, err
	}
	// Keep the sample from GC's sweep for a while, as a fresh upload would.
	s.sampleMu.Lock()
	s.recent[j.Sample.SHA256] = now()
	s.sampleMu.Unlock()
	if err := os.RemoveAll(filepath.Join(s.dir, "artifacts", id)); err != nil {
		s.log.Warn("delete job: artifacts left for the next GC", "job", id, "err", err)
	}
	return j, nil
}

// CancelQueued moves a queued job to Cancelled with note; a job in
// another state is returned unchanged with ok false (the caller stops a
// running one). It is atomic with ClaimNext: a job is either claimed or
// cancelled.
func (s *Store) CancelQueued(id, note string) (j jobs.Job, ok bool, err error) {
	err = s.update(func(tx *bolt.Tx) error {
		if j, err = getJob(tx, id); err != nil {
			return err
		}
		if j.State != jobs.Queued {
			return nil
		}
		if err := j.Move(jobs.Cancelled, now(), note); err != nil {
			return err
		}
		j.Updated = now()
		ok = true
		return putJob(tx, &j, jobs.Queued)
	})
	return j, ok, err
}
