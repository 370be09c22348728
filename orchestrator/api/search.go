package api

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// Searcher is implemented by a Service that pages searches itself (the
// daemon, through store.SearchJobs): its pages carry the exact next cursor,
// also after a page cut short by store.MaxScan. Without it the handler
// pages Service.Jobs, with a cursor whenever a page is full.
type Searcher interface {
	SearchJobs(ctx context.Context, q ListQuery) (Page, error)
}

// Search runs q on svc, through Searcher when svc has it.
func Search(ctx context.Context, svc Service, q ListQuery) (Page, error) {
	if s, ok := svc.(Searcher); ok {
		p, err := s.SearchJobs(ctx, q)
		if p.Jobs == nil {
			p.Jobs = []jobs.Job{}
		}
		return p, err
	}
	if q.Before == "" {
		q.Before = q.Cursor // a Service without Searcher pages by Before
	}
	// One more than asked tells whether a next page exists, so a page that
	// exactly ends the list has no cursor.
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	q.Limit = limit + 1
	js, err := svc.Jobs(ctx, q)
	if err != nil {
		return Page{}, err
	}
	if js == nil {
		js = []jobs.Job{}
	}
	p := Page{Jobs: js}
	if len(js) > limit {
		p.Jobs = js[:limit]
		p.NextCursor = js[limit-1].ID
	}
	return p, nil
}

func (h *handler) search(ctx context.Context, q ListQuery) (Page, error) {
	return Search(ctx, h.svc, q)
}

// ListParams are the query parameters of GET /api/v1/jobs.
var ListParams = []string{"state", "limit", "before", "cursor", "sha256", "sha1", "md5", "name",
	"verdict", "family", "signature", "since", "until"}

// ParseListQuery reads the parameters of GET /api/v1/jobs (see ListParams);
// the web interface's jobs page takes the same ones. Empty values are
// ignored. Unknown or repeated parameters are errors.
func ParseListQuery(v url.Values) (ListQuery, error) { return parseListQuery(v) }

func parseListQuery(v url.Values) (ListQuery, error) {
	var q ListQuery
	for k, vals := range v {
		if len(vals) != 1 {
			return q, fmt.Errorf("%w: parameter %q given %d times", jobs.ErrInvalid, k, len(vals))
		}
		val := strings.TrimSpace(vals[0])
		if val == "" {
			if !knownListParam(k) {
				return q, fmt.Errorf("%w: unknown parameter %q", jobs.ErrInvalid, k)
			}
			continue
		}
		var err error
		switch k {
		case "state":
			q.State = jobs.State(val)
			if !q.State.Valid() {
				return q, fmt.Errorf("%w: unknown state %q", jobs.ErrInvalid, val)
			}
		case "limit":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > MaxListLimit {
				return q, fmt.Errorf("%w: limit %q: want an integer in [1, %d]", jobs.ErrInvalid, val, MaxListLimit)
			}
			q.Limit = n
		case "before":
			q.Before = val
		case "cursor":
			q.Cursor = val
		case "sha256":
			q.SHA256 = val
		case "sha1":
			q.SHA1 = val
		case "md5":
			q.MD5 = val
		case "name":
			q.Name = val
		case "verdict":
			q.Verdict = val
		case "family":
			q.Family = val
		case "signature":
			q.Signature = val
		case "since":
			q.Since, err = parseTime(k, val)
		case "until":
			q.Until, err = parseTime(k, val)
		default:
			return q, fmt.Errorf("%w: unknown parameter %q", jobs.ErrInvalid, k)
		}
		if err != nil {
			return q, err
		}
	}
	if err := q.Validate(); err != nil {
		return q, err
	}
	return q, nil
}

func knownListParam(k string) bool {
	for _, p := range ListParams {
		if p == k {
			return true
		}
	}
	return false
}

// parseTime takes RFC 3339 ("2026-11-24T01:40:00Z"), a date ("2026-11-24",
// midnight UTC) or the HTML datetime-local form ("2026-11-24T01:40", UTC).
func parseTime(k, s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %s %q: want RFC 3339 time (2026-11-24T01:40:00Z) or a date (2026-11-24)", jobs.ErrInvalid, k, s)
}
