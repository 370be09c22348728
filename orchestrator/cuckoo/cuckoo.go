// Package cuckoo serves a subset of Cuckoo Sandbox 2.0.7's REST API beside
// ScaleMalNet's own (/api/v1), on the same listener, so that integrations
// written for Cuckoo (TheHive/Cortex's CuckooSandbox analyzer, MISP's
// cuckoo_submit expansion module) work with only their URL and token
// changed. Routes:
//
//	POST /tasks/create/file                       multipart "file" + Cuckoo form fields -> {"task_id": N}
//	POST /tasks/create/url                        400: URL analysis is not supported
//	GET  /tasks/view/{id}                         {"task": {...}} with Cuckoo's status words
//	GET  /tasks/report/{id}[/json]                the report in Cuckoo's report.json layout
//	GET  /tasks/list[/{limit}[/{offset}]]         {"tasks": [...]}, newest first
//	GET  /files/view/md5/{md5}, /sha256/{sha256}  {"sample": {...}}
//	GET  /cuckoo/status                           version, machines, task counts, disk space
//
// Cuckoo task ids are integers; the store keeps a persistent mapping to
// job ids (store.CuckooTask). Requests need "Authorization: Bearer
// <token>" with the orchestrator's API token, as Cuckoo 2.0.7 checks its
// optional API token. Errors are Cuckoo's: {"message": "..."} with the
// status Cuckoo uses (400, 401, 404, 405, 413, 500). docs/cuckoo-api.md
// documents the mapping field by field.
package cuckoo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

// Version is what /cuckoo/status and report info.version claim: the Cuckoo
// API version this package follows.
const Version = "2.0.7"

// Tasks is the task mapping and sample lookup; *store.Store implements it.
type Tasks interface {
	CuckooTaskFor(jobID string, t store.CuckooTask) (store.CuckooTask, error)
	CuckooTasksFor(jobIDs []string) ([]store.CuckooTask, error)
	CuckooTask(id uint64) (store.CuckooTask, error)
	Sample(sha256 string) (jobs.Sample, error)
	SampleByMD5(md5 string) (jobs.Sample, error)
	OpenSample(sha256 string) (*os.File, error)
	Count(state jobs.State) (int, error)
	FreeBytes() (uint64, error)
	Usage() (store.Usage, error)
}

// Options tune NewHandler.
type Options struct {
	Token     string       // the API token; empty refuses every request
	MaxSample int64        // largest sample accepted; default 64 MiB
	Logger    *slog.Logger // default slog.Default()
	Hostname  string       // for /cuckoo/status; default os.Hostname()
}

type handler struct {
	svc   api.Service
	tasks Tasks
	opts  Options
	auth  func(*http.Request) bool
	mux   *http.ServeMux
}

// NewHandler returns the Cuckoo-compatible API over svc (the orchestrator)
// and tasks (its store).
func NewHandler(svc api.Service, tasks Tasks, opts Options) http.Handler {
	if opts.MaxSample <= 0 {
		opts.MaxSample = 64 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	h := &handler{svc: svc, tasks: tasks, opts: opts, auth: api.TokenCheck(opts.Token), mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /tasks/create/file", h.createFile)
	h.mux.HandleFunc("POST /tasks/create/url", func(w http.ResponseWriter, r *http.Request) {
		jsonError(w, http.StatusBadRequest, "URL analysis is not supported: ScaleMalNet analyses files (use tasks/create/file)")
	})
	h.mux.HandleFunc("GET /tasks/view/{id}", h.view)
	h.mux.HandleFunc("GET /tasks/report/{id}", h.report)
	h.mux.HandleFunc("GET /tasks/report/{id}/{format}", h.report)
	h.mux.HandleFunc("GET /tasks/list", h.list)
	h.mux.HandleFunc("GET /tasks/list/{limit}", h.list)
	h.mux.HandleFunc("GET /tasks/list/{limit}/{offset}", h.list)
	h.mux.HandleFunc("GET /files/view/md5/{hash}", h.fileView)
	h.mux.HandleFunc("GET /files/view/sha256/{hash}", h.fileView)
	h.mux.HandleFunc("GET /files/view/id/{id}", func(w http.ResponseWriter, r *http.Request) {
		jsonError(w, http.StatusNotFound, "File not found: ScaleMalNet has no integer sample ids; look samples up by md5 or sha256")
	})
	h.mux.HandleFunc("GET /cuckoo/status", h.status)
	return h
}

// Mounts are the patterns under which the API handler serves h; the
// handler authenticates its requests itself (answering in Cuckoo's
// format).
func Mounts(h http.Handler) []api.Mount {
	var ms []api.Mount
	for _, p := range []string{"/tasks/", "/files/", "/cuckoo/"} {
		ms = append(ms, api.Mount{Pattern: p, Handler: h, OwnAuth: true})
	}
	return ms
}

// ServeHTTP authenticates and routes; unknown paths are 404 and known
// paths with another method 405 (with Allow), as Cuckoo's JSON errors.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.auth(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="scalemalnet"`)
		w.Header().Set("Connection", "close") // no keep-alive without the token (issue 13 finding 5)
		jsonError(w, http.StatusUnauthorized, "Authentication required")
		return
	}
	if _, pattern := h.mux.Handler(r); pattern == "" {
		c := &capture{header: http.Header{}}
		fb, _ := h.mux.Handler(r)
		fb.ServeHTTP(c, r)
		if c.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", c.header.Get("Allow"))
			jsonError(w, http.StatusMethodNotAllowed, "Method not allowed: "+r.Method+" "+r.URL.Path)
			return
		}
		jsonError(w, http.StatusNotFound, "Not found: "+r.URL.Path)
		return
	}
	h.mux.ServeHTTP(w, r)
}

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
func (c *capture) Write(p []byte) (int, error) { return len(p), nil }

// ErrorBody is Cuckoo's error: {"message": "..."}.
type ErrorBody struct {
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	_ = enc.Encode(v)
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorBody{Message: msg})
}

// fail maps an error to Cuckoo's status and message; notFound is the
// message Cuckoo gives for a missing resource ("Task not found").
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error, notFound string) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe), errors.Is(err, store.ErrTooLarge):
		jsonError(w, http.StatusRequestEntityTooLarge, "File too large: "+err.Error())
	case errors.Is(err, store.ErrNotFound), errors.Is(err, api.ErrNotReady):
		jsonError(w, http.StatusNotFound, notFound)
	case errors.Is(err, jobs.ErrInvalid), errors.Is(err, store.ErrInvalid), errors.Is(err, errBadField):
		jsonError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, api.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		jsonError(w, http.StatusServiceUnavailable, err.Error())
	default:
		h.opts.Logger.Error("cuckoo api internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		jsonError(w, http.StatusInternalServerError, "Internal error: "+err.Error())
	}
}

// errBadField marks a malformed Cuckoo form field or path parameter.
var errBadField = errors.New("invalid field")

func badField(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errBadField, fmt.Sprintf(format, a...))
}

// taskID parses a task id path parameter.
func taskID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, badField("task id \"%s\": want a positive integer", printable(s))
	}
	return id, nil
}

// printable bounds and cleans a client value for an error message.
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)[1 : len(strconv.Quote(s))-1]
}

// drain reads what is left of a body so the connection can be reused.
func drain(r io.Reader) { _, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<20)) }
