// Package api serves the orchestrator's REST API over HTTP. Every route
// requires "Authorization: Bearer <token>". Routes:
//
//	POST /api/v1/jobs                 submit a sample (raw body or multipart "file" part)
//	GET  /api/v1/jobs                 list jobs, newest first (?state=&limit=&before=)
//	GET  /api/v1/jobs/{id}            one job
//	GET  /api/v1/jobs/{id}/report     its report (409 while not ready)
//	GET  /api/v1/jobs/{id}/trace      its trace artifact, gzip-compressed JSON lines
//	GET  /api/v1/health               orchestrator health
//	POST /api/v1/gc                   apply a retention policy now (GCRequest body)
//	GET  /api/v1/pool[/health]        the VM pool and its health (with HandlerOptions.Pool; see pool.go)
//	POST|DELETE /api/v1/pool/slots... add, remove, drain or reset a slot
//
// Errors are JSON: {"error": "...", "kind": "not_found"}; see Kind.
package api

import (
	"context"
	"errors"
	"fmt"
	"github.com/scalemalnet/scalemalnet/plugins/host"
	"io"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

// Service is what the API serves; the daemon implements it. Errors should
// wrap the sentinels the handler maps to statuses: ErrNotFound (404),
// ErrTooLarge (413), jobs.ErrInvalid or ErrInvalid (400),
// ErrNotReady (409) and ErrUnavailable (503).
type Service interface {
	Submit(ctx context.Context, name string, body io.Reader, opts jobs.Options) (jobs.Job, error)
	Job(ctx context.Context, id string) (jobs.Job, error)
	Jobs(ctx context.Context, q ListQuery) ([]jobs.Job, error)
	Report(ctx context.Context, id string) (*report.Report, error)
	OpenTrace(ctx context.Context, id string) (io.ReadCloser, error)
	Health(ctx context.Context) Health
	Plugins(ctx context.Context) []host.Status
	// GC applies a retention policy; zero limits take the configured ones.
	GC(ctx context.Context, p Policy) (GCReport, error)
}

// GCRequest is the JSON body of POST /api/v1/gc. Zero (absent) limits take
// the orchestrator's configured retention.
type GCRequest struct {
	MaxAge   string `json:"max_age,omitempty"`   // Go duration, e.g. "720h": delete finished jobs older than this
	MaxBytes int64  `json:"max_bytes,omitempty"` // delete the oldest finished jobs while the store is larger
	Compact  bool   `json:"compact,omitempty"`   // compact the database file afterwards
	DryRun   bool   `json:"dry_run,omitempty"`   // report what would be deleted; delete nothing
}

// Policy validates the request and turns it into a Policy. Errors
// wrap ErrInvalid.
func (r GCRequest) Policy() (Policy, error) {
	p := Policy{MaxBytes: r.MaxBytes, Compact: r.Compact, DryRun: r.DryRun}
	if r.MaxAge != "" {
		d, err := time.ParseDuration(r.MaxAge)
		if err != nil {
			return p, fmt.Errorf("%w: max_age %q: want a Go duration such as \"720h\"", ErrInvalid, r.MaxAge)
		}
		p.MaxAge = d
	}
	if err := p.Validate(); err != nil {
		return p, err
	}
	return p, nil
}

// Problem is one reason the health is degraded.
type Problem struct {
	Kind    string `json:"kind"` // ProblemPool, ProblemSlots, ProblemReload, ProblemQueue or ProblemPlugin
	Message string `json:"message"`
}

// Kinds of health problems.
const (
	ProblemPool   = "pool"   // the pool has no slots
	ProblemSlots  = "slots"  // slots quarantined or broken
	ProblemReload = "reload" // the configuration reload failed; the running configuration is kept
	ProblemQueue  = "queue"  // queued jobs no slot can take
	ProblemPlugin = "plugin" // a plugin refused or failed
)

// Health is the orchestrator's state as served by GET /api/v1/health.
type Health struct {
	Status     string `json:"status"` // "ok" or "degraded"
	Version    string `json:"version"`
	SlotsTotal int    `json:"slots_total"`
	SlotsIdle  int    `json:"slots_idle"`
	Queued     int    `json:"queued"`
	Hypervisor string `json:"hypervisor"` // e.g. "kvm", "qemu (TCG)"

	// SlotsQuarantined counts slots quarantined or broken (taking no jobs
	// until rebuilt); ReloadError is the last configuration reload's
	// error while the running configuration is kept. Either makes the
	// status "degraded"; GET /api/v1/pool/health says more.
	SlotsQuarantined int    `json:"slots_quarantined,omitempty"`
	ReloadError      string `json:"reload_error,omitempty"`
	// Problems says, one sentence each with its kind, why the status is
	// "degraded": the pool has no slots, slots out of service, a failed
	// reload, queued jobs that no slot can take ("2 queued jobs cannot
	// start: no slot has tag gpu"), refused or failed plugins.
	Problems []Problem `json:"problems,omitempty"`
	// PluginProblems are the messages of the plugin Problems ("name:
	// state: reason"), and Reasons the messages of the others: the two
	// lists of orchestrators before Problems, kept for their clients.
	PluginProblems []string `json:"plugin_problems,omitempty"`
	Reasons        []string `json:"reasons,omitempty"`
}

// Errors a Service wraps for the statuses they map to.
var (
	// ErrNotReady: the resource exists but is not produced yet (a report or
	// trace of a job still in progress). 409; the body carries the job state.
	ErrNotReady = errors.New("not ready")
	// ErrUnavailable: the orchestrator cannot take the request now (disk
	// full, shutting down). 503.
	ErrUnavailable = errors.New("service unavailable")
	// ErrConflict: the request contradicts the current state (a pool slot
	// that already exists, or is being removed). 409.
	ErrConflict = errors.New("conflict")
)

// Kind classifies an API error in its JSON body.
type Kind string

// Error kinds, one per status the API returns.
const (
	KindInvalid      Kind = "invalid"      // 400
	KindUnauthorized Kind = "unauthorized" // 401
	KindNotFound     Kind = "not_found"    // 404
	KindNotAllowed   Kind = "not_allowed"  // 405
	KindNotReady     Kind = "not_ready"    // 409
	KindConflict     Kind = "conflict"     // 409
	KindTooLarge     Kind = "too_large"    // 413
	KindInternal     Kind = "internal"     // 500
	KindUnavailable  Kind = "unavailable"  // 503
)

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error string     `json:"error"`
	Kind  Kind       `json:"kind"`
	State jobs.State `json:"state,omitempty"` // job state, with KindNotReady
}

// PcapService is implemented by a Service that keeps network captures (the
// isolated network mode): OpenPcap opens a finished job's pcap, ErrNotFound
// when the job has none. Without it GET /api/v1/jobs/{id}/pcap answers 404.
type PcapService interface {
	OpenPcap(ctx context.Context, id string) (io.ReadCloser, error)
}
