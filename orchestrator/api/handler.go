package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/scalemalnet/scalemalnet/plugins/host"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/errkind"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// HandlerOptions tune NewHandler.
type HandlerOptions struct {
	MaxSample int64        // largest sample accepted; default 64 MiB
	Logger    *slog.Logger // request log; default slog.Default()
	// Pool serves the /api/v1/pool routes; nil leaves them out (404).
	Pool PoolService
	// UI serves the web interface at /ui/ (and "/", redirecting there);
	// it authenticates its requests itself. Nil leaves it out.
	UI http.Handler
	// Mounts are further handlers served beside the API on the same
	// listener (the Cuckoo-compatible API, /metrics); see Mount.
	Mounts []Mount
}

// Mount is a handler served beside the API. Its requests pass the API's
// bearer-token check first, unless OwnAuth says the handler checks them
// itself (the Cuckoo-compatible API answers in its own error format).
type Mount struct {
	Pattern string // http.ServeMux pattern, e.g. "/tasks/" or "GET /metrics"
	Handler http.Handler
	OwnAuth bool
}

// uploadSlack is what a request body may carry beyond the sample itself
// (multipart boundaries and form fields).
const uploadSlack = 1 << 20

type handler struct {
	svc       Service
	ownAuth   map[string]bool // mount patterns whose handler authenticates itself
	tokenHash [32]byte
	noToken   bool
	maxSample int64
	log       *slog.Logger
	mux       *http.ServeMux
	ui        http.Handler
}

// NewHandler returns the API's HTTP handler. Requests without the bearer
// token get 401; an empty token refuses every request.
func NewHandler(svc Service, token string, opts HandlerOptions) http.Handler {
	if opts.MaxSample <= 0 {
		opts.MaxSample = 64 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &handler{svc: svc, tokenHash: sha256.Sum256([]byte(token)), noToken: token == "",
		maxSample: opts.MaxSample, log: opts.Logger, mux: http.NewServeMux(), ui: opts.UI}
	h.mux.HandleFunc("POST /api/v1/jobs", h.submit)
	h.mux.HandleFunc("GET /api/v1/jobs", h.list)
	h.mux.HandleFunc("GET /api/v1/jobs/{id}", h.job)
	h.mux.HandleFunc("GET /api/v1/jobs/{id}/report", h.report)
	h.mux.HandleFunc("GET /api/v1/jobs/{id}/trace", h.trace)
	h.mux.HandleFunc("GET /api/v1/jobs/{id}/pcap", h.pcap)
	h.mux.HandleFunc("GET /api/v1/health", h.health)
	h.mux.HandleFunc("GET /api/v1/plugins", h.plugins)
	h.mux.HandleFunc("POST /api/v1/gc", h.gc)
	if opts.Pool != nil {
		h.poolRoutes(opts.Pool)
	}
	h.jobControlRoutes()
	h.pluginRoutes()
	h.mux.HandleFunc("GET /api/v1/openapi.yaml", serveOpenAPI)
	h.ownAuth = map[string]bool{}
	for _, m := range opts.Mounts {
		h.mux.Handle(m.Pattern, m.Handler)
		if m.OwnAuth {
			h.ownAuth[m.Pattern] = true
		}
	}
	return h
}

// ServeHTTP authenticates, routes and logs a request. A path no route has
// is 404; a known path with another method is 405 with an Allow header
// (both as JSON errors, after authentication).
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	fallback, pattern := h.mux.Handler(r)
	switch {
	case h.ui != nil && uiPath(r):
		h.serveUI(rec, r)
	case pattern != "" && h.ownAuth[pattern]:
		h.mux.ServeHTTP(rec, r)
	case !h.authorized(r):
		w.Header().Set("WWW-Authenticate", `Bearer realm="scalemalnet"`)
		// issue 13 finding 5: a client without the token gets no
		// keep-alive; the server closes the connection after the 401.
		w.Header().Set("Connection", "close")
		writeError(rec, http.StatusUnauthorized, KindUnauthorized, "missing or wrong bearer token", "")
	case pattern == "":
		noRoute(rec, r, fallback)
	default:
		h.mux.ServeHTTP(rec, r)
	}
	level := slog.LevelInfo
	if rec.status >= 500 {
		level = slog.LevelError
	}
	h.log.Log(r.Context(), level, "api request", "method", r.Method, "path", r.URL.Path,
		"status", rec.status, "bytes", rec.bytes, "duration", time.Since(start).Round(time.Microsecond),
		"remote", r.RemoteAddr)
}

// noRoute answers a request no pattern matched: the mux's own answer
// (404, or 405 with Allow when another method has the path; a redirect for
// a missing trailing slash) made a JSON error.
func noRoute(w http.ResponseWriter, r *http.Request, fallback http.Handler) {
	c := &capture{header: http.Header{}}
	fallback.ServeHTTP(c, r)
	switch c.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", c.header.Get("Allow"))
		writeError(w, http.StatusMethodNotAllowed, KindNotAllowed,
			fmt.Sprintf("method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, c.header.Get("Allow")), "")
	case http.StatusMovedPermanently, http.StatusPermanentRedirect, http.StatusTemporaryRedirect, http.StatusFound:
		http.Redirect(w, r, c.header.Get("Location"), c.status)
	default:
		writeError(w, http.StatusNotFound, KindNotFound, "no such route: "+r.Method+" "+r.URL.Path, "")
	}
}

// capture records what the mux's fallback handler answers.
type capture struct {
	header http.Header
	status int
}

func (c *capture) Header() http.Header { return c.header }
func (c *capture) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}
func (c *capture) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return len(p), nil
}

// TokenCheck returns a function reporting whether a request carries
// "Authorization: Bearer <token>" (compared in constant time); an empty
// token refuses every request. Mounts with OwnAuth use it.
func TokenCheck(token string) func(*http.Request) bool {
	h := &handler{tokenHash: sha256.Sum256([]byte(token)), noToken: token == ""}
	return h.authorized
}

// authorized compares the bearer token in constant time (of equal-length
// hashes, so the token's length does not leak either).
func (h *handler) authorized(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	const prefix = "bearer "
	if h.noToken || len(auth) < len(prefix) || !strings.EqualFold(auth[:len(prefix)], prefix) {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(auth[len(prefix):])))
	return subtle.ConstantTimeCompare(got[:], h.tokenHash[:]) == 1
}

// recorder remembers the status and size of a response for the log.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, kind Kind, msg string, state jobs.State) {
	writeJSON(w, status, ErrorBody{Error: msg, Kind: kind, State: state})
}

// classify maps an error to its status and kind.
func classify(err error) (int, Kind) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe), errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge, KindTooLarge
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, KindNotFound
	case errors.Is(err, jobs.ErrInvalid), errors.Is(err, ErrInvalid):
		return http.StatusBadRequest, KindInvalid
	case errors.Is(err, ErrNotReady):
		return http.StatusConflict, KindNotReady
	case errors.Is(err, ErrConflict), errors.Is(err, ErrActive):
		return http.StatusConflict, KindConflict
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, KindUnavailable
	}
	return http.StatusInternalServerError, KindInternal
}

// fail writes err as a JSON error. For not-ready errors on a job's
// resources it adds the job's state.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, kind := classify(err)
	var state jobs.State
	if kind == KindNotReady {
		if id := r.PathValue("id"); id != "" {
			if j, jerr := h.svc.Job(r.Context(), id); jerr == nil {
				state = j.State
			}
		}
	}
	if errors.Is(err, errkind.ErrQueueFull) {
		w.Header().Set("Retry-After", "30")
	}
	if status == http.StatusInternalServerError {
		h.log.Error("api internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, status, kind, err.Error(), state)
}

func (h *handler) job(w http.ResponseWriter, r *http.Request) {
	j, err := h.svc.Job(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// JobList is the body of GET /api/v1/jobs. NextCursor, when present, is
// what to pass as ?cursor= (or ?before=) for the next page; absent on the
// last page.
type JobList struct {
	Jobs []jobs.Job `json:"jobs"`
	// NextCursor, when set, fetches the next page as ?cursor=.
	NextCursor string `json:"next_cursor,omitempty"`
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	q, err := parseListQuery(r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page, err := h.search(r.Context(), q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, JobList{Jobs: page.Jobs, NextCursor: page.NextCursor})
}

// notReady turns a ErrNotFound for a job's resource into ErrNotReady
// when the job exists but has not finished, so clients can tell "wait"
// from "no such job".
func (h *handler) notReady(ctx context.Context, id string, err error) error {
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	j, jerr := h.svc.Job(ctx, id)
	if jerr != nil {
		return jerr
	}
	if !j.State.Final() {
		return fmt.Errorf("%w: job %s is %s", ErrNotReady, id, j.State)
	}
	return err
}

func (h *handler) report(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rep, err := h.svc.Report(r.Context(), id)
	if err != nil {
		h.fail(w, r, h.notReady(r.Context(), id, err))
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (h *handler) trace(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rc, err := h.svc.OpenTrace(r.Context(), id)
	if err != nil {
		h.fail(w, r, h.notReady(r.Context(), id, err))
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", safeFileName(id)+".jsonl.gz"))
	if f, ok := rc.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
		}
	}
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		h.log.Warn("trace download interrupted", "job", id, "err", err)
	}
}

// pcap serves a finished isolated-mode job's packet capture.
func (h *handler) pcap(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ps, ok := h.svc.(PcapService)
	if !ok {
		h.fail(w, r, fmt.Errorf("%w: this orchestrator keeps no packet captures", ErrNotFound))
		return
	}
	rc, err := ps.OpenPcap(r.Context(), id)
	if err != nil {
		h.fail(w, r, h.notReady(r.Context(), id, err))
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/vnd.tcpdump.pcap")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", safeFileName(id)+".pcap"))
	if f, ok := rc.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
		}
	}
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		h.log.Warn("pcap download interrupted", "job", id, "err", err)
	}
}

// safeFileName keeps [A-Za-z0-9._-] of s for a Content-Disposition name.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.svc.Health(r.Context()))
}

// PluginList is the body of GET /api/v1/plugins.
type PluginList struct {
	Plugins []host.Status `json:"plugins"`
}

func (h *handler) plugins(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, PluginList{Plugins: h.svc.Plugins(r.Context())})
}

// maxGCBody bounds the body of POST /api/v1/gc.
const maxGCBody = 64 << 10

func (h *handler) gc(w http.ResponseWriter, r *http.Request) {
	var req GCRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxGCBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			err = fmt.Errorf("%w: gc request body: %v", ErrInvalid, err)
		}
		h.fail(w, r, err)
		return
	}
	if dec.More() {
		h.fail(w, r, fmt.Errorf("%w: gc request body: more than one JSON value", ErrInvalid))
		return
	}
	p, err := req.Policy()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rep, err := h.svc.GC(r.Context(), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
