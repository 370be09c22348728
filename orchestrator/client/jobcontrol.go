package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// Cancel cancels a job: a queued job ends cancelled, a running one is
// stopped and its VM destroyed. ErrConflict if it already finished.
func (c *Client) Cancel(ctx context.Context, id string) (jobs.Job, error) {
	var j jobs.Job
	_, err := c.do(ctx, http.MethodPost, "/api/v1/jobs/"+url.PathEscape(id)+"/cancel", nil, nil, "", &j)
	return j, err
}

// Delete deletes a finished job with its report and artifacts and returns
// it as it was. ErrConflict while the job is queued or running.
func (c *Client) Delete(ctx context.Context, id string) (jobs.Job, error) {
	var j jobs.Job
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/jobs/"+url.PathEscape(id), nil, nil, "", &j)
	return j, err
}

// JobsPage lists one page of jobs, newest first; the list's NextCursor (as
// q.Before) gets the next page.
func (c *Client) JobsPage(ctx context.Context, q api.ListQuery) (api.JobList, error) {
	v := url.Values{}
	if q.State != "" {
		v.Set("state", string(q.State))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Before != "" {
		v.Set("cursor", q.Before)
	}
	var l api.JobList
	_, err := c.do(ctx, http.MethodGet, "/api/v1/jobs", v, nil, "", &l)
	return l, err
}
