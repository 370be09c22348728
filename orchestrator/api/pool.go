package api

// Pool management routes:
//
//	GET    /api/v1/pool                       the slots, their state and transition logs (PoolList)
//	GET    /api/v1/pool/health                per-slot health, overall ok/degraded (PoolHealth)
//	POST   /api/v1/pool/slots                 add a slot (SlotRequest) -> 201 PoolChange
//	DELETE /api/v1/pool/slots/{name}          drain, then delete the slot -> 202 PoolChange
//	POST   /api/v1/pool/slots/{name}/drain    stop taking jobs after the current one -> 202
//	POST   /api/v1/pool/slots/{name}/reset    rebuild the clean state from a cold boot -> 202
//	POST   /api/v1/pool/slots/{name}/undrain  lift a drain, keeping the clean state -> 202

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// PoolService manages the VM pool; the daemon implements it. Errors wrap
// ErrNotFound (unknown slot, 404), ErrInvalid (bad definition,
// 400), ErrConflict (duplicate name, slot being removed, 409) or
// ErrUnavailable (503).
type PoolService interface {
	Pool(ctx context.Context) PoolList
	PoolHealth(ctx context.Context) PoolHealth
	AddSlot(ctx context.Context, req SlotRequest) (PoolChange, error)
	RemoveSlot(ctx context.Context, name string) (PoolChange, error)
	DrainSlot(ctx context.Context, name string) (PoolChange, error)
	ResetSlot(ctx context.Context, name string) (PoolChange, error)
	// UndrainSlot lifts a drain: the slot takes jobs again with the clean
	// state it has (no cold boot).
	UndrainSlot(ctx context.Context, name string) (PoolChange, error)
}

// SlotTransition is one state change of a slot.
type SlotTransition struct {
	At     time.Time `json:"at"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason,omitempty"`
	Job    string    `json:"job,omitempty"` // the job the slot held, if any
}

// PoolSlot is one slot as GET /api/v1/pool shows it.
type PoolSlot struct {
	Name                string     `json:"name"`
	State               string     `json:"state"` // idle, restoring, busy, preparing, broken, draining, quarantined, removed
	Since               time.Time  `json:"since"`
	Job                 string     `json:"job,omitempty"`
	Host                string     `json:"host"`
	Domain              string     `json:"domain"`
	MemoryMiB           int        `json:"memory_mib"`
	Network             string     `json:"network"` // none, isolated or user
	Tags                []string   `json:"tags,omitempty"`
	Origin              string     `json:"origin"` // config, flags or api
	Analyses            int        `json:"analyses"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	Quarantined         bool       `json:"quarantined,omitempty"`
	LastError           string     `json:"last_error,omitempty"`
	LastErrorAt         *time.Time `json:"last_error_at,omitempty"`
	CleanStateBuilt     *time.Time `json:"clean_state_built,omitempty"`
	// Pending is a requested change waiting for the current job: remove,
	// rebuild (with what changes) or reset.
	Pending     string           `json:"pending,omitempty"`
	Transitions []SlotTransition `json:"transitions,omitempty"` // oldest first, the last 50
}

// PoolList is the body of GET /api/v1/pool.
type PoolList struct {
	Slots           []PoolSlot `json:"slots"`
	QuarantineAfter int        `json:"quarantine_after"`
	ConfigFile      string     `json:"config_file,omitempty"`
}

// SlotHealth is one slot in PoolHealth.
type SlotHealth struct {
	Name                string           `json:"name"`
	State               string           `json:"state"`
	Healthy             bool             `json:"healthy"`
	ConsecutiveFailures int              `json:"consecutive_failures"`
	LastError           string           `json:"last_error,omitempty"`
	LastErrorAt         *time.Time       `json:"last_error_at,omitempty"`
	CleanStateBuilt     *time.Time       `json:"clean_state_built,omitempty"`
	Transitions         []SlotTransition `json:"transitions,omitempty"`
}

// PoolHealth is the body of GET /api/v1/pool/health.
type PoolHealth struct {
	Status          string   `json:"status"`  // ok or degraded
	Serving         int      `json:"serving"` // slots idle, restoring or busy
	Problems        []string `json:"problems,omitempty"`
	QuarantineAfter int      `json:"quarantine_after"`
	ReloadError     string   `json:"reload_error,omitempty"`
	// Warnings do not make the pool degraded but need an operator: a
	// configuration change not applied because pool.json (the API)
	// defines or removed the slot, a change that needs a restart.
	Warnings      []string     `json:"warnings,omitempty"`
	ReloadErrorAt *time.Time   `json:"reload_error_at,omitempty"`
	LastReload    *time.Time   `json:"last_reload,omitempty"`
	Slots         []SlotHealth `json:"slots"`
}

// SlotRequest is the body of POST /api/v1/pool/slots.
type SlotRequest struct {
	Name      string   `json:"name"`
	MemoryMiB int      `json:"memory_mib,omitempty"` // default: the orchestrator's
	Network   string   `json:"network,omitempty"`    // none (default) or user
	Tags      []string `json:"tags,omitempty"`
}

// PoolChange is the answer to a pool edit: the slot as it is right after
// the request (a drain or removal completes after the current job).
type PoolChange struct {
	Action   string   `json:"action"` // add, remove, drain, undrain, reset
	Slot     PoolSlot `json:"slot"`
	Warnings []string `json:"warnings,omitempty"`
}

// maxPoolBody bounds the body of POST /api/v1/pool/slots.
const maxPoolBody = 16 << 10

func (h *handler) poolRoutes(p PoolService) {
	h.mux.HandleFunc("GET /api/v1/pool", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, p.Pool(r.Context()))
	})
	h.mux.HandleFunc("GET /api/v1/pool/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, p.PoolHealth(r.Context()))
	})
	h.mux.HandleFunc("POST /api/v1/pool/slots", func(w http.ResponseWriter, r *http.Request) {
		var req SlotRequest
		if err := decodeStrict(w, r, maxPoolBody, &req, "slot request"); err != nil {
			h.fail(w, r, err)
			return
		}
		if req.Name == "" {
			h.fail(w, r, fmt.Errorf("%w: slot request: name is required", ErrInvalid))
			return
		}
		ch, err := p.AddSlot(r.Context(), req)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, ch)
	})
	edit := func(f func(context.Context, string) (PoolChange, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > 0 {
				h.fail(w, r, fmt.Errorf("%w: this request takes no body", ErrInvalid))
				return
			}
			ch, err := f(r.Context(), r.PathValue("name"))
			if err != nil {
				h.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusAccepted, ch)
		}
	}
	h.mux.HandleFunc("DELETE /api/v1/pool/slots/{name}", edit(p.RemoveSlot))
	h.mux.HandleFunc("POST /api/v1/pool/slots/{name}/drain", edit(p.DrainSlot))
	h.mux.HandleFunc("POST /api/v1/pool/slots/{name}/reset", edit(p.ResetSlot))
	h.mux.HandleFunc("POST /api/v1/pool/slots/{name}/undrain", edit(p.UndrainSlot))
}

// decodeStrict reads one JSON value of at most limit bytes into v,
// refusing unknown fields and trailing data. Errors wrap ErrInvalid
// (or are *http.MaxBytesError).
func decodeStrict(w http.ResponseWriter, r *http.Request, limit int64, v any, what string) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: %s: empty body", ErrInvalid, what)
		}
		return fmt.Errorf("%w: %s: %v", ErrInvalid, what, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: %s: more than one JSON value", ErrInvalid, what)
	}
	return nil
}
