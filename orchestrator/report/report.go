// Package report defines the analysis report served to analysts and builds it
// from a recorded trace.
package report

import (
	"github.com/scalemalnet/scalemalnet/plugins/vote"
	"time"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
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
	// Network is the guest's traffic on the isolated fake internet (nil
	// for the other network modes).
	Network  *Traffic  `json:"network,omitempty"`
	Features []Feature `json:"features"` // what each featurizer produced (or why not)
	Votes    []Vote    `json:"votes"`    // every classifier's vote, failed or abstained ones included
	// Verdict is the fused two-stage verdict; nil when no fusion model is
	// configured (NoVerdict then says why).
	Verdict   *Verdict `json:"verdict,omitempty"`
	NoVerdict string   `json:"no_verdict,omitempty"`
	// Signatures are the rules that matched the sample or its run:
	// behaviour signatures over the trace, YARA rules over the file, and
	// any other featurizer's matches set (features.MatchesSchema), highest
	// severity first.
	Signatures []Signature `json:"signatures,omitempty"`
	// PluginProblems lists plugins that could take no part in this
	// analysis at all (refused: checksum, API version, not registered;
	// failed: restarted too often), with the reason.
	PluginProblems []PluginProblem `json:"plugin_problems,omitempty"`
	Created        time.Time       `json:"created"`
	// Truncated lists the sections cut so the stored report fits
	// MaxStoredBytes (see Fit); the trace artifact keeps everything.
	Truncated []Truncation `json:"truncated,omitempty"`
}

// Signature is one matched rule (features.Match: id, source, description,
// severity 1-5, ATT&CK techniques, evidence) with the featurizer plugin
// and feature set that reported it.
type Signature struct {
	features.Match
	Featurizer string `json:"featurizer"`
	Set        string `json:"set"`
}

// Truncation is one section of a report cut to fit its size bound: Kept of
// its Total entries (bytes for text sections) remain.
type Truncation struct {
	Section string `json:"section"`
	Kept    int    `json:"kept"`
	Total   int    `json:"total"`
}

// Machine describes where the sample ran.
type Machine struct {
	Slot         string `json:"slot"`
	Host         string `json:"host,omitempty"` // remote hypervisor host ([[pool.host]]); empty: the orchestrator's own
	Domain       string `json:"domain"`
	Hypervisor   string `json:"hypervisor"` // "kvm" or "qemu" (TCG)
	Kernel       string `json:"kernel"`     // guest kernel release
	AgentVersion string `json:"agent_version"`
	BootID       string `json:"boot_id"`
	Image        string `json:"image"` // guest image digest
	// Network is the guest network the sample had: "none" (no network
	// device; empty in reports made before networks existed) or "user"
	// (QEMU user-mode NAT). GuestAddr is the guest's IPv4 address with a
	// network; Interfaces are its interfaces other than loopback as the
	// guest agent reported them.
	Network    string         `json:"network,omitempty"`
	GuestAddr  string         `json:"guest_addr,omitempty"`
	Interfaces []NetInterface `json:"interfaces,omitempty"`
}

// NetInterface is a guest network interface.
type NetInterface struct {
	Name  string   `json:"name"`
	MAC   string   `json:"mac,omitempty"`
	Up    bool     `json:"up"`
	Addrs []string `json:"addrs,omitempty"`
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
	// Format is what the agent found the sample to be and how it ran it:
	// "elf-x86_64", "elf-i386", "script", "pe-x86_64", "pe-i386", "pe-dll"
	// (empty from older agents); Runner the command line that started it
	// when it was not executed directly (an interpreter, wine, rundll32),
	// its arguments separated by spaces and quoted when they hold spaces
	// or quotes (a string, so that Outcome stays comparable).
	Format string `json:"format,omitempty"`
	Runner string `json:"runner,omitempty"`
	// Windows API calls of a run under Wine: counted, kept in the trace,
	// and whether the budget cut some.
	APICalls     int  `json:"api_calls,omitempty"`
	APIKept      int  `json:"api_kept,omitempty"`
	APITruncated bool `json:"api_truncated,omitempty"`
	// Bounded is what the host cut from the guest's trace (calls past the
	// budget, strings past the tracer's bounds, names past the cap).
	Bounded *trace.Bounded `json:"bounded,omitempty"`
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
	// WinAPI is the Windows section: what a program run under Wine did
	// through the Windows API (nil when the run made no API call).
	WinAPI *WinAPI `json:"winapi,omitempty"`
}

// ProcessNode is a process with its children.
type ProcessNode struct {
	trace.Process
	Children []ProcessNode `json:"children,omitempty"`
	// Flattened counts the children listed flat because the tree is
	// deeper than MaxTreeDepth here (their PPID says their real parent).
	Flattened int `json:"flattened,omitempty"`
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
	// Windows API calls in the window (runs under Wine): counted, counted
	// but not kept, and per "Module.Func".
	APITotal   int            `json:"api_total,omitempty"`
	APIDropped int            `json:"api_dropped,omitempty"`
	APICounts  map[string]int `json:"api_counts,omitempty"`
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
	// Meta is the featurizer's facts about the extraction (features.Set
	// Meta), e.g. the apiseq sets' "recorded", "calls", "distinct".
	Meta map[string]string `json:"meta,omitempty"`
}

// Vote is one classifier plugin's vote on the sample: the project's one
// vote type (plugins/vote), which the fusion model reads as it is.
type Vote = vote.Vote

// ClassScore is one class's score in a vote.
type ClassScore = vote.ClassScore

// PluginProblem is a plugin that was not available for an analysis.
type PluginProblem struct {
	Plugin string `json:"plugin"`
	Kind   string `json:"kind,omitempty"` // unknown when it never started
	State  string `json:"state"`
	Error  string `json:"error"`
}

// Verdict labels.
const (
	VerdictMalware = "malware"
	VerdictBenign  = "benign"
	// VerdictUnknown: no classifier the fusion model knows gave a usable
	// detection vote (all absent, abstained or failed); Error says so.
	VerdictUnknown = "unknown"
)

// Verdict is the fused two-stage decision (see classifiers/fusion): stage 1
// malware or benign from every detection vote, stage 2 the family when
// stage 1 says malware.
type Verdict struct {
	Label       string  `json:"label"`       // VerdictMalware, VerdictBenign or VerdictUnknown
	Probability float64 `json:"probability"` // fused calibrated P(malicious)
	// Threshold: malware when Probability >= Threshold. ThresholdRule says
	// how it was chosen and its validation figures, e.g. "fpr<=0.01
	// (validation FPR 0.008, TPR 0.912)".
	Threshold     float64 `json:"threshold"`
	ThresholdRule string  `json:"threshold_rule"`
	Method        string  `json:"method"`       // fusion method: soft-vote, stacking, ...
	Model         string  `json:"model"`        // fusion model file
	ModelSHA256   string  `json:"model_sha256"` // of that file
	// Stage 2, only when Label is malware and a family classifier named one.
	Family       string       `json:"family,omitempty"`
	FamilyScore  float64      `json:"family_score,omitempty"`
	Families     []ClassScore `json:"families,omitempty"` // top families, best first
	FamilyVoters []string     `json:"family_voters,omitempty"`
	// Contributions: how each detection vote moved the result.
	Contributions []Contribution `json:"contributions"`
	// Missing: classifiers the fusion model knows without a usable vote,
	// and why; Ignored: classifiers that voted but the model was not fitted
	// on (their votes are not used).
	Missing []MissingVote `json:"missing,omitempty"`
	Ignored []string      `json:"ignored,omitempty"`
	// Unfitted: classifiers the model was not fitted on whose votes were
	// counted with the configured prior weight, uncalibrated.
	Unfitted []string `json:"unfitted,omitempty"`
	// DecidedBy lists the decisive signatures that made the label malware
	// whatever the fused probability (a match at or above the configured
	// severity, critical by default; docs/signatures.md), one line each:
	// "socket-shell (critical; T1059.004, T1071)". Empty when the models
	// decided.
	DecidedBy []string      `json:"decided_by,omitempty"`
	Error     string        `json:"error,omitempty"` // why the label is unknown
	Duration  time.Duration `json:"duration_ns"`
}

// Contribution is one detection vote's part in the verdict. Delta is the
// change of the fused probability had the vote been missing (positive:
// towards malware). For soft voting, Weight is the renormalised weight and
// Term = Weight * Calibrated; for stacking, Weight is the coefficient and
// Term its additive share of the fused log-odds.
type Contribution struct {
	Classifier string  `json:"classifier"`
	Raw        float64 `json:"raw"`
	Calibrated float64 `json:"calibrated"`
	Weight     float64 `json:"weight"`
	Term       float64 `json:"term"`
	Delta      float64 `json:"delta"`
	// Prior: counted with a prior weight, not fitted (Verdict.Unfitted).
	Prior bool `json:"prior,omitempty"`
}

// MissingVote is a classifier known to the fusion model that gave no
// usable vote: absent, abstained, failed or no-family.
type MissingVote struct {
	Classifier string `json:"classifier"`
	Stage      string `json:"stage,omitempty"`
	Status     string `json:"status"`
	Reason     string `json:"reason,omitempty"`
}
