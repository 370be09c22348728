package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/scalemalnet/scalemalnet/plugins/host"
)

// PluginReloader reloads the plugins without a restart. A Service that
// implements it gets the route
//
//	POST /api/v1/plugins/reload   re-read plugins.json: start new and re-registered
//	                              plugins, stop removed ones, retry refused and failed
//	                              ones -> 200, host.ReloadReport
//
// Errors: an unreadable plugins.json is ErrConflict (409; nothing
// changed, the message says why); ErrUnavailable (503) when the
// orchestrator runs without plugins.
type PluginReloader interface {
	ReloadPlugins(ctx context.Context) (host.ReloadReport, error)
}

func (h *handler) pluginRoutes() {
	pr, ok := h.svc.(PluginReloader)
	if !ok {
		return
	}
	h.mux.HandleFunc("POST /api/v1/plugins/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > 0 {
			h.fail(w, r, fmt.Errorf("%w: this request takes no body", ErrInvalid))
			return
		}
		rep, err := pr.ReloadPlugins(r.Context())
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, rep)
	})
}
