// Package hosts is the set of hypervisor hosts one orchestrator drives over
// libvirt's own remote transport (qemu+tcp, qemu+tls, qemu+ssh): for each
// host its connection, reconnected with backoff when it fails, its health,
// and its copy of the guest image, uploaded as storage volumes and checked
// by digest before any slot uses it. See docs/scale-out.md.
//
// The local host is not in the set: its slots keep the local connection
// and files as before.
package hosts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// Conn is what the set needs of a connection to one host; *vm.Libvirt
// implements it.
type Conn interface {
	vm.Hypervisor
	vm.HostFiles
	Alive(ctx context.Context) error
	EnsureDir(ctx context.Context, dir string) error
	Upload(ctx context.Context, dir, name, local string) (string, error)
	VerifyFile(ctx context.Context, hostPath, wantSHA256 string) error
}

// Opener connects to a libvirt URI.
type Opener func(ctx context.Context, uri string) (Conn, error)

// OpenLibvirt is the production Opener.
func OpenLibvirt(ctx context.Context, uri string) (Conn, error) { return vm.OpenLibvirt(ctx, uri) }

// Config is one remote host.
type Config struct {
	Name      string
	URI       string
	Slots     int
	MemoryMiB uint
	// ImageDir is the directory on the host that holds the uploaded image
	// files (a libvirt dir pool); StateDir holds each slot's saved state,
	// console log and channel socket.
	ImageDir string
	StateDir string
}

// Host states.
const (
	StateConnecting = "connecting" // first connection or image check in progress
	StateUp         = "up"
	StateDown       = "down" // reconnecting with backoff; Reason says why
)

// Status is a snapshot of one host.
type Status struct {
	Name     string    `json:"name"`
	URI      string    `json:"uri"`
	State    string    `json:"state"`
	Reason   string    `json:"reason,omitempty"`
	Since    time.Time `json:"since"`
	Hyper    string    `json:"hypervisor,omitempty"`
	Failures int       `json:"failures"`
	// Generation counts the connections made: a slot prepared under an
	// older one must be prepared again (its host may have lost its VM).
	Generation int `json:"generation"`
}

// Host is one remote host of the set.
type Host struct {
	cfg Config

	mu       sync.Mutex
	conn     Conn
	image    vm.Image // the image with the host's paths
	state    string
	reason   string
	since    time.Time
	failures int
	gen      int
	kick     chan struct{}
	cancel   context.CancelFunc
	done     chan struct{}
}

// Set is the remote hosts of one orchestrator.
type Set struct {
	img      vm.Image
	open     Opener
	log      *slog.Logger
	onChange func(Status)

	// Health checks and reconnects.
	CheckEvery time.Duration
	MinBackoff time.Duration
	MaxBackoff time.Duration

	mu     sync.Mutex
	hosts  map[string]*Host
	digest map[string]string // local file -> SHA-256
}

// ErrUnknownHost is wrapped when a host name is not in the set.
var ErrUnknownHost = errors.New("unknown host")

// New returns a set that distributes img (local paths) to its hosts.
// onChange, when not nil, is called after every state change of a host.
func New(img vm.Image, open Opener, log *slog.Logger, onChange func(Status)) *Set {
	if log == nil {
		log = slog.Default()
	}
	if open == nil {
		open = OpenLibvirt
	}
	return &Set{img: img, open: open, log: log, onChange: onChange,
		CheckEvery: 5 * time.Second, MinBackoff: time.Second, MaxBackoff: 30 * time.Second,
		hosts: map[string]*Host{}, digest: map[string]string{}}
}

// Add starts managing a host: connecting, distributing the image, then
// checking its health until Remove or Close.
func (s *Set) Add(cfg Config) error {
	if cfg.StateDir == "" {
		cfg.StateDir = filepath.Join(cfg.ImageDir, "state")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.hosts[cfg.Name]; ok {
		return fmt.Errorf("host %s already exists", cfg.Name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Host{cfg: cfg, state: StateConnecting, since: time.Now(), kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	s.hosts[cfg.Name] = h
	go s.run(ctx, h)
	return nil
}

// Remove stops managing a host and closes its connection.
func (s *Set) Remove(name string) error {
	s.mu.Lock()
	h, ok := s.hosts[name]
	delete(s.hosts, name)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownHost, name)
	}
	h.cancel()
	<-h.done
	return nil
}

// Close removes every host.
func (s *Set) Close() {
	for _, n := range s.Names() {
		_ = s.Remove(n)
	}
}

// Names lists the hosts, sorted.
func (s *Set) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.hosts {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (s *Set) host(name string) (*Host, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.hosts[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownHost, name)
	}
	return h, nil
}

// Status of one host.
func (s *Set) Status(name string) (Status, error) {
	h, err := s.host(name)
	if err != nil {
		return Status{}, err
	}
	return h.status(), nil
}

// Statuses of all hosts, sorted by name.
func (s *Set) Statuses() []Status {
	var out []Status
	for _, n := range s.Names() {
		if st, err := s.Status(n); err == nil {
			out = append(out, st)
		}
	}
	return out
}

func (h *Host) status() Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := Status{Name: h.cfg.Name, URI: h.cfg.URI, State: h.state, Reason: h.reason, Since: h.since, Failures: h.failures, Generation: h.gen}
	if h.conn != nil {
		st.Hyper = h.conn.Describe()
	}
	return st
}

// Conn returns the host's connection, its copy of the image and the
// connection generation, or an error wrapping vm.ErrHost when the host is
// not up.
func (s *Set) Conn(name string) (Conn, vm.Image, int, error) {
	h, err := s.host(name)
	if err != nil {
		return nil, vm.Image{}, 0, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state != StateUp {
		why := strings.TrimPrefix(h.reason, vm.ErrHost.Error()+": ")
		if why == "" {
			why = h.state
		}
		return nil, vm.Image{}, h.gen, fmt.Errorf("%w: host %s: %s", vm.ErrHost, name, why)
	}
	return h.conn, h.image, h.gen, nil
}

// Fail reports a failure a user of the host saw (a job whose channel or
// libvirt call failed with vm.ErrHost): the host is checked at once
// instead of at the next periodic check.
func (s *Set) Fail(name string) {
	if h, err := s.host(name); err == nil {
		select {
		case h.kick <- struct{}{}:
		default:
		}
	}
}

// SlotSpec returns base completed for a slot of the host: the domain name
// (unique across hosts: libvirtd instances on one machine share the
// cgroup tree, and names in logs must say where a VM runs), and the
// channel socket, console log and saved state in the host's state
// directory. Its Image is set by the caller from Conn.
func (s *Set) SlotSpec(name string, base vm.Spec) (vm.Spec, error) {
	h, err := s.host(name)
	if err != nil {
		return vm.Spec{}, err
	}
	sp := base
	sp.Host = name
	sp.ChannelPath = filepath.Join(h.cfg.StateDir, base.Name+".sock")
	sp.ConsolePath = filepath.Join(h.cfg.StateDir, base.Name+".console.log")
	sp.SavePath = filepath.Join(h.cfg.StateDir, base.Name+".save")
	if h.cfg.MemoryMiB > 0 && sp.MemoryMiB == 0 {
		sp.MemoryMiB = h.cfg.MemoryMiB
	}
	return sp, sp.Validate()
}

func (h *Host) set(state, reason string, conn Conn, img vm.Image, on func(Status)) {
	h.mu.Lock()
	if state == StateDown && h.state != StateDown {
		h.failures++
	}
	changed := h.state != state || h.reason != reason
	h.state, h.reason = state, reason
	if changed {
		h.since = time.Now()
	}
	if state == StateUp {
		h.conn, h.image = conn, img
		h.gen++
	}
	if state == StateDown {
		h.conn = nil
	}
	h.mu.Unlock()
	if changed && on != nil {
		on(h.status())
	}
}

// run connects, distributes the image, and watches the host until ctx
// ends, reconnecting with exponential backoff after any failure.
func (s *Set) run(ctx context.Context, h *Host) {
	defer close(h.done)
	backoff := s.MinBackoff
	log := s.log.With("host", h.cfg.Name, "uri", h.cfg.URI)
	for ctx.Err() == nil {
		conn, img, err := s.attach(ctx, h.cfg)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("host unavailable", "err", err, "retry_in", backoff)
			h.set(StateDown, err.Error(), nil, vm.Image{}, s.onChange)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, s.MaxBackoff)
			continue
		}
		backoff = s.MinBackoff
		log.Info("host up", "hypervisor", conn.Describe())
		h.set(StateUp, "", conn, img, s.onChange)
		reason := s.watch(ctx, h, conn)
		_ = conn.Close()
		if ctx.Err() != nil {
			return
		}
		log.Warn("host down", "reason", reason)
		h.set(StateDown, reason, nil, vm.Image{}, s.onChange)
	}
}

// watch checks the connection every CheckEvery (or at once when kicked)
// and returns why it failed.
func (s *Set) watch(ctx context.Context, h *Host, conn Conn) string {
	t := time.NewTicker(s.CheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return "removed"
		case <-t.C:
		case <-h.kick:
		}
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := conn.Alive(cctx)
		cancel()
		if err != nil {
			return err.Error()
		}
	}
}

// attach connects to a host and makes its copy of the image ready.
func (s *Set) attach(ctx context.Context, cfg Config) (Conn, vm.Image, error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	conn, err := s.open(cctx, cfg.URI)
	cancel()
	if err != nil {
		return nil, vm.Image{}, fmt.Errorf("%w: %w", vm.ErrHost, err)
	}
	img, err := s.Distribute(ctx, conn, cfg)
	if err != nil {
		_ = conn.Close()
		return nil, vm.Image{}, err
	}
	return conn, img, nil
}

// Distribute uploads the image's files to the host's image directory
// (skipped for a volume already there with the right name and size: names
// carry the SHA-256) and then checks every host copy against its digest,
// read back through libvirt. It returns the image with the host's paths.
// A mismatch is an error wrapping vm.ErrVolume: the host stays down.
func (s *Set) Distribute(ctx context.Context, conn Conn, cfg Config) (vm.Image, error) {
	if cfg.StateDir == "" {
		cfg.StateDir = filepath.Join(cfg.ImageDir, "state")
	}
	for _, d := range []string{cfg.ImageDir, cfg.StateDir} {
		if err := conn.EnsureDir(ctx, d); err != nil {
			return vm.Image{}, fmt.Errorf("host %s: %w", cfg.Name, err)
		}
	}
	img := s.img
	for _, f := range []*string{&img.Kernel, &img.Initrd, &img.RootFS} {
		if *f == "" {
			continue
		}
		sum, err := s.sha(*f)
		if err != nil {
			return vm.Image{}, fmt.Errorf("%w: %w", vm.ErrImage, err)
		}
		p, err := conn.Upload(ctx, cfg.ImageDir, vm.VolumeName(sum, *f), *f)
		if err != nil {
			return vm.Image{}, fmt.Errorf("host %s: %w", cfg.Name, err)
		}
		if err := conn.VerifyFile(ctx, p, sum); err != nil {
			if !errors.Is(err, vm.ErrMismatch) {
				return vm.Image{}, fmt.Errorf("host %s: %w", cfg.Name, err)
			}
			// The host's copy is corrupt (or a partial upload of the
			// right size): replace it once, then it must match.
			s.log.Error("host copy of an image file does not match its digest: uploading it again", "host", cfg.Name, "err", err)
			if err := conn.RemoveFile(ctx, p); err != nil {
				return vm.Image{}, fmt.Errorf("host %s: %w", cfg.Name, err)
			}
			if _, err := conn.Upload(ctx, cfg.ImageDir, vm.VolumeName(sum, *f), *f); err != nil {
				return vm.Image{}, fmt.Errorf("host %s: %w", cfg.Name, err)
			}
			if err := conn.VerifyFile(ctx, p, sum); err != nil {
				return vm.Image{}, fmt.Errorf("host %s: after a new upload: %w", cfg.Name, err)
			}
		}
		*f = p
	}
	img.Dir = cfg.ImageDir
	return img, nil
}

func (s *Set) sha(path string) (string, error) {
	s.mu.Lock()
	sum, ok := s.digest[path]
	s.mu.Unlock()
	if ok {
		return sum, nil
	}
	sum, _, err := vm.FileSHA256(path)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.digest[path] = sum
	s.mu.Unlock()
	return sum, nil
}
