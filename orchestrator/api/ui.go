package api

import (
	"net/http"
	"strings"
)

// Classify maps an error to the status and kind the API answers it with
// (for the web interface, which shows the same errors as pages).
func Classify(err error) (int, Kind) { return classify(err) }

// uiPath reports whether a request goes to the web interface (the
// HandlerOptions.UI handler): /ui/ and below, "/" itself, which
// redirects browsers there, and /favicon.ico.
func uiPath(r *http.Request) bool {
	return r.URL.Path == "/" || r.URL.Path == "/ui" || r.URL.Path == "/favicon.ico" || strings.HasPrefix(r.URL.Path, "/ui/")
}

// serveUI hands a web interface request to ui, which authenticates it
// itself (session cookie or bearer header).
func (h *handler) serveUI(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/ui" {
		http.Redirect(w, r, "/ui/", http.StatusMovedPermanently)
		return
	}
	h.ui.ServeHTTP(w, r)
}
