package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
)

// Plugin states as `scalemalnet plugins list` shows them.
const (
	StateRunning = "running"
	StateDead    = "dead"    // exited or killed; restarted on next use or by the health loop
	StateFailed  = "failed"  // could not be started (too many restarts, bad info): see LastError
	StateRefused = "refused" // never started: checksum mismatch, API version, not registered
	// StateNotLoaded: registered in plugins.json but not started by this
	// orchestrator yet (registered after it started, or starting now):
	// `scalemalnet plugins reload` or SIGHUP loads it.
	StateNotLoaded = "not-loaded"
)

// Errors of plugin calls. Each wraps the cause.
var (
	ErrUnavailable = errors.New("plugin unavailable")
	ErrDeadline    = errors.New("plugin missed its deadline")
	ErrCrashed     = errors.New("plugin crashed")
	ErrRefused     = errors.New("plugin refused")
	// ErrReplaced: the plugin was replaced or removed by a reload while a
	// job that started with it was still running, and its process is gone.
	ErrReplaced = errors.New("plugin replaced by a reload")
)

// Source says how to start one plugin.
type Source struct {
	Name    string
	Path    string   // binary
	Args    []string // e.g. ["plugin", "serve", "clamp-raw"] for built-ins
	SHA256  string   // expected digest of Path; required
	Builtin bool
	Config  json.RawMessage
}

// Config configures a Manager.
type Config struct {
	Builtins         []Source
	Dir              string        // external plugin directory ("" = none)
	FeaturizeTimeout time.Duration // per call; default 60s
	ClassifyTimeout  time.Duration // per call; default 20s
	StartTimeout     time.Duration // process start + handshake + Info; default 20s
	MaxRestarts      int           // within RestartWindow before the plugin is marked failed; default 5
	RestartWindow    time.Duration // default 10 minutes
	Logger           *slog.Logger
}

// Status is a plugin's state for operators.
type Status struct {
	Name      string       `json:"name"`
	Source    string       `json:"source"` // "builtin" or the binary path
	State     string       `json:"state"`
	Info      plugins.Info `json:"info"`
	PID       int          `json:"pid,omitempty"`
	Restarts  int          `json:"restarts"`
	Calls     int          `json:"calls"`
	Failures  int          `json:"failures"`
	LastError string       `json:"last_error,omitempty"`
	// SHA256 is the checksum the running process was verified against
	// (external plugins).
	SHA256 string `json:"sha256,omitempty"`
	// Pending says what a reload would change: the plugin was registered
	// again with another checksum or configuration, or removed from
	// plugins.json, after it was loaded.
	Pending string `json:"pending,omitempty"`
}

// Plugin is one managed plugin process.
type Plugin struct {
	m   *Manager
	src Source

	mu       sync.Mutex
	state    string
	info     plugins.Info
	client   *plugin.Client
	impl     plugins.Base
	stderr   *tail
	restarts []time.Time
	calls    int
	failures int
	lastErr  string
	holds    int  // Sets (jobs) that hold this plugin
	retired  bool // replaced or removed by a reload; stopped when no Set holds it
}

// Manager runs the plugins.
type Manager struct {
	cfg      Config
	log      *slog.Logger
	mu       sync.Mutex
	plugins  []*Plugin
	retired  []*Plugin  // replaced by a reload while a Set held them
	reloadMu sync.Mutex // one Reload at a time
}

// New returns a Manager; Start launches the plugins.
func New(cfg Config) *Manager {
	if cfg.FeaturizeTimeout == 0 {
		cfg.FeaturizeTimeout = 60 * time.Second
	}
	if cfg.ClassifyTimeout == 0 {
		cfg.ClassifyTimeout = 20 * time.Second
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 20 * time.Second
	}
	if cfg.MaxRestarts == 0 {
		cfg.MaxRestarts = 5
	}
	if cfg.RestartWindow == 0 {
		cfg.RestartWindow = 10 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Manager{cfg: cfg, log: cfg.Logger}
}

// BuiltinSource returns the Source of a built-in plugin: this very binary,
// re-executed with args (its checksum computed now).
func BuiltinSource(name string, args ...string) (Source, error) {
	exe, err := os.Executable()
	if err != nil {
		return Source{}, err
	}
	sum, err := FileSHA256(exe)
	if err != nil {
		return Source{}, err
	}
	return Source{Name: name, Path: exe, Args: args, SHA256: sum, Builtin: true}, nil
}

// Start discovers and starts every plugin. A plugin that cannot start is
// recorded (refused or failed, with the reason) and does not stop the others;
// Start returns an error only when the plugin directory itself is unusable.
func (m *Manager) Start(ctx context.Context) error {
	srcs := append([]Source{}, m.cfg.Builtins...)
	var notReg []string
	if m.cfg.Dir != "" {
		man, err := ReadManifest(m.cfg.Dir)
		if err != nil {
			return err
		}
		for _, e := range man.Plugins {
			srcs = append(srcs, Source{Name: e.Name, Path: filepath.Join(m.cfg.Dir, e.Path), SHA256: e.SHA256, Config: e.Config})
		}
		notReg = unregistered(m.cfg.Dir, man)
	}
	var wg sync.WaitGroup
	for _, src := range srcs {
		p := &Plugin{m: m, src: src, state: StateNotLoaded, stderr: newTail(4096)}
		m.mu.Lock()
		m.plugins = append(m.plugins, p)
		m.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.start(ctx); err != nil {
				m.log.Warn("plugin not started", "plugin", src.Name, "err", err)
			}
		}()
	}
	for _, name := range notReg {
		p := &Plugin{m: m, src: Source{Name: name, Path: filepath.Join(m.cfg.Dir, name)}, state: StateRefused,
			lastErr: fmt.Sprintf("%v: %s is in the plugin directory but not in %s (use `scalemalnet plugins register`)", ErrNotRegistered, name, ManifestFile)}
		m.mu.Lock()
		m.plugins = append(m.plugins, p)
		m.mu.Unlock()
		m.log.Warn("unregistered binary in plugin directory ignored", "file", name)
	}
	wg.Wait()
	m.mu.Lock()
	sort.SliceStable(m.plugins, func(i, j int) bool { return m.plugins[i].src.Name < m.plugins[j].src.Name })
	m.mu.Unlock()
	return nil
}

// Watch restarts dead plugins every interval until ctx ends.
func (m *Manager) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, p := range m.all() {
			p.mu.Lock()
			dead := p.state == StateRunning && p.client != nil && p.client.Exited()
			if dead {
				p.state = StateDead
				p.lastErr = "process exited" + p.stderrTail()
			}
			restart := p.state == StateDead && !p.retired
			p.mu.Unlock()
			if restart {
				if err := p.start(ctx); err != nil {
					m.log.Warn("plugin restart failed", "plugin", p.src.Name, "err", err)
				}
			}
		}
	}
}

func (m *Manager) all() []*Plugin {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*Plugin{}, m.plugins...)
}

// List returns every plugin's status, sorted by name: the loaded ones
// and, read from plugins.json now, the ones registered since the last
// start or reload (StateNotLoaded), with Pending set on a loaded plugin
// registered again with another checksum or configuration, or removed.
func (m *Manager) List() []Status {
	var out []Status
	seen := map[string]int{}
	for _, p := range m.all() {
		seen[p.src.Name] = len(out)
		out = append(out, p.Status())
	}
	if m.cfg.Dir == "" {
		return out
	}
	man, err := ReadManifest(m.cfg.Dir)
	if err != nil {
		return out // the error is the reload's to report
	}
	registered := map[string]bool{}
	for _, e := range man.Plugins {
		registered[e.Name] = true
		i, ok := seen[e.Name]
		if !ok {
			out = append(out, Status{Name: e.Name, Source: filepath.Join(m.cfg.Dir, e.Path), State: StateNotLoaded, SHA256: e.SHA256,
				LastError: "registered after the orchestrator loaded its plugins; `scalemalnet plugins reload` (or SIGHUP) loads it"})
			continue
		}
		st := &out[i]
		if st.Source == "builtin" || st.State == StateRefused && st.SHA256 == "" {
			continue
		}
		if st.SHA256 != e.SHA256 {
			st.Pending = fmt.Sprintf("registered again with SHA-256 %s… (loaded: %s…); `scalemalnet plugins reload` loads it", short(e.SHA256), short(st.SHA256))
		}
	}
	for i := range out {
		if out[i].Source != "builtin" && out[i].SHA256 != "" && !registered[out[i].Name] {
			out[i].Pending = "no longer in " + ManifestFile + "; `scalemalnet plugins reload` stops it"
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func short(sum string) string { return sum[:min(12, len(sum))] }

// Plugins returns the plugins of a kind that have been started at least once
// (so their Info is known), in name order.
func (m *Manager) Plugins(kind plugins.Kind) []*Plugin {
	return filterKind(m.all(), kind)
}

func filterKind(ps []*Plugin, kind plugins.Kind) []*Plugin {
	var out []*Plugin
	for _, p := range ps {
		p.mu.Lock()
		ok := p.info.Kind == kind && p.state != StateRefused
		p.mu.Unlock()
		if ok {
			out = append(out, p)
		}
	}
	return out
}

// Close stops every plugin process.
func (m *Manager) Close() {
	m.mu.Lock()
	all := append(append([]*Plugin{}, m.plugins...), m.retired...)
	m.mu.Unlock()
	for _, p := range all {
		p.mu.Lock()
		if p.client != nil {
			p.client.Kill()
		}
		p.state = StateDead
		p.mu.Unlock()
	}
}

// Name is the plugin's name.
func (p *Plugin) Name() string { return p.src.Name }

// Info is the plugin's Info as it reported it at its last start.
func (p *Plugin) Info() plugins.Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.info
}

// Status reports the plugin's state.
func (p *Plugin) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := Status{Name: p.src.Name, Source: p.src.Path, State: p.state, Info: p.info, Restarts: max(0, len(p.restarts)-1),
		Calls: p.calls, Failures: p.failures, LastError: p.lastErr, SHA256: p.src.SHA256}
	if p.src.Builtin {
		st.Source, st.SHA256 = "builtin", ""
	}
	if p.client != nil && p.state == StateRunning {
		if rc := p.client.ReattachConfig(); rc != nil {
			st.PID = rc.Pid
		}
	}
	return st
}

// start (re)starts the process, verifies it and configures it.
func (p *Plugin) start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == StateRefused {
		return fmt.Errorf("%w: %s", ErrRefused, p.lastErr)
	}
	if p.state == StateFailed {
		return fmt.Errorf("%w: %s is failed: %s", ErrUnavailable, p.src.Name, p.lastErr)
	}
	if p.state == StateRunning && p.client != nil && !p.client.Exited() {
		return nil // restarted meanwhile by a concurrent call or the health loop
	}
	if p.retired {
		return fmt.Errorf("%w: %s stopped during this job (a reload replaced or removed it)", ErrReplaced, p.src.Name)
	}
	now := time.Now()
	var recent []time.Time
	for _, t := range p.restarts {
		if now.Sub(t) < p.m.cfg.RestartWindow {
			recent = append(recent, t)
		}
	}
	if len(recent) > p.m.cfg.MaxRestarts {
		p.state = StateFailed
		p.lastErr = fmt.Sprintf("restarted %d times within %s; giving up (last: %s)", len(recent), p.m.cfg.RestartWindow, p.lastErr)
		return fmt.Errorf("%w: %s", ErrUnavailable, p.lastErr)
	}
	p.restarts = append(recent, now)
	if p.client != nil {
		hardKill(p.client)
		p.client = nil
	}
	err := p.launch(ctx)
	if err != nil {
		p.lastErr = err.Error()
		if errors.Is(err, ErrRefused) {
			p.state = StateRefused
		} else {
			p.state = StateDead
		}
		return err
	}
	p.state = StateRunning
	p.m.log.Info("plugin started", "plugin", p.src.Name, "kind", p.info.Kind, "version", p.info.Version, "builtin", p.src.Builtin)
	return nil
}

// launch does the work of start; p.mu is held.
func (p *Plugin) launch(ctx context.Context) error {
	if p.src.SHA256 == "" {
		return fmt.Errorf("%w: %s has no registered checksum", ErrRefused, p.src.Name)
	}
	sum, err := hex.DecodeString(p.src.SHA256)
	if err != nil {
		return fmt.Errorf("%w: %s: bad checksum: %v", ErrRefused, p.src.Name, err)
	}
	p.stderr.reset()
	cmd := exec.Command(p.src.Path, p.src.Args...)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  plugins.Handshake,
		VersionedPlugins: plugins.PluginMap(nil, nil),
		Cmd:              cmd,
		SecureConfig:     &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     p.m.cfg.StartTimeout,
		Stderr:           p.stderr,
		GRPCDialOptions:  plugins.GRPCDialOptions(),
		Logger:           hclogFor(p.m.log, p.src.Name),
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		switch {
		case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
			return fmt.Errorf("%w: %s: checksum mismatch: binary %s does not match the SHA-256 %s… it was loaded with (after rebuilding: `scalemalnet plugins register` it, then `scalemalnet plugins reload` or SIGHUP)",
				ErrRefused, p.src.Name, p.src.Path, short(p.src.SHA256))
		case isAPIVersionMismatch(err):
			return fmt.Errorf("%w: %s: %w: the plugin speaks version %s, this host speaks %d (rebuild it against this SDK)",
				ErrRefused, p.src.Name, plugins.ErrAPIVersion, pluginVersionOf(err), plugins.APIVersion)
		}
		return fmt.Errorf("%w: start %s: %v%s", ErrUnavailable, p.src.Name, err, p.stderrTail())
	}
	raw, err := rpc.Dispense(string(plugins.KindFeaturizer))
	if err != nil {
		client.Kill()
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, p.src.Name, err)
	}
	ictx, cancel := context.WithTimeout(ctx, p.m.cfg.StartTimeout)
	defer cancel()
	info, err := raw.(plugins.Base).Info(ictx)
	if err != nil {
		client.Kill()
		return fmt.Errorf("%w: %s: Info: %v%s", ErrUnavailable, p.src.Name, err, p.stderrTail())
	}
	if err := info.Validate(); err != nil {
		client.Kill()
		return fmt.Errorf("%w: %s: %w", ErrRefused, p.src.Name, err)
	}
	if info.Name != p.src.Name {
		client.Kill()
		return fmt.Errorf("%w: registered as %q but calls itself %q", ErrRefused, p.src.Name, info.Name)
	}
	impl := raw.(plugins.Base)
	if info.Kind == plugins.KindClassifier {
		if raw, err = rpc.Dispense(string(plugins.KindClassifier)); err != nil {
			client.Kill()
			return fmt.Errorf("%w: %s: %v", ErrUnavailable, p.src.Name, err)
		}
		impl = raw.(plugins.Base)
	}
	cfg := p.src.Config
	if len(cfg) == 0 {
		cfg = json.RawMessage("{}")
	}
	if err := impl.Configure(ictx, cfg); err != nil {
		client.Kill()
		return fmt.Errorf("%w: %s: configure: %v", ErrRefused, p.src.Name, err)
	}
	p.client, p.impl, p.info = client, impl, info
	return nil
}

// use returns the implementation, restarting a dead plugin first.
func (p *Plugin) use(ctx context.Context) (plugins.Base, error) {
	p.mu.Lock()
	if p.state == StateRunning && p.client != nil && p.client.Exited() {
		p.state = StateDead
		p.lastErr = "process exited" + p.stderrTail()
	}
	state := p.state
	p.mu.Unlock()
	switch state {
	case StateRunning:
	case StateDead, StateNotLoaded:
		if err := p.start(ctx); err != nil {
			return nil, err
		}
	default:
		p.mu.Lock()
		defer p.mu.Unlock()
		return nil, fmt.Errorf("%w: %s is %s: %s", ErrUnavailable, p.src.Name, p.state, p.lastErr)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	return p.impl, nil
}

// callFailed classifies a failed call: a missed deadline kills the process
// (a hung plugin is not trusted again until restarted), a dead process is a
// crash; other errors are the plugin's own answer.
func (p *Plugin) callFailed(ctx context.Context, timeout time.Duration, err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures++
	switch {
	case deadlineMissed(ctx, err):
		if p.client != nil {
			hardKill(p.client)
		}
		p.state = StateDead
		p.lastErr = fmt.Sprintf("no answer within %s; process killed", timeout)
		return fmt.Errorf("%w: %s did not answer within %s (killed; restarted on next use)", ErrDeadline, p.src.Name, timeout)
	case p.client != nil && p.client.Exited():
		p.state = StateDead
		p.lastErr = "crashed" + p.stderrTail()
		return fmt.Errorf("%w: %s exited during the call%s", ErrCrashed, p.src.Name, p.stderrTail())
	}
	// A crash can take a moment to be noticed by the client: wait briefly.
	if p.client != nil && isTransport(err) {
		for i := 0; i < 20 && !p.client.Exited(); i++ {
			p.mu.Unlock()
			time.Sleep(25 * time.Millisecond)
			p.mu.Lock()
		}
		if p.client.Exited() {
			p.state = StateDead
			p.lastErr = "crashed" + p.stderrTail()
			return fmt.Errorf("%w: %s exited during the call%s", ErrCrashed, p.src.Name, p.stderrTail())
		}
	}
	p.lastErr = err.Error()
	return fmt.Errorf("%s: %w", p.src.Name, err)
}

// deadlineMissed reports whether a call failed because its deadline
// passed. gRPC runs its own timer from the context's deadline, so its
// DeadlineExceeded can arrive a moment before ctx.Err() is set: the clock
// and the status code are checked as well.
func deadlineMissed(ctx context.Context, err error) bool {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return true
	}
	return status.Code(err) == codes.DeadlineExceeded
}

// hardKill ends a plugin process at once with SIGKILL (a hung plugin may
// not honour go-plugin's graceful shutdown, which would cost 2s more), then
// lets go-plugin reap it and clean up.
func hardKill(c *plugin.Client) {
	if rc := c.ReattachConfig(); rc != nil && rc.Pid > 0 && !c.Exited() {
		_ = syscall.Kill(rc.Pid, syscall.SIGKILL)
	}
	c.Kill()
}

// apiVersionRE finds the plugin's version in go-plugin's handshake error
// ("incompatible API version with plugin. Plugin version: 2, Client
// versions: [1]").
var apiVersionRE = regexp.MustCompile(`(?i)plugin version: (\d+)`)

func isAPIVersionMismatch(err error) bool {
	return strings.Contains(strings.ToLower(err.Error()), "incompatible api version")
}

func pluginVersionOf(err error) string {
	if m := apiVersionRE.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return "unknown"
}

func isTransport(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Unavailable") || strings.Contains(s, "EOF") || strings.Contains(s, "connection")
}

// Featurize calls a featurizer under its deadline.
func (p *Plugin) Featurize(ctx context.Context, in plugins.FeaturizeInput) ([]*features.Set, error) {
	impl, err := p.use(ctx)
	if err != nil {
		return nil, err
	}
	f, ok := impl.(plugins.Featurizer)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not a featurizer", ErrUnavailable, p.src.Name)
	}
	timeout := p.m.cfg.FeaturizeTimeout
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sets, err := f.Featurize(cctx, in)
	if err != nil {
		if errors.Is(err, plugins.ErrNotApplicable) {
			return nil, err
		}
		return nil, p.callFailed(cctx, timeout, err)
	}
	info := p.Info()
	for _, s := range sets {
		if err := s.Validate(); err != nil {
			return nil, p.callFailed(cctx, timeout, err)
		}
		if !contains(info.Produces, s.Name) {
			return nil, p.callFailed(cctx, timeout, fmt.Errorf("%w: set %q not declared in produces %v", plugins.ErrPlugin, s.Name, info.Produces))
		}
	}
	return sets, nil
}

// Classify calls a classifier under its deadline and checks its vote.
func (p *Plugin) Classify(ctx context.Context, s plugins.Sample, sets []*features.Set) (plugins.Vote, error) {
	impl, err := p.use(ctx)
	if err != nil {
		return plugins.Vote{}, err
	}
	c, ok := impl.(plugins.Classifier)
	if !ok {
		return plugins.Vote{}, fmt.Errorf("%w: %s is not a classifier", ErrUnavailable, p.src.Name)
	}
	timeout := p.m.cfg.ClassifyTimeout
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := c.Classify(cctx, s, sets)
	if err != nil {
		return plugins.Vote{}, p.callFailed(cctx, timeout, err)
	}
	if err := plugins.CheckVote(p.Info(), v); err != nil {
		return plugins.Vote{}, p.callFailed(cctx, timeout, err)
	}
	return v, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// hclogFor routes go-plugin's logging to slog at debug level.
func hclogFor(l *slog.Logger, name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:   "plugin." + name,
		Level:  hclog.Info,
		Output: slogWriter{l.With("plugin", name)},
	})
}

type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Debug(strings.TrimSpace(string(p)))
	return len(p), nil
}

var _ io.Writer = slogWriter{}
