package api

import (
	"fmt"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/errkind"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// Wire types of the API: what the service, the handler and the client
// pass. They mirror the store's types field for field (the daemon converts
// with a plain type conversion), so the CLI and the client link no store.

// Error kinds the handler maps to statuses, shared with the store.
var (
	ErrNotFound = errkind.ErrNotFound // 404
	ErrTooLarge = errkind.ErrTooLarge // 413
	ErrInvalid  = errkind.ErrInvalid  // 400
	ErrActive   = errkind.ErrActive   // 409
)

// MaxListLimit is the largest page of GET /api/v1/jobs (the store's
// MaxListLimit).
const MaxListLimit = 1000

// ListQuery selects jobs for GET /api/v1/jobs: a list, or a search.
type ListQuery struct {
	State  jobs.State `json:"state,omitempty"`  // only jobs in this state; "" for all
	Limit  int        `json:"limit,omitempty"`  // at most this many; <= 0: the server's default (50)
	Before string     `json:"before,omitempty"` // only jobs created before this id (paging)

	// Search filters (the store's search indexes: docs/api.md).
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

// Page is one page of a job search.
type Page struct {
	Jobs []jobs.Job `json:"jobs"`
	// NextCursor, when set, is the Cursor of the next page; empty at the end.
	NextCursor string `json:"next_cursor,omitempty"`
	// Index is what the query walked: "index/sha256", ..., "states/<state>"
	// or "jobs" (every job, newest first).
	Index string `json:"index"`
	// Scanned is how many job records the page examined.
	Scanned int `json:"scanned"`
}

// DefaultListLimit is the page size when a query gives none (the store's).
const DefaultListLimit = 50

// Policy is a retention policy for a GC. Zero fields keep everything.
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

// GCReport is what a GC did.
type GCReport struct {
	JobsExpired      int           `json:"jobs_expired"`           // deleted for MaxAge
	JobsEvicted      int           `json:"jobs_evicted"`           // deleted for MaxBytes
	ReportsDeleted   int           `json:"reports_deleted"`        // reports of the deleted jobs
	ArtifactsDeleted int           `json:"artifacts_deleted"`      // artifact records of the deleted jobs
	SamplesDeleted   int           `json:"samples_deleted"`        // sample records no job references any more
	OrphansRemoved   int           `json:"orphans_removed"`        // files without a record (an earlier GC interrupted, a crashed submit)
	FileErrors       int           `json:"file_errors"`            // files that could not be removed (logged; the next GC retries)
	BytesFreed       int64         `json:"bytes_freed"`            // sample and artifact bytes removed from disk
	BytesBefore      int64         `json:"bytes_before"`           // store size before
	BytesAfter       int64         `json:"bytes_after"`            // and after
	Compacted        bool          `json:"compacted"`              // the database was compacted
	DBBytesBefore    int64         `json:"db_bytes_before"`        // database file size before
	DBBytesAfter     int64         `json:"db_bytes_after"`         // and after
	Duration         time.Duration `json:"duration"`               // time taken
	JobsDeleted      []string      `json:"jobs_deleted,omitempty"` // ids, oldest first
	DryRun           bool          `json:"dry_run,omitempty"`      // nothing was deleted: the counts, ids and bytes_freed say what would be
}

// Validate rejects negative limits with ErrInvalid.
func (p Policy) Validate() error {
	switch {
	case p.MaxAge < 0:
		return fmt.Errorf("%w: retention max age %s is negative", ErrInvalid, p.MaxAge)
	case p.MaxBytes < 0:
		return fmt.Errorf("%w: retention max bytes %d is negative", ErrInvalid, p.MaxBytes)
	}
	return nil
}

// Validate checks a query's fields, normalising hashes to lower case (the
// store checks the same again: store.ListQuery.Validate).
func (q *ListQuery) Validate() error {
	if q.State != "" && !q.State.Valid() {
		return fmt.Errorf("%w: state %q", ErrInvalid, clip(string(q.State), 32))
	}
	for _, h := range []struct {
		name string
		v    *string
		n    int
	}{{"sha256", &q.SHA256, 64}, {"sha1", &q.SHA1, 40}, {"md5", &q.MD5, 32}} {
		*h.v = strings.ToLower(*h.v)
		if *h.v == "" {
			continue
		}
		if len(*h.v) != h.n || strings.Trim(*h.v, "0123456789abcdef") != "" {
			return fmt.Errorf("%w: %s %q: want %d hex digits", ErrInvalid, h.name, clip(*h.v, 80), h.n)
		}
	}
	switch q.Verdict {
	case "", "malware", "benign", "unknown":
	default:
		return fmt.Errorf("%w: verdict %q: want malware, benign or unknown", ErrInvalid, clip(q.Verdict, 32))
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		return fmt.Errorf("%w: until %s is not after since %s", ErrInvalid, q.Until.Format(time.RFC3339), q.Since.Format(time.RFC3339))
	}
	for name, c := range map[string]string{"cursor": q.Cursor, "before": q.Before} {
		if len(c) > 64 {
			return fmt.Errorf("%w: %s longer than 64 bytes (want a job id)", ErrInvalid, name)
		}
	}
	if len(q.Name) > 256 || len(q.Family) > 256 || len(q.Signature) > 256 {
		return fmt.Errorf("%w: search text longer than 256 bytes", ErrInvalid)
	}
	return nil
}

// clip bounds a value quoted in an error.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
