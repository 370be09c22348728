// Package daemon is the orchestrator process: it owns the store, the VM pool
// and the job workers, and serves the REST API.
package daemon

import (
	"log/slog"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/hosts"
)

// Retention limits what the data directory keeps; see store.Policy. Zero
// fields keep everything.
type Retention struct {
	MaxAge   time.Duration // finished jobs older than this are deleted
	MaxBytes int64         // past this size, the finished jobs that ended first are deleted
}

// Storage defaults.
const (
	DefaultMaxArtifactBytes = 256 << 20
	DefaultMinFreeBytes     = 1 << 30
	// GCInterval is how often the retention policy is applied.
	GCInterval = time.Hour
)

// Config is the orchestrator's configuration. Zero values take the defaults
// documented on each field.
type Config struct {
	DataDir string // bbolt file, samples, artifacts, token; default defaults.DataDir()
	Listen  string // "127.0.0.1:7433" (default) or "unix:/path/to.sock"
	// AllowInsecureListen lets Listen be a TCP address other machines can
	// reach (plain HTTP, the bearer token in clear text); without it such
	// an address is refused (api.ErrInsecureListen).
	AllowInsecureListen bool
	LibvirtURI          string // default "qemu:///system"
	Slots               int    // VM pool size; default runtime.NumCPU()
	ImageDir            string // guest image (vmlinux, initramfs, manifest.json); default "build/image"
	Accel               string // "auto" (default: kvm if /dev/kvm exists), "kvm" or "qemu" (TCG)
	MemoryMiB           int    // guest memory; default 256, 1024 for an image with a root filesystem
	// Wine is the Wine warm-up of a guest with Wine: vm.WineWarm (default)
	// or vm.WineLazy.
	Wine      string
	MaxSample int64 // largest accepted sample in bytes; default 64 MiB
	// MaxQueued caps the jobs waiting in the queue: a submission beyond it
	// is refused (errkind.ErrQueueFull, 503 with Retry-After) and nothing
	// stored changes. Default DefaultMaxQueued (10,000).
	MaxQueued int
	// AllowUserNetwork permits slots and jobs with network "user" (QEMU
	// user-mode NAT, which gives the guest the host's loopback and every
	// network the host reaches). Off by default: network jobs use
	// "isolated", the fake internet.
	AllowUserNetwork bool
	StepGrace        time.Duration // added to a job's timeout for the run step; default 30s
	Logger           *slog.Logger  // default slog.Default()

	// PluginDir holds external plugins and their plugins.json registry;
	// default <DataDir>/plugins.
	PluginDir string
	// PluginBinary is the scalemalnet binary that serves the built-in
	// plugins (`PluginBinary plugin serve NAME`); default this executable.
	// "none" disables the built-in plugins.
	PluginBinary string
	// PluginCallTimeout bounds one classifier call (featurizer calls get
	// three times as long); default 20s. A plugin that misses it is killed
	// and its vote recorded as failed.
	PluginCallTimeout time.Duration
	// MaxArtifactBytes bounds one job's compressed trace artifact: a run
	// whose trace would grow past it is stopped and the job fails saying
	// so. Default 256 MiB.
	MaxArtifactBytes int64
	// MinFreeBytes is the free space the data directory's file system must
	// have for Submit to accept a sample (503 otherwise). Default 1 GiB;
	// negative disables the check.
	MinFreeBytes int64
	// Retention is applied by a GC every GCInterval and by POST /api/v1/gc;
	// zero fields keep everything.
	Retention Retention
	// ModelDir holds trained model files (*.smnmodel), each served as a
	// built-in classifier plugin; default "build/models" (`make models`).
	ModelDir string
	// SignatureRules is a directory of behaviour signature rule files
	// (*.yaml, docs/signatures.md) replacing the shipped ones; "" keeps the
	// shipped rules. A rule file that does not load stops Run with its
	// file and line.
	SignatureRules string
	// Fusion turns the votes into the two-stage verdict.
	Fusion FusionConfig

	// Pool defines the VM slots by name. Empty: Slots slots named slot0,
	// slot1, ... each with MemoryMiB of memory. Runtime edits through the
	// API (pool.json in DataDir) are applied on top; see pool.go.
	Pool []SlotConfig
	// Hosts are remote hypervisor hosts, each adding its Slots slots
	// (docs/scale-out.md). issue 16 hook
	Hosts []hosts.Config
	// PoolOrigin says where Pool came from, shown by `pool ls`: "config"
	// (the configuration file) or "flags" (the default).
	PoolOrigin string
	// QuarantineAfter is how many restore or agent failures in a row
	// quarantine a slot; default DefaultQuarantineAfter.
	QuarantineAfter int
	// ProcessWorkers is how many jobs are featurized, classified, fused
	// and reported at once after their VM is gone (their slots already run
	// the next jobs); default DefaultProcessWorkers.
	ProcessWorkers int
	// Timeouts bound the analysis steps; zero fields take
	// DefaultStepTimeouts.
	Timeouts StepTimeouts
	// ConfigFile is the configuration file the settings came from, if
	// any. With Reload set, the daemon re-reads it when it changes (polled
	// every ReloadPoll) and on SIGHUP, and applies the pool and
	// QuarantineAfter without a restart.
	ConfigFile string
	// Reload returns the configuration as it is now (file plus flags).
	Reload func() (Config, error)
	// ReloadPoll is how often ConfigFile is checked; default 2s.
	ReloadPoll time.Duration
}

// SlotConfig defines one VM slot of the pool.
type SlotConfig struct {
	Name      string   // [a-z0-9][a-z0-9_-]*, at most 32 characters; names the VM and its state directory
	MemoryMiB int      // guest memory; default Config.MemoryMiB
	Network   string   // guest network: "" (none), "isolated" or "user"; see vm.Spec.Network
	Tags      []string // free-form labels shown by `pool ls`
	Host      string   // remote host (Config.Hosts) the slot runs on; "" local. issue 16 hook
}

// FusionConfig selects the fusion model and the stage-1 operating point.
type FusionConfig struct {
	// Model is a fusion model file written by `scalemalnet train fusion`;
	// default <ModelDir>/fusion.json when it exists. "none" disables the
	// verdict. The method (soft-vote, stacking, ...) is the model's.
	Model string
	// Rule overrides the model's threshold rule: "fpr" (with TargetFPR),
	// "f1", "youden" or "fixed" (with Threshold). Empty keeps the
	// threshold chosen at training. The threshold is re-selected on the
	// validation scores kept in the model file.
	Rule      string
	TargetFPR float64
	Threshold float64
	// UnfittedWeight counts the votes of classifiers the fusion model was
	// not fitted on (a plugin installed after `train fusion`) with this
	// prior weight, uncalibrated, marked "counted with a prior weight, not
	// fitted" in the verdict (fusion.Prior); 0 (the default) lists them
	// as ignored. Refit with `scalemalnet plugins oof` and `train fusion`
	// to replace the prior with a fitted weight.
	UnfittedWeight float64
	// Decisive is the severity at and above which one matched signature
	// makes the verdict malware whatever the fused probability
	// (verdict.Decide): "critical" (also ""), "high", "medium" or "off"
	// (verdict.ParseDecisive).
	Decisive string
}
