package store

// The Cuckoo-compatible API (orchestrator/cuckoo) names tasks by integers;
// this file keeps the persistent mapping between those task ids and job
// ids, with what the Cuckoo client submitted (bucket cuckoo/, see the
// schema in store.go).

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

var (
	bktCuckoo      = []byte("cuckoo")
	bktCuckooTasks = []byte("tasks")
	bktCuckooJobs  = []byte("jobs")
)

// CuckooTask is a job as the Cuckoo-compatible API knows it: its integer
// task id and the Cuckoo fields submitted with it (zero for jobs submitted
// through /api/v1, which get a task id when a Cuckoo client first sees
// them).
type CuckooTask struct {
	ID       uint64    `json:"id"`
	Job      string    `json:"job"`
	Created  time.Time `json:"created"`
	Package  string    `json:"package,omitempty"`
	Owner    string    `json:"owner,omitempty"`
	Priority int       `json:"priority,omitempty"`
	Tags     []string  `json:"tags,omitempty"`
	Options  string    `json:"options,omitempty"` // as submitted: "key=value,key2=value2"
	Custom   string    `json:"custom,omitempty"`
	Machine  string    `json:"machine,omitempty"`
	Platform string    `json:"platform,omitempty"`
	Memory   bool      `json:"memory,omitempty"`
	Enforce  bool      `json:"enforce_timeout,omitempty"`
	Clock    string    `json:"clock,omitempty"`
	// Ignored lists the submitted Cuckoo options and fields ScaleMalNet
	// does not act on, e.g. "machine=win7" or "options.route=tor".
	Ignored []string `json:"ignored,omitempty"`
}

func taskKey(id uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], id)
	return k[:]
}

func cuckooBuckets(tx *bolt.Tx) (tasks, byJob *bolt.Bucket, err error) {
	root := tx.Bucket(bktCuckoo)
	if root == nil {
		if !tx.Writable() {
			return nil, nil, nil
		}
		if root, err = tx.CreateBucket(bktCuckoo); err != nil {
			return nil, nil, err
		}
	}
	tasks, byJob = root.Bucket(bktCuckooTasks), root.Bucket(bktCuckooJobs)
	if tx.Writable() {
		if tasks == nil {
			if tasks, err = root.CreateBucket(bktCuckooTasks); err != nil {
				return nil, nil, err
			}
		}
		if byJob == nil {
			if byJob, err = root.CreateBucket(bktCuckooJobs); err != nil {
				return nil, nil, err
			}
		}
	}
	return tasks, byJob, nil
}

// CuckooTaskFor returns the task of a job, giving the job the next task id
// (with the fields of t) if it has none yet. An existing task is returned
// unchanged. The job must exist.
func (s *Store) CuckooTaskFor(jobID string, t CuckooTask) (CuckooTask, error) {
	err := s.update(func(tx *bolt.Tx) error {
		if _, err := getJob(tx, jobID); err != nil {
			return err
		}
		tasks, byJob, err := cuckooBuckets(tx)
		if err != nil {
			return err
		}
		if k := byJob.Get([]byte(jobID)); k != nil {
			v := tasks.Get(k)
			if v == nil {
				return fmt.Errorf("store: cuckoo task of job %s: record missing", jobID)
			}
			return json.Unmarshal(v, &t)
		}
		id, err := tasks.NextSequence()
		if err != nil {
			return err
		}
		t.ID, t.Job = id, jobID
		if t.Created.IsZero() {
			t.Created = now()
		}
		v, err := json.Marshal(t)
		if err != nil {
			return err
		}
		if err := tasks.Put(taskKey(id), v); err != nil {
			return err
		}
		return byJob.Put([]byte(jobID), taskKey(id))
	})
	if err != nil {
		return CuckooTask{}, fmt.Errorf("store: cuckoo task: %w", err)
	}
	return t, nil
}

// CuckooTasksFor is CuckooTaskFor for many jobs in one transaction (new
// tasks get only their creation time), in the order of jobIDs.
func (s *Store) CuckooTasksFor(jobIDs []string) ([]CuckooTask, error) {
	out := make([]CuckooTask, len(jobIDs))
	err := s.update(func(tx *bolt.Tx) error {
		tasks, byJob, err := cuckooBuckets(tx)
		if err != nil {
			return err
		}
		for i, id := range jobIDs {
			j, err := getJob(tx, id)
			if err != nil {
				return err
			}
			if k := byJob.Get([]byte(id)); k != nil {
				v := tasks.Get(k)
				if v == nil {
					return fmt.Errorf("store: cuckoo task of job %s: record missing", id)
				}
				if err := json.Unmarshal(v, &out[i]); err != nil {
					return err
				}
				continue
			}
			n, err := tasks.NextSequence()
			if err != nil {
				return err
			}
			out[i] = CuckooTask{ID: n, Job: id, Created: j.Created}
			v, err := json.Marshal(out[i])
			if err != nil {
				return err
			}
			if err := tasks.Put(taskKey(n), v); err != nil {
				return err
			}
			if err := byJob.Put([]byte(id), taskKey(n)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: cuckoo tasks: %w", err)
	}
	return out, nil
}

// CuckooTask returns a task by its id; ErrNotFound if there is none or its
// job was deleted.
func (s *Store) CuckooTask(id uint64) (CuckooTask, error) {
	var t CuckooTask
	err := s.view(func(tx *bolt.Tx) error {
		tasks, _, err := cuckooBuckets(tx)
		if err != nil {
			return err
		}
		var v []byte
		if tasks != nil {
			v = tasks.Get(taskKey(id))
		}
		if v == nil {
			return fmt.Errorf("store: cuckoo task %d: %w", id, ErrNotFound)
		}
		if err := json.Unmarshal(v, &t); err != nil {
			return err
		}
		if tx.Bucket(bktJobs).Get([]byte(t.Job)) == nil {
			return fmt.Errorf("store: cuckoo task %d: job %s deleted: %w", id, t.Job, ErrNotFound)
		}
		return nil
	})
	return t, err
}

// deleteCuckooTask drops a deleted job's task mapping (inside a job
// deletion's transaction). Task ids are never reused.
func deleteCuckooTask(tx *bolt.Tx, jobID string) error {
	root := tx.Bucket(bktCuckoo)
	if root == nil {
		return nil
	}
	tasks, byJob := root.Bucket(bktCuckooTasks), root.Bucket(bktCuckooJobs)
	if tasks == nil || byJob == nil {
		return nil
	}
	k := byJob.Get([]byte(jobID))
	if k == nil {
		return nil
	}
	k = append([]byte(nil), k...)
	if err := tasks.Delete(k); err != nil {
		return err
	}
	return byJob.Delete([]byte(jobID))
}

// SampleByMD5 finds a stored sample by its MD5 (hex, either case) through
// the samples-md5 index; ErrNotFound when none matches.
func (s *Store) SampleByMD5(md5 string) (jobs.Sample, error) {
	if len(md5) != 32 {
		return jobs.Sample{}, fmt.Errorf("store: %w: md5 %q: want 32 hex digits", ErrInvalid, printable(md5, 40))
	}
	md5 = strings.ToLower(md5)
	var found *jobs.Sample
	err := s.view(func(tx *bolt.Tx) error {
		sha := tx.Bucket(bktSampleMD5).Get([]byte(md5))
		if sha == nil {
			return nil
		}
		v := tx.Bucket(bktSamples).Get(sha)
		if v == nil {
			return fmt.Errorf("store: md5 index names sample %s, which does not exist (run the store check)", printable(string(sha), 64))
		}
		var r sampleRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("store: decode sample %s: %w", sha, err)
		}
		found = &r.Sample
		return nil
	})
	if err != nil {
		return jobs.Sample{}, err
	}
	if found == nil {
		return jobs.Sample{}, fmt.Errorf("store: sample with md5 %s: %w", md5, ErrNotFound)
	}
	return *found, nil
}
