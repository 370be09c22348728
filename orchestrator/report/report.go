// Package report defines the analysis report served to analysts and builds it
// from a recorded trace.
package report

import (
	"time"

	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// SchemaVersion is bumped when the report's JSON changes incompatibly.
const SchemaVersion = 1

// Report is the stored result of one analysis.
type Report struct {
	Schema   int          `json:"schema"`
	JobID    string       `json:"job_id"`
	Sample   jobs.Sample  `json:"sample"`
	Options  jobs.Options `json:"options"`
	Machine  Machine      `json:"machine"`
	Steps    []Step       `json:"steps"`    // lifecycle steps in order, with timings
	Outcome  Outcome      `json:"outcome"`  // how the sample's run ended
	Behavior Behavior     `json:"behavior"` // summary of what it did
	Windows  []WindowStat `json:"windows"`  // per-window call counts
	Trace    TraceRef     `json:"trace"`    // where the full call trace is
	Features []Feature    `json:"features"` // what each featurizer produced (or why not)
	Votes    []Vote       `json:"votes"`    // every classifier's vote, failed or abstained ones included
	// PluginProblems lists plugins that could take no part in this
	// analysis at all (refused: checksum, API version, not registered;
	// failed: restarted too often), with the reason.
	PluginProblems []PluginProblem `json:"plugin_problems,omitempty"`
	Created        time.Time       `json:"created"`
}

// Machine describes where the sample ran.
type Machine struct {
	Slot         string `json:"slot"`
	Domain       string `json:"domain"`
	Hypervisor   string `json:"hypervisor"` // "kvm" or "qemu" (TCG)
	Kernel       string `json:"kernel"`     // guest kernel release
	AgentVersion string `json:"agent_version"`
	BootID       string `json:"boot_id"`
	Image        string `json:"image"` // guest image digest
}

// Step is one timed lifecycle step (restore, wait-agent, set-time, ...).
type Step struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration_ns"`
	Error    string        `json:"error,omitempty"`
}

// Outcome is how the run ended.
type Outcome struct {
	Status     trace.Outcome `json:"status"`
	ExitCode   int           `json:"exit_code"`
	Signal     string        `json:"signal,omitempty"`
	Error      string        `json:"error,omitempty"`
	DurationNs int64         `json:"duration_ns"`
	Truncated  bool          `json:"truncated"`
	Events     int           `json:"events"` // calls counted
	Kept       int           `json:"kept"`   // calls kept in the trace artifact
	Output     string        `json:"output,omitempty"`
}

// Behavior summarises the trace.
type Behavior struct {
	Processes    []ProcessNode `json:"processes"` // process tree roots
	FilesOpened  []string      `json:"files_opened"`
	FilesWritten []string      `json:"files_written"`
	FilesDeleted []string      `json:"files_deleted,omitempty"`
	Executed     []Exec        `json:"executed"`
	Connections  []Connection  `json:"connections"`
	TopCalls     []CallCount   `json:"top_calls"`
	Omitted      int           `json:"omitted,omitempty"` // list entries left out past MaxListed
}

// ProcessNode is a process with its children.
type ProcessNode struct {
	trace.Process
	Children []ProcessNode `json:"children,omitempty"`
}

// Exec is one program execution.
type Exec struct {
	PID  int      `json:"pid"`
	Path string   `json:"path"`
	Argv []string `json:"argv,omitempty"`
	OK   bool     `json:"ok"`
}

// Connection is one connect attempt.
type Connection struct {
	PID      int    `json:"pid"`
	Addr     string `json:"addr"`
	Attempts int    `json:"attempts"`
	OK       int    `json:"ok"` // attempts that succeeded (or were in progress)
	Error    string `json:"error,omitempty"`
}

// CallCount is a syscall name with its count.
type CallCount struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// WindowStat is one window's counts.
type WindowStat struct {
	Index   int            `json:"index"`
	StartMs int64          `json:"start_ms"`
	Total   int            `json:"total"`
	Dropped int            `json:"dropped,omitempty"`
	Counts  map[string]int `json:"counts,omitempty"`
}

// TraceRef points at the full call trace artifact.
type TraceRef struct {
	Path   string `json:"path"`   // relative to the data directory
	Format string `json:"format"` // "jsonl+gzip"
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Feature records one feature set a featurizer plugin produced, or why it
// produced none.
type Feature struct {
	Featurizer    string        `json:"featurizer"`
	Set           string        `json:"set,omitempty"` // feature set name
	Version       string        `json:"version,omitempty"`
	Kind          string        `json:"kind,omitempty"`
	Size          int           `json:"size,omitempty"` // values, tokens or pixels
	NotApplicable bool          `json:"not_applicable,omitempty"`
	Error         string        `json:"error,omitempty"`
	Duration      time.Duration `json:"duration_ns"`
}

// Vote is one classifier plugin's vote on the sample.
type Vote struct {
	Classifier   string        `json:"classifier"`
	Version      string        `json:"version,omitempty"`
	Stage        string        `json:"stage,omitempty"`  // detection or family
	Inputs       []string      `json:"inputs,omitempty"` // input kinds it used: static, dynamic, image
	Scores       []ClassScore  `json:"scores,omitempty"`
	Label        string        `json:"label,omitempty"`
	Model        string        `json:"model,omitempty"`
	ModelVersion string        `json:"model_version,omitempty"`
	Abstained    bool          `json:"abstained,omitempty"` // its input kind does not apply
	Reason       string        `json:"reason,omitempty"`    // why it abstained
	Error        string        `json:"error,omitempty"`     // why it failed (crash, deadline, bad vote)
	Explanation  string        `json:"explanation,omitempty"`
	Duration     time.Duration `json:"duration_ns"`
}

// ClassScore is one class's score in a vote.
type ClassScore struct {
	Class string  `json:"class"`
	Score float64 `json:"score"`
}

// PluginProblem is a plugin that was not available for an analysis.
type PluginProblem struct {
	Plugin string `json:"plugin"`
	Kind   string `json:"kind,omitempty"` // unknown when it never started
	State  string `json:"state"`
	Error  string `json:"error"`
}
