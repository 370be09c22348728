package pool

// The VM pool: its slots, their state machine, quarantine and healing, and
// the changes an operator makes at run time (API or configuration reload).
//
// Each slot has one worker goroutine (worker) that owns its vm.Slot. Other
// goroutines never touch the vm.Slot; they ask for changes by setting a
// request on the Slot (drain, remove, rebuild with a new definition,
// reset) and kicking the worker, which applies them between jobs. So a
// request never interrupts an analysis: "drain" always means "finish the
// current job first".
//
// States (Slot.state):
//
//	preparing   -> idle          clean state made (cold boot, agent checked, memory saved)
//	preparing   -> broken        cold boot or agent failed; retried with backoff
//	idle        -> restoring     job claimed; restore + agent handshake
//	restoring   -> busy          agent verified; sample running
//	busy        -> idle          job over
//	any         -> quarantined   QuarantineAfter restore/agent/clean-state failures in a row
//	quarantined -> idle          rebuilt from a cold boot and a probe restore verified
//	any         -> draining      drain, remove or rebuild requested; the current job finishes
//	draining    -> removed       VM destroyed, state files deleted, slot gone
//	draining    -> preparing     rebuild (new memory or network) or reset

import (
	"context"
	"errors"
	"fmt"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// Slot states as operators see them.
const (
	SlotIdle        = "idle"
	SlotBusy        = "busy"
	SlotRestoring   = "restoring"   // job claimed: restore and agent handshake
	SlotPreparing   = "preparing"   // cold boot to make the clean state
	SlotBroken      = "broken"      // clean state could not be made; retried with backoff
	SlotDraining    = "draining"    // takes no jobs; finishes the current one
	SlotQuarantined = "quarantined" // failed QuarantineAfter times in a row; being rebuilt
	SlotRemoved     = "removed"     // gone from the pool
)

// Pool limits and defaults.
const (
	DefaultQuarantineAfter = 3
	MaxQuarantineAfter     = 100
	MaxSlots               = 64
	MinSlotMemoryMiB       = 64
	MaxSlotMemoryMiB       = 64 << 10
	MaxSlotTags            = 16
	// SlotTransitionsKept is how many state transitions each slot keeps
	// in memory for `pool ls --json` and `pool health`.
	SlotTransitionsKept = 50
	// PoolFile in the data directory holds the pool edits made through
	// the API; see poolOverlay.
	PoolFile = defaults.PoolFileName
)

// Slot origins, as `pool ls` shows them.
const (
	OriginFlags  = "flags"  // --slots N (or the default)
	OriginConfig = "config" // the configuration file's [pool]
	OriginAPI    = "api"    // added through the API (persisted in pool.json)
)

// Heal backoff: the first rebuild of a quarantined slot starts at once,
// later ones wait this long, doubling up to healBackoffMax.
var (
	healBackoffMin = 10 * time.Second
	healBackoffMax = 5 * time.Minute
)

// poolError is a pool error that also matches the sentinel the API maps to
// a status.
type poolError struct {
	msg  string
	kind error
}

func (e *poolError) Error() string { return e.msg }
func (e *poolError) Unwrap() error { return e.kind }

// Errors of pool management; each also matches the API sentinel giving
// its HTTP status.
var (
	ErrNoSlot      error = &poolError{"no such slot", store.ErrNotFound}        // 404
	ErrSlotExists  error = &poolError{"slot already exists", api.ErrConflict}   // 409
	ErrSlotBusy    error = &poolError{"slot is being removed", api.ErrConflict} // 409
	ErrBadSlot     error = &poolError{"invalid slot definition", store.ErrInvalid}
	ErrNotServing  error = &poolError{"orchestrator is not serving", api.ErrUnavailable}
	ErrPoolTooBig  error = &poolError{fmt.Sprintf("pool limited to %d slots", MaxSlots), api.ErrConflict}
	ErrPoolFile          = errors.New("pool file")
	ErrConfigWatch       = errors.New("configuration reload")
)

var slotNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// ValidSlotName reports whether name can name a slot: 1-32 of a-z, 0-9,
// '_' and '-', starting with a letter or digit (it names the VM and the
// slot's state directory).
func ValidSlotName(name string) bool { return slotNameRE.MatchString(name) }

// Normalize checks a slot definition, filling MemoryMiB with defMemory
// when zero and the network mode in its canonical form. Errors wrap
// ErrBadSlot.
func (c *SlotConfig) Normalize(defMemory int) error {
	if !slotNameRE.MatchString(c.Name) {
		return fmt.Errorf("%w: name %q: want 1-32 of a-z, 0-9, '_' and '-', starting with a letter or digit", ErrBadSlot, c.Name)
	}
	if c.MemoryMiB == 0 {
		c.MemoryMiB = defMemory
	}
	if c.MemoryMiB < MinSlotMemoryMiB || c.MemoryMiB > MaxSlotMemoryMiB {
		return fmt.Errorf("%w: slot %s: memory %d MiB outside [%d, %d]", ErrBadSlot, c.Name, c.MemoryMiB, MinSlotMemoryMiB, MaxSlotMemoryMiB)
	}
	n, err := vm.NormalizeNetwork(c.Network)
	if err != nil {
		return fmt.Errorf("%w: slot %s: %w", ErrBadSlot, c.Name, err)
	}
	c.Network = n
	if len(c.Tags) > MaxSlotTags {
		return fmt.Errorf("%w: slot %s: %d tags, at most %d", ErrBadSlot, c.Name, len(c.Tags), MaxSlotTags)
	}
	for _, t := range c.Tags {
		if t == "" || len(t) > 64 || strings.ContainsFunc(t, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return fmt.Errorf("%w: slot %s: tag %q: want 1-64 printable characters", ErrBadSlot, c.Name, t)
		}
	}
	return nil
}

// Slot is one slot of the pool: the VM slot its worker owns, and what
// operators see of it.
type Slot struct {
	*vm.Slot // owned by the slot's worker goroutine only
	name     string

	mu          sync.Mutex
	def         SlotConfig
	origin      string
	domain      string
	state       string
	since       time.Time
	job         string
	done        int
	lastErr     string
	lastErrAt   time.Time
	failures    int // restore, agent or clean-state failures in a row
	cleanBuilt  time.Time
	quarantined bool
	transitions []api.SlotTransition // the last SlotTransitionsKept
	log         *slog.Logger
	// Requests, applied by the worker between jobs.
	drain  bool        // take no jobs (state draining)
	remove bool        // then destroy the VM, delete the files, exit
	respec *SlotConfig // then rebuild with this definition
	reset  bool        // forget the clean state and make a new one

	kick    chan struct{} // wakes the worker for a request
	stopped chan struct{} // closed when the worker has exited
}

func (s *Slot) to(state, reason string) {
	s.mu.Lock()
	s.toLocked(state, reason)
	s.mu.Unlock()
}

// toLocked moves the slot to state, logging and recording the transition.
// While a drain is requested the slot stays draining (its activity goes on
// underneath) until it is removed or the request is lifted.
func (s *Slot) toLocked(state, reason string) {
	if s.drain && state != SlotRemoved && state != SlotDraining {
		return
	}
	if s.state == state {
		return
	}
	now := time.Now().UTC()
	t := api.SlotTransition{At: now, From: s.state, To: state, Reason: reason, Job: s.job}
	if len(s.transitions) >= SlotTransitionsKept {
		s.transitions = slices.Delete(s.transitions, 0, len(s.transitions)-SlotTransitionsKept+1)
	}
	s.transitions = append(s.transitions, t)
	s.state, s.since = state, now
	level := slog.LevelInfo
	if state == SlotQuarantined || state == SlotBroken {
		level = slog.LevelWarn
	}
	if s.log == nil {
		s.log = slog.Default().With("slot", s.name)
	}
	s.log.Log(context.Background(), level, "slot state", "from", t.From, "to", t.To, "reason", reason, "job", s.job)
}

func (s *Slot) current() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// serviceable reports whether the slot can take jobs now or soon.
func (s *Slot) serviceable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drain || s.remove || s.quarantined {
		return false
	}
	return s.state != SlotBroken && s.state != SlotRemoved && s.state != SlotDraining
}

func (s *Slot) wakeUp() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// wait sleeps for d, or until ctx ends or the slot is kicked (d <= 0: no
// timeout).
func (s *Slot) wait(ctx context.Context, d time.Duration) {
	var tc <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		tc = t.C
	}
	select {
	case <-ctx.Done():
	case <-s.kick:
	case <-tc:
	}
}

// Config is what the pool needs from the orchestrator.
type Config struct {
	Store        *store.Store
	Hypervisor   vm.Hypervisor
	Image        vm.Image
	Accel        string
	Layout       defaults.Layout // the slots' state directories, consoles and pool.json
	DomainPrefix string          // names this instance's domains
	RunDir       string          // the agents' channel sockets
	Log          *slog.Logger
	// MemoryMiB is the memory of a slot added without one.
	MemoryMiB        int
	AllowUserNetwork bool
	// QuarantineAfter: restore, agent or clean-state failures in a row
	// that quarantine a slot; default DefaultQuarantineAfter.
	QuarantineAfter int
	Timeouts        Timeouts
	// Base is the configured pool (BasePool), BaseOrigin where it came from.
	Base       []SlotConfig
	BaseOrigin string
	// ConfigFile is shown by Pool; with Reload set it is watched (every
	// ReloadPoll, default 2s) and Reload applies its pool on change.
	ConfigFile string
	Reload     func() (Reloaded, error)
	ReloadPoll time.Duration
	// Run runs one claimed job on its leased slot (analysis.Runner.Run);
	// the lease ends when it returns.
	Run func(ctx context.Context, l *Lease, j jobs.Job)
	// Placement runs the slots whose SlotConfig.Host is set on remote
	// hypervisor hosts (hosts.go; docs/scale-out.md); nil: all slots local.
	Placement Placement
}

// Timeouts bound the pool's own VM work (probe restores, teardown).
type Timeouts struct {
	Restore, WaitAgent, Destroy time.Duration
}

// Pool is the VM pool: its slots and their workers.
type Pool struct {
	cfg        Config
	log        *slog.Logger
	mu         sync.RWMutex // guards slots and the fields below
	slots      []*Slot
	ctx        context.Context
	wg         *sync.WaitGroup
	base       []SlotConfig // from the configuration (file or flags)
	baseOrigin string
	overlay    poolOverlay
	host       string

	fakeNets fakeNets // the isolated slots' fake internets (fakenet.go)
	wake     chan struct{}
	// queueSignal wakes every idle slot when a job is queued (Notify).
	queueSignal broadcaster

	quarantineAfter atomic.Int64
	restoreHook     atomic.Pointer[func(s *Slot)] // tests: runs before each restore

	reloadMu    sync.Mutex
	reloadErr   string
	reloadErrAt time.Time
	lastReload  time.Time
	fileStamp   fileStamp
	// restartNeeded names the settings whose change in the file waits for
	// a restart (logged once when they first differ, shown by pool health).
	restartNeeded []string
}

// New defines the slots at start: the configured pool plus pool.json.
// State directories of slots no longer in the pool are deleted. It starts
// nothing; see Start.
func New(cfg Config) (*Pool, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	p := &Pool{cfg: cfg, log: cfg.Log, wake: make(chan struct{}, 1)}
	p.host, _ = os.Hostname()
	qa := cfg.QuarantineAfter
	if qa <= 0 {
		qa = DefaultQuarantineAfter
	}
	p.quarantineAfter.Store(int64(qa))
	p.base, p.baseOrigin = cfg.Base, cfg.BaseOrigin
	var err error
	if p.overlay, err = loadOverlay(p.poolFile()); err != nil {
		return nil, err
	}
	if !p.overlay.empty() {
		p.log.Info("pool edits made through the API applied on top of the configured pool", "file", p.poolFile(),
			"added", len(p.overlay.Added), "removed", p.overlay.Removed)
	}
	eff, origins := p.overlay.apply(p.base, p.baseOrigin)
	for _, c := range eff {
		s, err := p.newSlot(c, origins[c.Name])
		if err != nil {
			p.Close()
			return nil, err
		}
		if s.cleanBuilt.IsZero() {
			s.toLocked(SlotPreparing, "defined at start; no clean state yet")
		} else {
			s.toLocked(SlotIdle, "defined at start; clean state from "+s.cleanBuilt.UTC().Format(time.RFC3339))
		}
		p.slots = append(p.slots, s)
	}
	if cfg.ConfigFile != "" {
		p.fileStamp, _ = stampOf(cfg.ConfigFile)
	}
	p.sweepSlotDirs(eff)
	return p, nil
}

// Close stops the slots' fake internets.
func (p *Pool) Close() { p.closeFakeNets() }

// SetRestoreHook sets a function run before each restore (tests that
// break a slot's VM); nil removes it.
func (p *Pool) SetRestoreHook(h func(s *Slot)) {
	if h == nil {
		p.restoreHook.Store(nil)
		return
	}
	p.restoreHook.Store(&h)
}

// QuarantineAfter is the failures in a row that quarantine a slot now.
func (p *Pool) QuarantineAfter() int { return int(p.quarantineAfter.Load()) }

// sweepSlotDirs deletes vms/<name> directories of slots not in the pool
// (removed while the orchestrator was down or before it stopped).
func (p *Pool) sweepSlotDirs(eff []SlotConfig) {
	ents, err := os.ReadDir(p.cfg.Layout.VMs())
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || slices.ContainsFunc(eff, func(c SlotConfig) bool { return c.Name == e.Name() }) {
			continue
		}
		p.log.Info("deleting state of a slot no longer in the pool", "slot", e.Name())
		if err := os.RemoveAll(p.cfg.Layout.SlotDir(e.Name())); err != nil {
			p.log.Warn("delete slot state", "slot", e.Name(), "err", err)
		}
	}
}

// slotSpec is the VM spec of a slot definition. For the isolated network
// it starts the slot's fake internet; a user-mode slot is refused unless
// the configuration allows it (errors wrap ErrBadSlot).
func (p *Pool) slotSpec(c SlotConfig) (vm.Spec, string, error) {
	name := p.cfg.DomainPrefix + c.Name
	dir := p.cfg.Layout.SlotDir(c.Name)
	spec := vm.Spec{
		Name: name, UUID: vm.StableUUID(name), Accel: p.cfg.Accel,
		MemoryMiB: uint(c.MemoryMiB), VCPUs: 1, Image: p.cfg.Image, Network: c.Network,
		ChannelPath: filepath.Join(p.cfg.RunDir, c.Name+".sock"),
		ConsolePath: p.cfg.Layout.Console(c.Name),
	}
	if err := p.placeRemote(c, &spec); err != nil { // a slot on a remote host (hosts.go)
		return spec, dir, err
	}
	err := p.attachFakeNet(c, &spec) // isolated mode: the slot's responder and its port
	return spec, dir, err
}

// newSlot makes a slot (not started) from its definition.
func (p *Pool) newSlot(c SlotConfig, origin string) (*Slot, error) {
	spec, dir, err := p.slotSpec(c)
	if err != nil {
		return nil, err
	}
	vs, err := vm.NewSlot(c.Name, spec, p.hypervisorOf(c), dir, p.log)
	if err != nil {
		return nil, err
	}
	s := &Slot{Slot: vs, name: c.Name, def: c, origin: origin, domain: spec.Name,
		log: p.log.With("slot", c.Name), kick: make(chan struct{}, 1), stopped: make(chan struct{})}
	if cs, err := vs.Clean(); err == nil {
		s.cleanBuilt = cs.Created
	}
	return s, nil
}

// Start starts a worker per slot (slots added later start at once) and
// the configuration file's watch; they stop when ctx ends.
func (p *Pool) Start(ctx context.Context, wg *sync.WaitGroup) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ctx, p.wg = ctx, wg
	for _, s := range p.slots {
		p.startWorkerLocked(s)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.watchConfig(ctx)
	}()
}

func (p *Pool) startWorkerLocked(s *Slot) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.worker(p.ctx, s)
	}()
}

// Slots returns the slots in pool order.
func (p *Pool) Slots() []*Slot {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Clone(p.slots)
}

// Slot returns the slot of that name, or nil.
func (p *Pool) Slot(name string) *Slot {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, s := range p.slots {
		if s.name == name {
			return s
		}
	}
	return nil
}

// forget takes a removed slot out of the pool. If the pool definition
// names the slot again by now (re-added while it drained), a new slot of
// that name starts.
func (p *Pool) forget(s *Slot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.slots = slices.DeleteFunc(p.slots, func(x *Slot) bool { return x == s })
	eff, origins := p.overlay.apply(p.base, p.baseOrigin)
	i := slices.IndexFunc(eff, func(c SlotConfig) bool { return c.Name == s.name })
	if i < 0 || !p.runningLocked() {
		return
	}
	if _, err := p.addSlotLocked(eff[i], origins[s.name], "defined again while it was being removed"); err != nil {
		p.log.Error("pool change failed", "change", "add", "slot", s.name, "err", err)
		return
	}
	p.log.Info("pool change applied", "change", "add", "slot", s.name, "by", "reload")
}

// accept is the slot's ClaimNext filter: a job that already failed on this
// slot for infrastructure reasons is left to another slot, unless no other
// slot could take it (all others quarantined, draining, broken, or failed
// it too). Retried jobs keep their place at the head of the queue (jobs are
// claimed oldest first), so another slot takes them next.
func (p *Pool) accept(s *Slot) func(jobs.Job) bool {
	return func(j jobs.Job) bool {
		if !s.accepts(j) {
			return false // another network mode, or a tag the slot lacks (network.go)
		}
		if !slices.Contains(j.FailedSlots, s.name) {
			return true
		}
		for _, o := range p.Slots() {
			if o != s && !slices.Contains(j.FailedSlots, o.name) && o.serviceable() && o.fits(j) {
				return false
			}
		}
		return true
	}
}

// network is the slot's configured guest network mode (safe from any
// goroutine, unlike Spec().Network).
func (s *Slot) network() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.def.Network
}

// worker owns one slot: it keeps the slot's clean state ready, runs queued
// jobs on it one at a time, heals it when quarantined and applies the
// operator's requests between jobs, until ctx ends or the slot is removed.
func (p *Pool) worker(ctx context.Context, s *Slot) {
	defer close(s.stopped)
	log := s.log
	var backoff, healBackoff time.Duration
	for ctx.Err() == nil {
		if p.applyRequests(ctx, s) {
			return
		}
		s.mu.Lock()
		drain, quarantined := s.drain, s.quarantined
		s.mu.Unlock()
		if drain {
			s.wait(ctx, 0)
			continue
		}
		if quarantined {
			if healBackoff > 0 {
				s.wait(ctx, healBackoff)
				if ctx.Err() != nil || p.pendingRequest(s) {
					continue
				}
			}
			if err := p.heal(ctx, s); err != nil {
				if ctx.Err() != nil {
					return
				}
				healBackoff = min(max(healBackoff*2, healBackoffMin), healBackoffMax)
				s.mu.Lock()
				s.lastErr, s.lastErrAt = "rebuild: "+err.Error(), time.Now().UTC()
				s.mu.Unlock()
				log.Warn("quarantined slot could not be rebuilt; will retry", "err", err, "in", healBackoff)
				continue
			}
			healBackoff, backoff = 0, 0
			continue
		}
		if _, err := s.Clean(); err != nil {
			s.to(SlotPreparing, "no usable clean state: "+strings.TrimPrefix(err.Error(), vm.ErrNoCleanState.Error()+": "))
			pctx, cancel := context.WithTimeout(ctx, ColdBootTimeout)
			cs, err := s.Prepare(pctx, Probe)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				if !p.slotFailed(s, "clean state", err) {
					backoff = min(max(backoff*2, time.Second), time.Minute)
					log.Error("cannot make clean state; will retry", "err", err, "in", backoff)
					s.wait(ctx, backoff)
				}
				continue
			}
			backoff = 0
			s.mu.Lock()
			s.cleanBuilt = cs.Created
			s.mu.Unlock()
		}
		s.to(SlotIdle, "clean state ready")
		// Subscribe before looking, so a submission between the look and
		// the wait still wakes this slot.
		queued := p.queueSignal.wait()
		// The network argument is the store index's cut of the same rule
		// as accept (network.go), so jobs of another mode are not decoded.
		job, ok, err := p.cfg.Store.ClaimNextFor(s.name, s.Spec().Network, p.accept(s))
		if err != nil {
			log.Error("claim job", "err", err)
			s.wait(ctx, time.Second)
			continue
		}
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-queued: // a submission or a re-queue (every idle slot wakes)
			case <-p.wake:
			case <-s.kick:
			case <-time.After(IdleRecheck):
			}
			continue
		}
		s.mu.Lock()
		s.job = job.ID
		s.toLocked(SlotRestoring, "claimed job")
		s.mu.Unlock()
		p.cfg.Run(ctx, &Lease{p: p, s: s, job: job.ID}, job)
		s.mu.Lock()
		s.done++
		if s.state == SlotBusy || s.state == SlotRestoring {
			s.toLocked(SlotIdle, "job over")
		}
		s.job = ""
		s.mu.Unlock()
	}
}

// pendingRequest reports whether an operator request waits for the worker.
func (p *Pool) pendingRequest(s *Slot) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remove || s.respec != nil || s.reset || s.drain
}

// applyRequests carries out the requests made since the worker last looked.
// It reports whether the slot is gone.
func (p *Pool) applyRequests(ctx context.Context, s *Slot) bool {
	s.mu.Lock()
	remove, respec, reset := s.remove, s.respec, s.reset
	s.respec, s.reset = nil, false
	s.mu.Unlock()
	switch {
	case remove:
		p.teardown(ctx, s)
		return true
	case respec != nil:
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timeouts.Destroy)
		_ = s.Destroy(dctx)
		cancel()
		_ = s.Invalidate()
		spec, dir, err := p.slotSpec(*respec)
		var vs *vm.Slot
		if err == nil {
			vs, err = vm.NewSlot(respec.Name, spec, p.hypervisorOf(*respec), dir, p.log)
		}
		s.mu.Lock()
		old := s.def
		if err == nil {
			s.Slot, s.def = vs, *respec
		}
		s.drain, s.quarantined, s.failures, s.cleanBuilt = false, false, 0, time.Time{}
		if err != nil {
			s.lastErr, s.lastErrAt = "rebuild: "+err.Error(), time.Now().UTC()
			s.toLocked(SlotBroken, "rebuild failed: "+err.Error())
		} else {
			s.toLocked(SlotPreparing, fmt.Sprintf("rebuilding: %s", defChange(old, *respec)))
		}
		s.mu.Unlock()
	case reset:
		_ = s.Invalidate()
		s.mu.Lock()
		s.drain, s.quarantined, s.failures, s.cleanBuilt = false, false, 0, time.Time{}
		s.toLocked(SlotPreparing, "reset requested: clean state discarded")
		s.mu.Unlock()
	}
	return false
}

// teardown destroys a removed slot's VM, deletes its files and takes it
// out of the pool.
func (p *Pool) teardown(ctx context.Context, s *Slot) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timeouts.Destroy)
	defer cancel()
	if err := s.Destroy(dctx); err != nil {
		s.log.Warn("destroy removed slot's VM", "err", err)
	}
	_ = os.Remove(s.Spec().ChannelPath)
	p.closeFakeNet(s.name)
	if err := os.RemoveAll(p.cfg.Layout.SlotDir(s.name)); err != nil {
		s.log.Warn("delete removed slot's files", "err", err)
	}
	s.to(SlotRemoved, "drained; VM and state files deleted")
	p.forget(s)
}

// slotFailed records a restore, agent or clean-state failure; the
// QuarantineAfter-th in a row quarantines the slot. It reports whether it
// did. A failure to make the clean state leaves the slot broken.
func (p *Pool) slotFailed(s *Slot, what string, err error) bool {
	limit := int(p.quarantineAfter.Load())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures++
	s.lastErr, s.lastErrAt = what+": "+err.Error(), time.Now().UTC()
	if s.failures >= limit {
		s.quarantined = true
		s.toLocked(SlotQuarantined, fmt.Sprintf("%d failures in a row (limit %d), last: %s: %v", s.failures, limit, what, err))
		return true
	}
	if what == "clean state" {
		s.toLocked(SlotBroken, fmt.Sprintf("failure %d of %d: %s: %v", s.failures, limit, what, err))
	} else {
		s.toLocked(SlotPreparing, fmt.Sprintf("failure %d of %d: %s: %v; clean state discarded, making a new one", s.failures, limit, what, err))
	}
	return false
}

// healthy records that a restore and agent handshake went through.
func (s *Slot) healthy() {
	s.mu.Lock()
	s.failures = 0
	s.toLocked(SlotBusy, "restored; agent verified")
	s.mu.Unlock()
}

// heal rebuilds a quarantined slot: a cold boot makes a new clean state,
// then a probe restore must come up with an agent reporting that clean
// state. Only then does the slot take jobs again.
func (p *Pool) heal(ctx context.Context, s *Slot) error {
	s.log.Info("rebuilding quarantined slot from a cold boot")
	hctx, cancel := context.WithTimeout(ctx, ColdBootTimeout+p.cfg.Timeouts.Restore+p.cfg.Timeouts.WaitAgent)
	defer cancel()
	cs, err := s.Prepare(hctx, Probe)
	if err != nil {
		return fmt.Errorf("cold boot: %w", err)
	}
	s.mu.Lock()
	s.cleanBuilt = cs.Created
	s.mu.Unlock()
	if err := p.probeRestore(hctx, s); err != nil {
		_ = s.Invalidate()
		return fmt.Errorf("probe restore: %w", err)
	}
	s.mu.Lock()
	s.quarantined, s.failures = false, 0
	s.toLocked(SlotIdle, fmt.Sprintf("rebuilt from a cold boot (boot %s, %s); probe restore verified", shortID(cs.BootID), cs.BootTime.Round(time.Millisecond)))
	s.mu.Unlock()
	return nil
}

// probeRestore restores the clean state, checks the agent answers from the
// saved boot with nothing run, and destroys the VM.
func (p *Pool) probeRestore(ctx context.Context, s *Slot) error {
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timeouts.Destroy)
		_ = s.Destroy(dctx)
		cancel()
	}()
	rctx, cancel := context.WithTimeout(ctx, p.cfg.Timeouts.Restore)
	err := p.restoreSlot(rctx, s)
	cancel()
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, p.cfg.Timeouts.WaitAgent)
	defer cancel()
	conn, err := s.DialAgent(actx)
	if err != nil {
		return err
	}
	defer conn.Close()
	info, err := Probe(actx, conn)
	if err != nil {
		return fmt.Errorf("%w: %w", vm.ErrAgent, err)
	}
	return s.Verify(info)
}

// restoreSlot is the restore step (with the test hook).
func (p *Pool) restoreSlot(ctx context.Context, s *Slot) error {
	if h := p.restoreHook.Load(); h != nil {
		(*h)(s)
	}
	return s.Restore(ctx)
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func defChange(old, new SlotConfig) string {
	var parts []string
	if old.MemoryMiB != new.MemoryMiB {
		parts = append(parts, fmt.Sprintf("memory %d -> %d MiB", old.MemoryMiB, new.MemoryMiB))
	}
	if old.Network != new.Network {
		parts = append(parts, fmt.Sprintf("network %s -> %s", vm.NetworkName(old.Network), vm.NetworkName(new.Network)))
	}
	if !slices.Equal(old.Tags, new.Tags) {
		parts = append(parts, fmt.Sprintf("tags [%s] -> [%s]", strings.Join(old.Tags, ","), strings.Join(new.Tags, ",")))
	}
	if len(parts) == 0 {
		return "definition changed"
	}
	return strings.Join(parts, ", ")
}

// needsRebuild reports whether going from old to new changes the VM (and so
// its saved memory image).
func needsRebuild(old, new SlotConfig) bool {
	return old.MemoryMiB != new.MemoryMiB || old.Network != new.Network
}

// SlotConfig defines one VM slot of the pool.
type SlotConfig struct {
	Name      string   // [a-z0-9][a-z0-9_-]*, at most 32 characters; names the VM and its state directory
	MemoryMiB int      // guest memory; default Config.MemoryMiB
	Network   string   // guest network: "" (none), "isolated" or "user"; see vm.Spec.Network
	Tags      []string // free-form labels shown by `pool ls`
	Host      string   // remote host the slot runs on (Config.Placement); "" local
}
