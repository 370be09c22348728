package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// JobControl cancels and deletes jobs. A Service that implements it gets
// the routes
//
//	POST   /api/v1/jobs/{id}/cancel   a queued job ends cancelled; a running one is stopped,
//	                                  its VM destroyed -> 200, the job (state cancelled)
//	DELETE /api/v1/jobs/{id}          delete a finished job, its report and artifacts -> 200, the job as it was
//
// Errors: ErrNotFound (404); ErrConflict for a cancel of a finished
// job and ErrActive for a delete of an unfinished one (409).
type JobControl interface {
	Cancel(ctx context.Context, id string) (jobs.Job, error)
	Delete(ctx context.Context, id string) (jobs.Job, error)
}

func (h *handler) jobControlRoutes() {
	jc, ok := h.svc.(JobControl)
	if !ok {
		return
	}
	do := func(f func(context.Context, string) (jobs.Job, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > 0 {
				h.fail(w, r, fmt.Errorf("%w: this request takes no body", ErrInvalid))
				return
			}
			j, err := f(r.Context(), r.PathValue("id"))
			if err != nil {
				h.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, j)
		}
	}
	h.mux.HandleFunc("POST /api/v1/jobs/{id}/cancel", do(jc.Cancel))
	h.mux.HandleFunc("DELETE /api/v1/jobs/{id}", do(jc.Delete))
}
