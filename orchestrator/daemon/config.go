// Package daemon is the orchestrator process: it opens the store, libvirt
// and the plugins, wires the VM pool (orchestrator/pool) to the analyses
// (orchestrator/analysis), recovers after a restart, and serves the REST
// API, whose service methods it implements.
package daemon

import (
	"log/slog"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/analysis"
	"github.com/scalemalnet/scalemalnet/orchestrator/hosts"
	"github.com/scalemalnet/scalemalnet/orchestrator/pool"
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
	// API (pool.json in DataDir) are applied on top; see orchestrator/pool.
	Pool []SlotConfig
	// Hosts are remote hypervisor hosts, each adding its Slots slots
	// (docs/scale-out.md; hosts.go).
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

// SlotConfig defines one VM slot of the pool (pool.SlotConfig).
type SlotConfig = pool.SlotConfig

// FusionConfig selects the fusion model and the stage-1 operating point
// (analysis.FusionConfig).
type FusionConfig = analysis.FusionConfig

// StepTimeouts bound the analysis steps (analysis.StepTimeouts).
type StepTimeouts = analysis.StepTimeouts

// Pool limits and origins, as the configuration checks them (pool's).
const (
	DefaultQuarantineAfter = pool.DefaultQuarantineAfter
	MaxQuarantineAfter     = pool.MaxQuarantineAfter
	MaxSlots               = pool.MaxSlots
	MinSlotMemoryMiB       = pool.MinSlotMemoryMiB
	MaxSlotMemoryMiB       = pool.MaxSlotMemoryMiB
	OriginFlags            = pool.OriginFlags
	OriginConfig           = pool.OriginConfig
	OriginAPI              = pool.OriginAPI
	// DefaultProcessWorkers is the default number of post-VM workers.
	DefaultProcessWorkers = analysis.DefaultProcessWorkers
	// MaxAttempts is how often a job is started before it fails for
	// infrastructure reasons.
	MaxAttempts = analysis.MaxAttempts
)

// Errors of the pool configuration (pool's).
var (
	ErrBadSlot        = pool.ErrBadSlot
	ErrUserNetworkOff = pool.ErrUserNetworkOff
)

// ValidSlotName reports whether name can name a slot (pool.ValidSlotName).
func ValidSlotName(name string) bool { return pool.ValidSlotName(name) }
