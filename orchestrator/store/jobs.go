package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// ListQuery selects jobs for ListJobs and SearchJobs. Every set filter
// must match (AND); the zero value lists every job.
type ListQuery struct {
	State  jobs.State `json:"state,omitempty"`  // only jobs in this state; "" for all
	Limit  int        `json:"limit,omitempty"`  // at most this many; <= 0 means DefaultListLimit
	Before string     `json:"before,omitempty"` // only jobs created before this id (paging)

	// Search filters (see search.go for the indexes they use).
	SHA256    string    `json:"sha256,omitempty"`    // sample hashes, exact (any case)
	SHA1      string    `json:"sha1,omitempty"`      //
	MD5       string    `json:"md5,omitempty"`       //
	Name      string    `json:"name,omitempty"`      // substring of the sample name, any case
	Verdict   string    `json:"verdict,omitempty"`   // malware, benign or unknown
	Family    string    `json:"family,omitempty"`    // family named by the verdict, any case
	Signature string    `json:"signature,omitempty"` // a matched signature's name, any case
	Since     time.Time `json:"since,omitzero"`      // created at or after
	Until     time.Time `json:"until,omitzero"`      // created before
	// Cursor is a page's Page.NextCursor: only jobs older than it.
	Cursor string `json:"cursor,omitempty"`
}

// Limits of ListJobs.
const (
	DefaultListLimit = 50
	MaxListLimit     = 1000
)

var activeStates = []jobs.State{jobs.Queued, jobs.Restoring, jobs.Running, jobs.Collecting, jobs.Processing}

// now is the store's clock, in UTC; replaced in tests.
var now = func() time.Time { return time.Now().UTC() }

func getJob(tx *bolt.Tx, id string) (jobs.Job, error) {
	var j jobs.Job
	v := tx.Bucket(bktJobs).Get([]byte(id))
	if v == nil {
		return j, fmt.Errorf("store: job %q: %w", printable(id, 64), ErrNotFound)
	}
	if err := json.Unmarshal(v, &j); err != nil {
		return j, fmt.Errorf("store: decode job %s: %w", id, err)
	}
	return j, nil
}

// putJob writes j, moves it in the state index from old ("" for a new
// job) and updates its search index entries.
func putJob(tx *bolt.Tx, j *jobs.Job, old jobs.State) error {
	if !j.State.Valid() {
		return fmt.Errorf("store: job %s: %w: state %q", j.ID, ErrInvalid, j.State)
	}
	j.Waiting = "" // computed when served, never stored
	v, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("store: encode job %s: %w", j.ID, err)
	}
	var prev *jobs.Job
	if pv := tx.Bucket(bktJobs).Get([]byte(j.ID)); pv != nil {
		prev = new(jobs.Job)
		if err := json.Unmarshal(pv, prev); err != nil {
			return fmt.Errorf("store: decode job %s: %w", j.ID, err)
		}
	}
	if err := reindexJob(tx, prev, j); err != nil {
		return fmt.Errorf("store: index job %s: %w", j.ID, err)
	}
	if err := tx.Bucket(bktJobs).Put([]byte(j.ID), v); err != nil {
		return err
	}
	if old == j.State {
		return nil
	}
	states := tx.Bucket(bktStates)
	if old != "" {
		if b := states.Bucket([]byte(old)); b != nil {
			if err := b.Delete([]byte(j.ID)); err != nil {
				return err
			}
		}
	}
	b, err := states.CreateBucketIfNotExists([]byte(j.State))
	if err != nil {
		return err
	}
	return b.Put([]byte(j.ID), queueIndexValue(j))
}

// CreateJob records a new queued job for a stored sample.
func (s *Store) CreateJob(ctx context.Context, sample jobs.Sample, opts jobs.Options) (jobs.Job, error) {
	if err := ctx.Err(); err != nil {
		return jobs.Job{}, err
	}
	if err := validSHA256(sample.SHA256); err != nil {
		return jobs.Job{}, err
	}
	if err := opts.Normalize(); err != nil {
		return jobs.Job{}, err
	}
	var j jobs.Job
	err := s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bktSamples).Get([]byte(sample.SHA256)) == nil {
			return fmt.Errorf("store: sample %s: %w", sample.SHA256, ErrNotFound)
		}
		if max := s.opts.MaxQueued; max > 0 {
			if n := queuedCount(tx); n >= max {
				return fmt.Errorf("%w: %d jobs are queued, the limit (max_queued) is %d; retry when the queue has drained", ErrQueueFull, n, max)
			}
		}
		last, _ := tx.Bucket(bktJobs).Cursor().Last()
		t := now()
		id, err := newID(t, string(last))
		if err != nil {
			return err
		}
		j = jobs.Job{
			ID: id, Sample: sample, Options: opts, State: jobs.Queued,
			Created: t, Updated: t,
			History: []jobs.Transition{{State: jobs.Queued, At: t}},
		}
		return putJob(tx, &j, "")
	})
	if err != nil {
		return jobs.Job{}, fmt.Errorf("store: create job: %w", err)
	}
	return j, nil
}

// Job returns a job by id.
func (s *Store) Job(id string) (jobs.Job, error) {
	var j jobs.Job
	err := s.view(func(tx *bolt.Tx) (err error) {
		j, err = getJob(tx, id)
		return err
	})
	return j, err
}

// ListJobs returns jobs newest first: the jobs of SearchJobs.
func (s *Store) ListJobs(q ListQuery) ([]jobs.Job, error) {
	p, err := s.SearchJobs(q)
	if err != nil {
		return nil, err
	}
	return p.Jobs, nil
}

// Count returns how many jobs are in a state.
func (s *Store) Count(state jobs.State) (int, error) {
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bktStates).Bucket([]byte(state)); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}

// UpdateJob applies fn to a job in one transaction and stores the result,
// keeping the state index consistent. fn should change state with Job.Move;
// a direct change must still be a legal transition (jobs.ErrTransition
// otherwise). If fn returns an error nothing is written. Updated is set to
// the current time.
func (s *Store) UpdateJob(id string, fn func(*jobs.Job) error) (jobs.Job, error) {
	var j jobs.Job
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		if j, err = getJob(tx, id); err != nil {
			return err
		}
		old := j.State
		if err := fn(&j); err != nil {
			return err
		}
		if j.ID != id {
			return fmt.Errorf("store: job %s: %w: id changed to %q", id, ErrInvalid, j.ID)
		}
		if j.State != old && !jobs.CanMove(old, j.State) {
			return fmt.Errorf("store: %w: job %s %s -> %s", jobs.ErrTransition, id, old, j.State)
		}
		j.Updated = now()
		return putJob(tx, &j, old)
	})
	if err != nil {
		return jobs.Job{}, err
	}
	return j, nil
}

// AnyNetwork, as ClaimNextFor's network, matches a job of any network mode.
const AnyNetwork = "\x00any"

// ClaimNext atomically takes the oldest queued job that accept accepts (any
// job when accept is nil) for slot: it moves to Restoring with Slot set and
// Attempts incremented. ok is false when no queued job is accepted. accept
// may run more than once per job, inside transactions, and must not call
// the store.
func (s *Store) ClaimNext(slot string, accept func(jobs.Job) bool) (j jobs.Job, ok bool, err error) {
	return s.ClaimNextFor(slot, AnyNetwork, accept)
}

// ClaimNextFor is ClaimNext for a slot of one network mode: only jobs whose
// Options.Network is network are considered (AnyNetwork: all). The queue
// index holds each queued job's network mode, so jobs of another mode are
// passed over without being decoded; the search runs in a read-only
// transaction (no write, no fsync while nothing is claimable), and a
// write transaction is opened only to claim the job found, after checking
// it is still queued (issue 13 finding 11).
func (s *Store) ClaimNextFor(slot, network string, accept func(jobs.Job) bool) (j jobs.Job, ok bool, err error) {
	wants := func(cand jobs.Job) bool {
		return (network == AnyNetwork || cand.Options.Network == network) && (accept == nil || accept(cand))
	}
	for range 8 { // another slot may claim the job found first: look again
		var id string
		err = s.view(func(tx *bolt.Tx) error {
			q := tx.Bucket(bktStates).Bucket([]byte(jobs.Queued))
			if q == nil {
				return nil
			}
			c := q.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if n, known := queueNetwork(v); known && network != AnyNetwork && string(n) != network {
					continue
				}
				cand, err := getJob(tx, string(k))
				if err != nil {
					return err
				}
				if wants(cand) {
					id = string(k)
					return nil
				}
			}
			return nil
		})
		if err != nil || id == "" {
			break
		}
		err = s.update(func(tx *bolt.Tx) error {
			cand, err := getJob(tx, id)
			if err != nil {
				return err
			}
			if cand.State != jobs.Queued || !wants(cand) {
				return nil // claimed or changed meanwhile
			}
			if err := cand.Move(jobs.Restoring, now(), "claimed by "+slot); err != nil {
				return err
			}
			cand.Slot = slot
			cand.Step = ""
			cand.Attempts++
			if err := putJob(tx, &cand, jobs.Queued); err != nil {
				return err
			}
			j, ok = cand, true
			return nil
		})
		if err != nil || ok {
			break
		}
	}
	if err != nil {
		return jobs.Job{}, false, fmt.Errorf("store: claim: %w", err)
	}
	return j, ok, nil
}

// The queued state's index entries hold the job's network mode ("n:" and
// the mode), so ClaimNextFor need not decode jobs of another mode. Entries
// written before (empty) are decoded.
func queueIndexValue(j *jobs.Job) []byte {
	if j.State != jobs.Queued {
		return nil
	}
	return []byte("n:" + j.Options.Network)
}

func queueNetwork(v []byte) ([]byte, bool) {
	return bytes.CutPrefix(v, []byte("n:"))
}

// ActiveJobs returns the jobs in non-final states, oldest first.
func (s *Store) ActiveJobs() ([]jobs.Job, error) {
	var out []jobs.Job
	err := s.view(func(tx *bolt.Tx) error {
		var ids []string
		for _, st := range activeStates {
			b := tx.Bucket(bktStates).Bucket([]byte(st))
			if b == nil {
				continue
			}
			if err := b.ForEach(func(k, _ []byte) error { ids = append(ids, string(k)); return nil }); err != nil {
				return err
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			j, err := getJob(tx, id)
			if err != nil {
				return err
			}
			out = append(out, j)
		}
		return nil
	})
	return out, err
}

// queuedCount is the number of queued jobs.
func queuedCount(tx *bolt.Tx) int {
	q := tx.Bucket(bktStates).Bucket([]byte(jobs.Queued))
	if q == nil {
		return 0
	}
	return q.Stats().KeyN
}

// QueuedJobs returns up to limit queued jobs, oldest first (the order
// ClaimNext takes them in); limit <= 0 means all.
func (s *Store) QueuedJobs(limit int) ([]jobs.Job, error) {
	var out []jobs.Job
	err := s.view(func(tx *bolt.Tx) error {
		q := tx.Bucket(bktStates).Bucket([]byte(jobs.Queued))
		if q == nil {
			return nil
		}
		c := q.Cursor()
		for k, _ := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, _ = c.Next() {
			j, err := getJob(tx, string(k))
			if err != nil {
				return err
			}
			out = append(out, j)
		}
		return nil
	})
	return out, err
}
