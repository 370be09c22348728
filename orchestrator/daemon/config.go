// Package daemon is the orchestrator process: it owns the store, the VM pool
// and the job workers, and serves the REST API.
package daemon

import (
	"log/slog"
	"time"
)

// Config is the orchestrator's configuration. Zero values take the defaults
// documented on each field.
type Config struct {
	DataDir    string        // bbolt file, samples, artifacts, token; default DefaultDataDir()
	Listen     string        // "127.0.0.1:7433" (default) or "unix:/path/to.sock"
	LibvirtURI string        // default "qemu:///system"
	Slots      int           // VM pool size; default runtime.NumCPU()
	ImageDir   string        // guest image (vmlinux, initramfs, manifest.json); default "build/image"
	Accel      string        // "auto" (default: kvm if /dev/kvm exists), "kvm" or "qemu" (TCG)
	MemoryMiB  int           // guest memory; default 256
	MaxSample  int64         // largest accepted sample in bytes; default 64 MiB
	StepGrace  time.Duration // added to a job's timeout for the run step; default 30s
	Logger     *slog.Logger  // default slog.Default()

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
	// ModelDir holds trained model files (*.smnmodel), each served as a
	// built-in classifier plugin; default "build/models" (`make models`).
	ModelDir string
}
