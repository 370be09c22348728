package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/scalemalnet/scalemalnet/classifiers/modelfile"
	"github.com/scalemalnet/scalemalnet/plugins/builtin"
	"github.com/scalemalnet/scalemalnet/plugins/host"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scalemalnet/scalemalnet/internal/privdir"
	"github.com/scalemalnet/scalemalnet/orchestrator/analysis"
	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"github.com/scalemalnet/scalemalnet/orchestrator/hosts"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/metrics"
	"github.com/scalemalnet/scalemalnet/orchestrator/pool"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// Version of the orchestrator, reported by the health endpoint.
const Version = "0.1.0"

// Daemon is a running orchestrator: the service over the pool and the
// analyses it wires together.
type Daemon struct {
	cfg      Config
	log      *slog.Logger
	store    *store.Store
	hv       vm.Hypervisor
	img      vm.Image
	accel    string
	instance string // short id of this instance, from its data directory
	token    string
	runDir   string // the agents' sockets; removed by Close
	timeouts StepTimeouts
	plugins  *host.Manager // built-in, model and registered plugins; started by Serve
	// fusion makes the verdict; nil when there is none (noVerdict says why).
	fusion    *analysis.Fuser
	noVerdict string

	pool   *pool.Pool       // the slots and their workers (wire)
	runner *analysis.Runner // one job on one slot, and the post-VM workers (wire)
	// hosts are the remote hypervisor hosts (hosts.go; nil: none);
	// hostPool is d.pool for their state changes, which start before it.
	hosts    *hosts.Set
	hostPool atomic.Pointer[pool.Pool]
	hostsMu  sync.Mutex     // guards hosts (made on first use) and curHosts
	curHosts []hosts.Config // the running hosts' configurations (applyHosts)
	// hostOpener connects to a host (nil: libvirt; tests replace it).
	hostOpener hosts.Opener
	metrics    atomic.Pointer[metrics.Metrics] // Prometheus metrics (extras.go); nil until Serve
}

func (c *Config) setDefaults() error {
	if c.DataDir == "" {
		c.DataDir = defaults.DataDir()
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return err
	}
	c.DataDir = abs
	if c.Listen == "" {
		c.Listen = defaults.Listen
	}
	if c.LibvirtURI == "" {
		c.LibvirtURI = "qemu:///system"
	}
	if c.Slots <= 0 {
		c.Slots = runtime.NumCPU()
	}
	if c.ImageDir == "" {
		c.ImageDir = filepath.Join("build", "image")
	}
	if c.MemoryMiB == 0 {
		c.MemoryMiB = 256
		if img, err := vm.LoadImage(c.ImageDir); err == nil && img.RootFS != "" {
			c.MemoryMiB = 1024 // Debian, Wine and the tmpfs overlay (docs/windows.md)
		}
	}
	if c.MaxQueued == 0 {
		c.MaxQueued = DefaultMaxQueued
	}
	if c.MaxQueued < 0 {
		return fmt.Errorf("config: MaxQueued must not be negative")
	}
	if c.MaxSample == 0 {
		c.MaxSample = 64 << 20
	}
	if c.StepGrace == 0 {
		c.StepGrace = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxArtifactBytes == 0 {
		c.MaxArtifactBytes = DefaultMaxArtifactBytes
	}
	if c.MinFreeBytes == 0 {
		c.MinFreeBytes = DefaultMinFreeBytes
	}
	if c.MaxArtifactBytes < 0 || c.Retention.MaxAge < 0 || c.Retention.MaxBytes < 0 {
		return fmt.Errorf("config: MaxArtifactBytes and Retention must not be negative")
	}
	if c.PluginDir == "" {
		c.PluginDir = defaults.Layout{Root: c.DataDir}.Plugins()
	}
	return nil
}

// New opens the store, the guest image and libvirt, and defines the pool's
// slots. It starts nothing; see Serve.
func New(ctx context.Context, cfg Config) (*Daemon, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := api.CheckListen(cfg.Listen, cfg.AllowInsecureListen); err != nil {
		return nil, err // issue 13 finding 12
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	d := &Daemon{cfg: cfg, log: cfg.Logger, timeouts: analysis.DefaultStepTimeouts}
	h := sha256.Sum256([]byte(cfg.DataDir))
	d.instance = hex.EncodeToString(h[:4])

	// Rules are checked first: a bad rule file is the operator's to fix,
	// named with its file and line before anything else starts.
	if _, err := signatureConfig(cfg); err != nil {
		return nil, err
	}
	var err error
	if d.token, err = api.LoadOrCreateToken(d.layout().Token()); err != nil {
		return nil, err
	}
	if d.img, err = vm.LoadImage(cfg.ImageDir); err != nil {
		return nil, err
	}
	if d.img, err = d.img.WithWine(cfg.Wine); err != nil {
		return nil, err
	}
	if d.accel, err = vm.DetectAccel(cfg.Accel); err != nil {
		return nil, err
	}
	if d.store, err = store.Open(cfg.DataDir, store.Options{MaxQueued: cfg.MaxQueued}); err != nil {
		return nil, err
	}
	if d.hv, err = vm.OpenLibvirt(ctx, cfg.LibvirtURI); err != nil {
		d.store.Close()
		return nil, err
	}
	if d.plugins, err = newPluginManager(cfg); err != nil {
		d.Close()
		return nil, err
	}
	if d.fusion, d.noVerdict, err = analysis.LoadFusion(cfg.Fusion, cfg.ModelDir, cfg.Logger); err != nil {
		d.Close()
		return nil, err
	}
	if d.fusion != nil {
		d.log.Info("fusion model loaded", d.fusion.Describe()...)
	}
	runDir := filepath.Join(os.TempDir(), "scalemalnet-"+d.instance)
	if st, err := os.Stat("/run"); err == nil && st.IsDir() && os.Geteuid() == 0 {
		runDir = filepath.Join("/run", "scalemalnet", d.instance)
	}
	// issue 13 finding 10: the sockets' directory (in /tmp when not root)
	// is made 0700 and refused if another user made it first.
	if err := privdir.Ensure(runDir); err != nil {
		d.Close()
		return nil, fmt.Errorf("runtime directory: %w", err)
	}
	d.runDir = runDir // removed by Close
	d.timeouts = analysis.MergeTimeouts(analysis.DefaultStepTimeouts, cfg.Timeouts)
	if err := d.startHosts(); err != nil { // remote hosts (hosts.go), before their slots
		d.Close()
		return nil, err
	}
	if err := d.wire(); err != nil {
		d.Close()
		return nil, err
	}
	d.log.Info("orchestrator configured", "data_dir", cfg.DataDir, "instance", d.instance,
		"hypervisor", d.hv.Describe(), "accel", d.accel, "slots", len(d.pool.Slots()),
		"image", d.img.Digest, "kernel", d.img.KernelRelease)
	return d, nil
}

// wire builds the analysis runner and the pool over the opened store,
// hypervisor and plugins: the pool's workers run each claimed job through
// the runner on a lease of their slot.
func (d *Daemon) wire() error {
	d.runner = analysis.New(analysis.Config{
		Store: d.store, Hypervisor: d.hv, HostHypervisor: d.hostHypervisor, Log: d.log, Accel: d.accel, ImageDigest: d.img.Digest,
		Timeouts: d.timeouts, StepGrace: d.cfg.StepGrace, MaxArtifactBytes: d.cfg.MaxArtifactBytes,
		Plugins: d.plugins, Fusion: d.fusion, NoVerdict: d.noVerdict, Workers: d.cfg.ProcessWorkers,
		Requeued: d.notify,
		Ended:    d.observeRun, // metrics hook (extras.go)
		SlotError: func(slot string, err error) {
			if d.pool != nil {
				d.pool.RecordError(slot, err)
			}
		},
	})
	base, origin, err := pool.BasePool(d.cfg.Pool, d.cfg.Slots, d.cfg.MemoryMiB, d.cfg.PoolOrigin)
	if err != nil {
		return err
	}
	base = append(base, hostSlots(d.cfg.Hosts, d.cfg.MemoryMiB)...) // remote hosts' slots (hosts.go)
	pc := pool.Config{
		Store: d.store, Hypervisor: d.hv, Image: d.img, Accel: d.accel, Layout: d.layout(),
		DomainPrefix: d.domainPrefix(), RunDir: d.runDir, Log: d.log,
		MemoryMiB: d.cfg.MemoryMiB, AllowUserNetwork: d.cfg.AllowUserNetwork, QuarantineAfter: d.cfg.QuarantineAfter,
		Timeouts: pool.Timeouts{Restore: d.timeouts.Restore, WaitAgent: d.timeouts.WaitAgent, Destroy: d.timeouts.Destroy},
		Base:     base, BaseOrigin: origin, ConfigFile: d.cfg.ConfigFile, ReloadPoll: d.cfg.ReloadPoll,
		Run:       func(ctx context.Context, l *pool.Lease, j jobs.Job) { d.runner.Run(ctx, l, j) },
		Placement: d.placement(),
	}
	if d.cfg.Reload != nil {
		pc.Reload = d.reloaded
	}
	if d.pool, err = pool.New(pc); err == nil {
		d.hostPool.Store(d.pool)
	}
	return err
}

// reloaded re-reads the configuration for the pool's reload: its pool,
// quarantine limit, and the changed settings that need a restart.
func (d *Daemon) reloaded() (pool.Reloaded, error) {
	cfg, err := d.cfg.Reload()
	if err != nil {
		return pool.Reloaded{}, err
	}
	if err := cfg.setDefaults(); err != nil {
		return pool.Reloaded{}, err
	}
	base, origin, err := pool.BasePool(cfg.Pool, cfg.Slots, cfg.MemoryMiB, cfg.PoolOrigin)
	if err != nil {
		return pool.Reloaded{}, err
	}
	hs, restart := d.applyHosts(cfg.Hosts) // hosts added and removed live (hosts.go)
	base = append(base, hs...)
	return pool.Reloaded{Base: base, BaseOrigin: origin, QuarantineAfter: cfg.QuarantineAfter, RestartNeeded: append(restartOnly(d.cfg, cfg), restart...)}, nil
}

// Reload re-reads the configuration file and applies what can change at
// run time: the pool and QuarantineAfter (pool.Pool.Reload).
func (d *Daemon) Reload(why string) error { return d.pool.Reload(why) }

// restartOnly names the settings that differ between the running and the
// reloaded configuration but apply only at start.
func restartOnly(old, new Config) []string {
	var out []string
	add := func(name string, changed bool) {
		if changed {
			out = append(out, name)
		}
	}
	add("data_dir", old.DataDir != new.DataDir)
	add("listen", old.Listen != new.Listen)
	add("libvirt", old.LibvirtURI != new.LibvirtURI)
	add("image_dir", old.ImageDir != new.ImageDir)
	add("accel", old.Accel != new.Accel)
	add("plugin_dir", old.PluginDir != new.PluginDir)
	add("model_dir", old.ModelDir != new.ModelDir)
	add("storage.max_sample", old.MaxSample != new.MaxSample)
	add("storage.max_artifact_size", old.MaxArtifactBytes != new.MaxArtifactBytes)
	add("storage.min_free", old.MinFreeBytes != new.MinFreeBytes)
	add("storage.retain_*", old.Retention != new.Retention)
	add("timeouts", old.Timeouts != new.Timeouts || old.StepGrace != new.StepGrace || old.PluginCallTimeout != new.PluginCallTimeout)
	add("fusion", old.Fusion != new.Fusion)
	return out
}

// layout names the files and folders of the data directory.
func (d *Daemon) layout() defaults.Layout { return defaults.Layout{Root: d.cfg.DataDir} }

// domainPrefix names this instance's domains, so several orchestrators with
// their own data directories can share one libvirtd.
func (d *Daemon) domainPrefix() string { return "smn-" + d.instance + "-" }

// Close releases the store and the libvirt connection, and removes the
// runtime directory of the agents' sockets (/run/scalemalnet/<instance>;
// its parent too when no other instance uses it).
func (d *Daemon) Close() error {
	var errs []error
	if d.pool != nil {
		d.pool.Close()
	}
	d.closeHosts()
	if dir := d.runDir; dir != "" {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("remove runtime directory: %w", err))
		} else if parent := filepath.Dir(dir); filepath.Base(parent) == "scalemalnet" {
			_ = os.Remove(parent) // fails, as it should, while another instance has its folder there
		}
		d.runDir = ""
	}
	if d.hv != nil {
		errs = append(errs, d.hv.Close())
	}
	if d.store != nil {
		errs = append(errs, d.store.Close())
	}
	return errors.Join(errs...)
}

// Run starts the orchestrator and blocks until ctx is cancelled.
func Run(ctx context.Context, cfg Config) error {
	d, err := New(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Serve(ctx)
}

// Serve recovers from a previous run, starts the slot workers and the API,
// and blocks until ctx ends; then it stops accepting work, puts jobs in
// progress back in the queue and destroys their VMs.
func (d *Daemon) Serve(ctx context.Context) error {
	hup := notifyHUP() // from the start: an early SIGHUP must not kill the process
	defer stopHUP(hup)
	if err := d.recover(ctx); err != nil {
		return err
	}
	if err := d.plugins.Start(ctx); err != nil {
		return err
	}
	defer d.plugins.Close()
	go d.plugins.Watch(ctx, 10*time.Second)
	go d.watchHUP(ctx, hup)
	ln, err := api.Listen(d.cfg.Listen)
	if err != nil {
		return err
	}
	srv := newAPIServer(api.NewHandler(d, d.token, d.handlerOptions()), DefaultServerTimeouts) // API, Cuckoo API, /metrics (extras.go)
	var wg sync.WaitGroup
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	d.runner.Start(workCtx, &wg) // post-VM workers, with the jobs recover found processing
	d.pool.Start(workCtx, &wg)
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.gcLoop(workCtx, GCInterval)
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	d.log.Info("orchestrator serving", "listen", ln.Addr().String())
	select {
	case <-ctx.Done():
	case err = <-errc:
		d.log.Error("api server stopped", "err", err)
	}
	stopWork()
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutCtx)
	wg.Wait()
	d.log.Info("orchestrator stopped")
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// ServerTimeouts bound the API server's connections (issue 13 finding 5).
type ServerTimeouts struct {
	// ReadHeader bounds reading a request's headers.
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included: the longest
	// sample upload (MaxSample, 64 MiB by default) must fit in it.
	Read time.Duration
	// Write bounds writing a response, from the end of the request's
	// headers: the longest download (a trace or report) must fit in it.
	Write time.Duration
	// Idle bounds how long a kept-alive connection waits for its next
	// request.
	Idle time.Duration
}

// DefaultServerTimeouts: the API has no long-poll or watch request (submit
// --wait and the web UI's progress poll with short requests), so the only
// long requests are uploads and downloads. 15 minutes carries a 64 MiB
// sample at about 600 kbit/s; a client that sends nothing is dropped after
// 10 s, and an idle kept-alive connection after 2 minutes.
var DefaultServerTimeouts = ServerTimeouts{ReadHeader: 10 * time.Second, Read: 15 * time.Minute, Write: 15 * time.Minute, Idle: 2 * time.Minute}

// newAPIServer is the API's HTTP server with its connection bounds.
func newAPIServer(h http.Handler, t ServerTimeouts) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    64 << 10,
	}
}

// recover brings the instance back to a consistent state after a previous
// run ended, cleanly or not: VMs left running are destroyed, and jobs that
// were in progress go back to the queue (or fail after MaxAttempts).
func (d *Daemon) recover(ctx context.Context) error {
	names, err := d.hv.Domains(ctx, d.domainPrefix())
	if err != nil {
		return fmt.Errorf("list leftover VMs: %w", err)
	}
	for _, n := range names {
		d.log.Warn("destroying VM left over from a previous run", "domain", n)
		if err := d.hv.Destroy(ctx, n); err != nil && !errors.Is(err, vm.ErrNoDomain) {
			return fmt.Errorf("destroy leftover %s: %w", n, err)
		}
	}
	active, err := d.store.ActiveJobs()
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	for _, j := range active {
		if j.State == jobs.Queued {
			continue
		}
		if j.State == jobs.Processing {
			err := d.runner.Resume(j)
			if err == nil {
				d.log.Warn("resuming job interrupted while processing", "job", j.ID, "step", j.Step)
				continue
			}
			d.log.Warn("job interrupted while processing cannot be resumed; re-queued", "job", j.ID, "err", err)
		}
		_, err := d.store.UpdateJob(j.ID, func(j *jobs.Job) error {
			if j.Attempts >= MaxAttempts {
				return j.Move(jobs.Failed, now, fmt.Sprintf("orchestrator restarted while %s (step %s); %d attempts made", j.State, j.Step, j.Attempts))
			}
			return j.Move(jobs.Queued, now, fmt.Sprintf("orchestrator restarted while %s (step %s); re-queued", j.State, j.Step))
		})
		if err != nil {
			return fmt.Errorf("recover job %s: %w", j.ID, err)
		}
		d.log.Warn("recovered interrupted job", "job", j.ID, "was", j.State)
	}
	return nil
}

// DefaultMaxQueued is the queue's cap when Config.MaxQueued is 0.
const DefaultMaxQueued = 10000

// notify wakes every idle slot after a submission or a re-queue.
func (d *Daemon) notify() { d.pool.Notify() }

// newPluginManager prepares the built-in and external plugins (started by
// Serve).
func newPluginManager(cfg Config) (*host.Manager, error) {
	if err := os.MkdirAll(cfg.PluginDir, 0o700); err != nil {
		return nil, fmt.Errorf("plugin dir: %w", err)
	}
	var srcs []host.Source
	if cfg.PluginBinary != "none" {
		bin := cfg.PluginBinary
		if bin == "" {
			exe, err := os.Executable()
			if err != nil {
				return nil, err
			}
			bin = exe
		}
		sum, err := host.FileSHA256(bin)
		if err != nil {
			return nil, fmt.Errorf("built-in plugins: %w", err)
		}
		sigCfg, err := signatureConfig(cfg)
		if err != nil {
			return nil, err
		}
		for _, name := range builtin.Names() {
			src := host.Source{Name: name, Path: bin, Args: []string{"plugin", "serve", name}, SHA256: sum, Builtin: true}
			if name == builtin.SignaturesFeaturizer {
				src.Config = sigCfg
			}
			srcs = append(srcs, src)
		}
		models, err := modelSources(cfg, bin, sum)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, models...)
	}
	hc := host.Config{Builtins: srcs, Dir: cfg.PluginDir, Logger: cfg.Logger}
	if cfg.PluginCallTimeout > 0 {
		hc.ClassifyTimeout, hc.FeaturizeTimeout = cfg.PluginCallTimeout, 3*cfg.PluginCallTimeout
	}
	return host.New(hc), nil
}

// modelSources finds the model files pinned in cfg.ModelDir's manifest
// (modelfile.LoadDir, issue 13 finding 7); each becomes a classifier plugin
// served by the scalemalnet binary. A model file that is not pinned, does
// not match its pin or breaks a bound is logged with the reason and skipped.
func modelSources(cfg Config, bin, sum string) ([]host.Source, error) {
	dir := cfg.ModelDir
	if dir == "" {
		dir = filepath.Join("build", "models")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	entries, skipped, err := modelfile.LoadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, modelfile.ErrNotPinned) {
			cfg.Logger.Info("no model files served", "dir", dir, "reason", err)
			return nil, nil
		}
		return nil, err
	}
	for _, sk := range skipped {
		cfg.Logger.Warn("model file skipped", "file", sk.Path, "err", sk.Err)
	}
	seen := map[string]string{}
	var out []host.Source
	for _, e := range entries {
		if other, dup := seen[e.Header.Name]; dup {
			cfg.Logger.Warn("model file skipped: name already used", "file", e.Path, "name", e.Header.Name, "by", other)
			continue
		}
		seen[e.Header.Name] = e.Path
		out = append(out, host.Source{Name: e.Header.Name, Path: bin, Args: []string{"plugin", "serve-model", e.Path}, SHA256: sum, Builtin: true})
	}
	cfg.Logger.Info("model files found", "dir", dir, "models", len(out), "skipped", len(skipped))
	return out, nil
}

// signatureConfig loads the configured signature rules once in the
// orchestrator, so that a rule file that does not load stops the start
// with its file and line (the plugin process loads them again), and
// returns the signatures featurizer's configuration.
func signatureConfig(cfg Config) (json.RawMessage, error) {
	if cfg.SignatureRules == "" {
		if _, _, err := builtin.LoadSignatures(""); err != nil {
			return nil, fmt.Errorf("shipped signature rules: %w", err)
		}
		return nil, nil
	}
	dir, err := filepath.Abs(cfg.SignatureRules)
	if err != nil {
		return nil, err
	}
	set, _, err := builtin.LoadSignatures(dir)
	if err != nil {
		return nil, err
	}
	cfg.Logger.Info("signature rules loaded", "dir", dir, "rules", len(set.Rules))
	return json.Marshal(builtin.SignaturesConfig{RulesDir: dir})
}
