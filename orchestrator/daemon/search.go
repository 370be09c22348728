package daemon

import (
	"context"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

var _ api.Searcher = (*Daemon)(nil)

// SearchJobs pages a job search (store.SearchJobs) for the API and the web
// interface.
func (d *Daemon) SearchJobs(ctx context.Context, q store.ListQuery) (store.Page, error) {
	return d.store.SearchJobs(q)
}
