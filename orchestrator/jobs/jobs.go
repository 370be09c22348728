// Package jobs defines an analysis job and its life: states, options and the
// transitions a job goes through. It holds no storage; see orchestrator/store.
package jobs

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// State is where a job is in its life. Queued, Restoring, Running,
// Collecting and Processing are active; Done, Failed and Cancelled are final.
type State string

const (
	Queued     State = "queued"     // waiting for a VM slot
	Restoring  State = "restoring"  // slot being put in its clean state, agent handshake
	Running    State = "running"    // sample pushed and executing under the tracer
	Collecting State = "collecting" // run over; trace being stored
	Processing State = "processing" // VM gone, slot free; featurize, classify, fuse and report on the post-VM workers
	Done       State = "done"       // report stored
	Failed     State = "failed"     // ended without a report; Error says why
	Cancelled  State = "cancelled"  // cancelled by a user (queued, or stopped while it ran); Error says by whom
)

// Final reports whether no further transition can happen.
func (s State) Final() bool { return s == Done || s == Failed || s == Cancelled }

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	switch s {
	case Queued, Restoring, Running, Collecting, Processing, Done, Failed, Cancelled:
		return true
	}
	return false
}

// Options are the per-job analysis settings chosen at submission.
type Options struct {
	Timeout time.Duration `json:"timeout"` // run time before the tree is killed
	Window  time.Duration `json:"window"`  // length of one trace window
	Args    []string      `json:"args,omitempty"`
	// Network is the guest network the sample gets: NetworkNone (the
	// default: no network device at all), NetworkIsolated (the fake
	// internet, captured) or NetworkUser (NAT to whatever the host can
	// reach; only when the configuration allows it). Only slots configured
	// with the same mode run the job.
	Network string `json:"network,omitempty"`
	// Export is the export a DLL sample's rundll32 calls ("#1", the first
	// ordinal, when empty); ignored for other samples.
	Export string `json:"export,omitempty"`
	// Tags route the job: it runs only on a slot that has every one of
	// them (a slot's free-form tags, `pool ls`). Sorted, without repeats.
	Tags []string `json:"tags,omitempty"`
}

// TagsIn reports whether have (a slot's tags) holds every tag of the job.
func (o Options) TagsIn(have []string) bool {
	for _, t := range o.Tags {
		if !slices.Contains(have, t) {
			return false
		}
	}
	return true
}

// Guest network modes of a job (Options.Network).
const (
	NetworkNone = ""     // no network device; loopback only
	NetworkUser = "user" // QEMU user-mode networking (NAT through the host); off unless the configuration allows it
	// NetworkIsolated: the fake internet (orchestrator/fakenet): DNS,
	// TCP and HTTP answered by the orchestrator, nothing routed anywhere,
	// the traffic captured.
	NetworkIsolated = "isolated"
)

// Defaults and bounds for Options.
const (
	DefaultTimeout = 20 * time.Second
	DefaultWindow  = time.Second
	MaxTimeout     = 10 * time.Minute
	MinWindow      = 10 * time.Millisecond
	MaxArgs        = 32
	MaxArgLen      = 1024
	MaxExportLen   = 256
	MaxTags        = 16
	MaxTagLen      = 64
)

// ErrInvalid is wrapped by every validation error of this package.
var ErrInvalid = errors.New("invalid job")

// Normalize fills defaults and checks bounds.
func (o *Options) Normalize() error {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	switch {
	case o.Timeout < time.Second || o.Timeout > MaxTimeout:
		return fmt.Errorf("%w: timeout %s outside [1s, %s]", ErrInvalid, o.Timeout, MaxTimeout)
	case o.Window < MinWindow || o.Window > o.Timeout:
		return fmt.Errorf("%w: window %s outside [%s, timeout]", ErrInvalid, o.Window, MinWindow)
	case len(o.Args) > MaxArgs:
		return fmt.Errorf("%w: %d arguments, at most %d", ErrInvalid, len(o.Args), MaxArgs)
	}
	for _, a := range o.Args {
		if len(a) > MaxArgLen {
			return fmt.Errorf("%w: argument longer than %d bytes", ErrInvalid, MaxArgLen)
		}
	}
	if len(o.Export) > MaxExportLen || strings.ContainsAny(o.Export, ",\x00\r\n\t") {
		return fmt.Errorf("%w: DLL export of %d bytes (at most %d, no commas or control characters)", ErrInvalid, len(o.Export), MaxExportLen)
	}
	if len(o.Tags) > MaxTags {
		return fmt.Errorf("%w: %d tags, at most %d", ErrInvalid, len(o.Tags), MaxTags)
	}
	for _, t := range o.Tags {
		if t == "" || len(t) > MaxTagLen || strings.ContainsFunc(t, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ',' }) {
			return fmt.Errorf("%w: tag %q: want 1-%d printable characters, no commas", ErrInvalid, t, MaxTagLen)
		}
	}
	if len(o.Tags) == 0 {
		o.Tags = nil
	} else {
		o.Tags = slices.Compact(slices.Sorted(slices.Values(o.Tags)))
	}
	switch o.Network {
	case NetworkNone, NetworkUser, NetworkIsolated:
	case "none":
		o.Network = NetworkNone
	default:
		return fmt.Errorf("%w: network %q (want none, isolated or user)", ErrInvalid, o.Network)
	}
	return nil
}

// Sample identifies the submitted file. Name is for display only and never
// becomes a path.
type Sample struct {
	SHA256 string `json:"sha256"`
	SHA1   string `json:"sha1"`
	MD5    string `json:"md5"`
	Size   int64  `json:"size"`
	Name   string `json:"name"`
	Type   string `json:"type"` // e.g. "ELF 64-bit LSB executable, x86-64, static"
}

// Transition is one recorded state change.
type Transition struct {
	State State     `json:"state"`
	At    time.Time `json:"at"`
	Note  string    `json:"note,omitempty"`
}

// Job is an analysis request and its progress.
type Job struct {
	ID        string       `json:"id"`
	Sample    Sample       `json:"sample"`
	Options   Options      `json:"options"`
	State     State        `json:"state"`
	Step      string       `json:"step,omitempty"`  // current lifecycle step while active
	Slot      string       `json:"slot,omitempty"`  // VM slot running it
	Error     string       `json:"error,omitempty"` // why it failed
	Attempts  int          `json:"attempts"`        // times it was started on a slot
	Created   time.Time    `json:"created"`
	Updated   time.Time    `json:"updated"`
	History   []Transition `json:"history"`
	HasReport bool         `json:"has_report"`

	// FailedSlots are the slots on which an attempt failed for
	// infrastructure reasons (restore, agent, ...), each once, oldest
	// first. Workers steer a retry away from them. Absent in records
	// written before it existed.
	FailedSlots []string `json:"failed_slots,omitempty"`

	// Verdict is the report's fused verdict in brief, set when the job is
	// done, so job lists show it without reading reports.
	Verdict *VerdictBrief `json:"verdict,omitempty"`

	// Signatures names the behaviour signatures the report matched, set
	// with the report when it has any; searchable (store index/signature).
	Signatures []string `json:"signatures,omitempty"`

	// Waiting says why a queued job has not started yet ("no slot accepts
	// network=user", "3 jobs ahead, 2 slots busy"). Filled by the
	// orchestrator when it serves a queued job; never stored.
	Waiting string `json:"waiting,omitempty"`
}

// VerdictBrief is a report's verdict in a few fields.
type VerdictBrief struct {
	Label       string  `json:"label"` // malware, benign or unknown
	Probability float64 `json:"probability"`
	Family      string  `json:"family,omitempty"`
}

// String is e.g. "malware 0.91 SSH", "benign 0.02" or "unknown".
func (v *VerdictBrief) String() string {
	if v == nil {
		return "-"
	}
	if v.Label == "unknown" {
		return v.Label
	}
	s := fmt.Sprintf("%s %.2f", v.Label, v.Probability)
	if v.Family != "" {
		s += " " + v.Family
	}
	return s
}

// ErrTransition is wrapped when a state change is not allowed.
var ErrTransition = errors.New("invalid state transition")

// allowed lists legal transitions. Any active state may go back to Queued (a
// retry after a slot failure or an orchestrator restart), to Failed or to
// Cancelled.
var allowed = map[State][]State{
	Queued:     {Restoring, Failed, Cancelled},
	Restoring:  {Running, Queued, Failed, Cancelled},
	Running:    {Collecting, Queued, Failed, Cancelled},
	Collecting: {Processing, Done, Queued, Failed, Cancelled},
	Processing: {Done, Queued, Failed, Cancelled},
}

// CanMove reports whether from -> to is a legal transition.
func CanMove(from, to State) bool {
	for _, s := range allowed[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Move applies a transition, recording it in History.
func (j *Job) Move(to State, at time.Time, note string) error {
	if !CanMove(j.State, to) {
		return fmt.Errorf("%w: job %s %s -> %s", ErrTransition, j.ID, j.State, to)
	}
	j.State = to
	j.Updated = at
	j.History = append(j.History, Transition{State: to, At: at, Note: note})
	if to == Failed || to == Cancelled {
		j.Error = note
	}
	if to.Final() {
		j.Step = ""
	}
	return nil
}
