package daemon

import (
	"context"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

var _ api.Searcher = (*Daemon)(nil)

// SearchJobs pages a job search (store.SearchJobs) for the API and the web
// interface.
func (d *Daemon) SearchJobs(ctx context.Context, q api.ListQuery) (api.Page, error) {
	p, err := d.store.SearchJobs(store.ListQuery(q))
	return api.Page(p), err
}
