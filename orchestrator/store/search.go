package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// Search indexes (schema version 2). Each index is a bucket under index/
// whose keys are "<value>\x00<job-id>" with empty values, so one Seek finds
// the jobs of a value and Prev walks them newest first:
//
//	index/
//	  sha256/    <sha256 hex>\x00<job-id>
//	  sha1/      <sha1 hex>\x00<job-id>
//	  md5/       <md5 hex>\x00<job-id>
//	  verdict/   <label>\x00<job-id>            (malware, benign, unknown)
//	  family/    <family, lower case>\x00<job-id>
//	  signature/ <signature, lower case>\x00<job-id>
//
// putJob keeps them consistent with jobs/ in every transaction that writes
// a job; GC removes a deleted job's entries in its transaction; Check
// verifies them. The time range needs no index: job ids begin with their
// creation time, so since/until are key bounds on whichever bucket a query
// walks. A name substring has no index: it is a filter on the jobs walked.
const (
	IndexSHA256    = "sha256"
	IndexSHA1      = "sha1"
	IndexMD5       = "md5"
	IndexVerdict   = "verdict"
	IndexFamily    = "family"
	IndexSignature = "signature"
)

var bktIndex = []byte("index")

// indexNames are the index buckets, in the order a query prefers them
// (most selective first).
var indexNames = []string{IndexSHA256, IndexSHA1, IndexMD5, IndexSignature, IndexFamily, IndexVerdict}

// MaxScan bounds the job records one page may examine. A query whose
// filters reject that many leaves a short (even empty) page with a
// NextCursor to carry on from.
const MaxScan = 20000

var maxScan = MaxScan // lowered by tests

// indexEntries returns the index keys of a job, by index.
func indexEntries(j *jobs.Job) map[string][]string {
	e := map[string][]string{}
	add := func(idx, v string) {
		if v != "" {
			e[idx] = append(e[idx], v)
		}
	}
	add(IndexSHA256, strings.ToLower(j.Sample.SHA256))
	add(IndexSHA1, strings.ToLower(j.Sample.SHA1))
	add(IndexMD5, strings.ToLower(j.Sample.MD5))
	if j.Verdict != nil {
		add(IndexVerdict, j.Verdict.Label)
		add(IndexFamily, strings.ToLower(j.Verdict.Family))
	}
	for _, s := range j.Signatures {
		add(IndexSignature, strings.ToLower(s))
	}
	return e
}

func indexKey(value, id string) []byte {
	k := make([]byte, 0, len(value)+1+len(id))
	k = append(k, value...)
	k = append(k, 0)
	return append(k, id...)
}

// reindexJob replaces the index entries of old (nil for a new job) by
// those of j (nil for a deleted job).
func reindexJob(tx *bolt.Tx, old, j *jobs.Job) error {
	root := tx.Bucket(bktIndex)
	if root == nil {
		return fmt.Errorf("store: %w: no index bucket", ErrSchema)
	}
	var oldE, newE map[string][]string
	id := ""
	if old != nil {
		oldE, id = indexEntries(old), old.ID
	}
	if j != nil {
		newE, id = indexEntries(j), j.ID
	}
	for _, name := range indexNames {
		if slices.Equal(oldE[name], newE[name]) {
			continue
		}
		b, err := root.CreateBucketIfNotExists([]byte(name))
		if err != nil {
			return err
		}
		for _, v := range oldE[name] {
			if err := b.Delete(indexKey(v, id)); err != nil {
				return err
			}
		}
		for _, v := range newE[name] {
			if err := b.Put(indexKey(v, id), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// rebuildIndexes drops and rebuilds every search index from jobs/ (the
// migration from schema version 1).
func rebuildIndexes(tx *bolt.Tx) (int, error) {
	if tx.Bucket(bktIndex) != nil {
		if err := tx.DeleteBucket(bktIndex); err != nil {
			return 0, err
		}
	}
	if _, err := tx.CreateBucket(bktIndex); err != nil {
		return 0, err
	}
	n := 0
	err := tx.Bucket(bktJobs).ForEach(func(k, v []byte) error {
		var j jobs.Job
		if err := json.Unmarshal(v, &j); err != nil {
			return fmt.Errorf("store: decode job %s: %w", printable(string(k), 64), err)
		}
		n++
		return reindexJob(tx, nil, &j)
	})
	return n, err
}

// Page is one page of SearchJobs.
type Page struct {
	Jobs []jobs.Job `json:"jobs"`
	// NextCursor, when set, is the Cursor of the next page (the last job
	// id examined); empty when the walk reached the end.
	NextCursor string `json:"next_cursor,omitempty"`
	// Index is what the query walked: "index/sha256", ..., "states/<state>"
	// or "jobs" (every job, newest first).
	Index string `json:"index"`
	// Scanned is how many job records the page examined.
	Scanned int `json:"scanned"`
}

// Validate checks a query's fields, normalising hashes to lower case. The
// rules are the API's (api.ListQuery.Validate, one implementation): the
// store checks again because the daemon also queries it directly.
func (q *ListQuery) Validate() error {
	a := api.ListQuery(*q)
	err := a.Validate()
	*q = ListQuery(a)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// plan picks the bucket and key prefix a query walks.
func (q *ListQuery) plan(tx *bolt.Tx) (b *bolt.Bucket, prefix []byte, name string) {
	idx := map[string]string{
		IndexSHA256: q.SHA256, IndexSHA1: q.SHA1, IndexMD5: q.MD5,
		IndexSignature: strings.ToLower(q.Signature), IndexFamily: strings.ToLower(q.Family), IndexVerdict: q.Verdict,
	}
	for _, n := range indexNames {
		if v := idx[n]; v != "" {
			return tx.Bucket(bktIndex).Bucket([]byte(n)), append([]byte(v), 0), "index/" + n
		}
	}
	if q.State != "" {
		return tx.Bucket(bktStates).Bucket([]byte(q.State)), nil, "states/" + string(q.State)
	}
	return tx.Bucket(bktJobs), nil, "jobs"
}

// match applies every filter of q to j (the walked index satisfies one of
// them already; checking it again costs little and keeps this the one
// definition of a match).
func (q *ListQuery) match(j *jobs.Job) bool {
	switch {
	case q.State != "" && j.State != q.State,
		q.SHA256 != "" && !strings.EqualFold(j.Sample.SHA256, q.SHA256),
		q.SHA1 != "" && !strings.EqualFold(j.Sample.SHA1, q.SHA1),
		q.MD5 != "" && !strings.EqualFold(j.Sample.MD5, q.MD5),
		!q.Since.IsZero() && j.Created.Before(q.Since),
		!q.Until.IsZero() && !j.Created.Before(q.Until),
		q.Name != "" && !strings.Contains(strings.ToLower(j.Sample.Name), strings.ToLower(q.Name)):
		return false
	}
	if q.Verdict != "" && (j.Verdict == nil || j.Verdict.Label != q.Verdict) {
		return false
	}
	if q.Family != "" && (j.Verdict == nil || !strings.EqualFold(j.Verdict.Family, q.Family)) {
		return false
	}
	if q.Signature != "" && !slices.ContainsFunc(j.Signatures, func(s string) bool { return strings.EqualFold(s, q.Signature) }) {
		return false
	}
	return true
}

// SearchJobs returns the jobs matching every filter of q, newest first,
// at most q.Limit of them, with the cursor of the next page. It walks the
// most selective index the query names (see the index/ tree above) between
// the time bounds and the cursor, and filters each job it reads.
func (s *Store) SearchJobs(q ListQuery) (Page, error) {
	if err := q.Validate(); err != nil {
		return Page{}, err
	}
	if q.Limit <= 0 {
		q.Limit = DefaultListLimit
	}
	q.Limit = min(q.Limit, MaxListLimit)
	upper := q.Cursor
	if q.Before != "" && (upper == "" || q.Before < upper) {
		upper = q.Before
	}
	if !q.Until.IsZero() {
		// Ids carry their creation second: every job created before
		// Until has an id below the next whole second's.
		u := q.Until.UTC().Add(time.Second - 1).Truncate(time.Second).Format(idTimeLayout)
		if upper == "" || u < upper {
			upper = u
		}
	}
	lower := ""
	if !q.Since.IsZero() {
		lower = q.Since.UTC().Truncate(time.Second).Format(idTimeLayout)
	}
	page := Page{Jobs: []jobs.Job{}}
	err := s.view(func(tx *bolt.Tx) error {
		b, prefix, name := q.plan(tx)
		page.Index = name
		if b == nil {
			return nil
		}
		c := b.Cursor()
		last := ""
		start := append(slices.Clip(prefix), upper...)
		var k []byte
		if upper == "" {
			// Past every key with this prefix.
			start = append(slices.Clip(prefix), 0xff)
		}
		if k, _ = c.Seek(start); k == nil {
			k, _ = c.Last()
		}
		for k != nil && bytes.Compare(k, start) >= 0 {
			k, _ = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
			id := string(k[len(prefix):])
			if id < lower {
				break
			}
			if len(page.Jobs) == q.Limit || page.Scanned == maxScan {
				// More keys remain: the next page starts below the last
				// one examined.
				page.NextCursor = last
				break
			}
			j, err := getJob(tx, id)
			if err != nil {
				return err
			}
			page.Scanned++
			if q.match(&j) {
				page.Jobs = append(page.Jobs, j)
			}
			last = id
		}
		return nil
	})
	return page, err
}
