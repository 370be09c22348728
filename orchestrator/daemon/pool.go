package daemon

// The VM pool: its slots, their state machine, quarantine and healing, and
// the changes an operator makes at run time (API or configuration reload).
//
// Each slot has one worker goroutine (worker) that owns its vm.Slot. Other
// goroutines never touch the vm.Slot; they ask for changes by setting a
// request on the slotState (drain, remove, rebuild with a new definition,
// reset) and kicking the worker, which applies them between jobs. So a
// request never interrupts an analysis: "drain" always means "finish the
// current job first".
//
// States (slotState.state):
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

// slotState is one slot of the pool: the VM slot its worker owns, and what
// operators see of it.
type slotState struct {
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

func (s *slotState) to(state, reason string) {
	s.mu.Lock()
	s.toLocked(state, reason)
	s.mu.Unlock()
}

// toLocked moves the slot to state, logging and recording the transition.
// While a drain is requested the slot stays draining (its activity goes on
// underneath) until it is removed or the request is lifted.
func (s *slotState) toLocked(state, reason string) {
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

func (s *slotState) current() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// serviceable reports whether the slot can take jobs now or soon.
func (s *slotState) serviceable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drain || s.remove || s.quarantined {
		return false
	}
	return s.state != SlotBroken && s.state != SlotRemoved && s.state != SlotDraining
}

func (s *slotState) wakeUp() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// wait sleeps for d, or until ctx ends or the slot is kicked (d <= 0: no
// timeout).
func (s *slotState) wait(ctx context.Context, d time.Duration) {
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

// pool is the Daemon's pool bookkeeping; Daemon.slots holds the slots.
type pool struct {
	mu         sync.RWMutex // guards Daemon.slots and the fields below
	ctx        context.Context
	wg         *sync.WaitGroup
	base       []SlotConfig // from the configuration (file or flags)
	baseOrigin string
	overlay    poolOverlay
	runDir     string
	host       string

	quarantineAfter atomic.Int64
	restoreHook     atomic.Pointer[func(s *slotState)] // tests: runs before each restore

	reloadMu    sync.Mutex
	reloadErr   string
	reloadErrAt time.Time
	lastReload  time.Time
	fileStamp   fileStamp
	// restartNeeded names the settings whose change in the file waits for
	// a restart (logged once when they first differ, shown by pool health).
	restartNeeded []string
}

// initPool defines the slots at start: configured pool plus pool.json.
// State directories of slots no longer in the pool are deleted.
func (d *Daemon) initPool(runDir string) error {
	p := &d.pool
	p.runDir = runDir
	p.host, _ = os.Hostname()
	qa := d.cfg.QuarantineAfter
	if qa <= 0 {
		qa = DefaultQuarantineAfter
	}
	p.quarantineAfter.Store(int64(qa))
	base, origin, err := basePool(d.cfg)
	if err != nil {
		return err
	}
	base = append(base, d.hostSlots()...) // issue 16 hook
	p.base, p.baseOrigin = base, origin
	if p.overlay, err = loadOverlay(d.poolFile()); err != nil {
		return err
	}
	if !p.overlay.empty() {
		d.log.Info("pool edits made through the API applied on top of the configured pool", "file", d.poolFile(),
			"added", len(p.overlay.Added), "removed", p.overlay.Removed)
	}
	eff, origins := p.overlay.apply(base, origin)
	for _, c := range eff {
		s, err := d.newSlot(c, origins[c.Name])
		if err != nil {
			return err
		}
		if s.cleanBuilt.IsZero() {
			s.toLocked(SlotPreparing, "defined at start; no clean state yet")
		} else {
			s.toLocked(SlotIdle, "defined at start; clean state from "+s.cleanBuilt.UTC().Format(time.RFC3339))
		}
		d.slots = append(d.slots, s)
	}
	if d.cfg.ConfigFile != "" {
		p.fileStamp, _ = stampOf(d.cfg.ConfigFile)
	}
	d.sweepSlotDirs(eff)
	return nil
}

// sweepSlotDirs deletes vms/<name> directories of slots not in the pool
// (removed while the orchestrator was down or before it stopped).
func (d *Daemon) sweepSlotDirs(eff []SlotConfig) {
	ents, err := os.ReadDir(d.layout().VMs())
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || slices.ContainsFunc(eff, func(c SlotConfig) bool { return c.Name == e.Name() }) {
			continue
		}
		d.log.Info("deleting state of a slot no longer in the pool", "slot", e.Name())
		if err := os.RemoveAll(d.layout().SlotDir(e.Name())); err != nil {
			d.log.Warn("delete slot state", "slot", e.Name(), "err", err)
		}
	}
}

// slotSpec is the VM spec of a slot definition. For the isolated network
// it starts the slot's fake internet; a user-mode slot is refused unless
// the configuration allows it (errors wrap ErrBadSlot).
func (d *Daemon) slotSpec(c SlotConfig) (vm.Spec, string, error) {
	name := d.domainPrefix() + c.Name
	dir := d.layout().SlotDir(c.Name)
	spec := vm.Spec{
		Name: name, UUID: vm.StableUUID(name), Accel: d.accel,
		MemoryMiB: uint(c.MemoryMiB), VCPUs: 1, Image: d.img, Network: c.Network,
		ChannelPath: filepath.Join(d.pool.runDir, c.Name+".sock"),
		ConsolePath: d.layout().Console(c.Name),
	}
	if err := d.remoteSpec(c, &spec); err != nil { // issue 16 hook
		return spec, dir, err
	}
	err := d.attachFakeNet(c, &spec) // isolated mode: the slot's responder and its port
	return spec, dir, err
}

// newSlot makes a slot (not started) from its definition.
func (d *Daemon) newSlot(c SlotConfig, origin string) (*slotState, error) {
	spec, dir, err := d.slotSpec(c)
	if err != nil {
		return nil, err
	}
	vs, err := vm.NewSlot(c.Name, spec, d.slotHV(c), dir, d.log) // issue 16 hook: slotHV
	if err != nil {
		return nil, err
	}
	s := &slotState{Slot: vs, name: c.Name, def: c, origin: origin, domain: spec.Name,
		log: d.log.With("slot", c.Name), kick: make(chan struct{}, 1), stopped: make(chan struct{})}
	if cs, err := vs.Clean(); err == nil {
		s.cleanBuilt = cs.Created
	}
	return s, nil
}

// startPool starts a worker per slot; slots added later start at once.
func (d *Daemon) startPool(ctx context.Context, wg *sync.WaitGroup) {
	d.pool.mu.Lock()
	defer d.pool.mu.Unlock()
	d.pool.ctx, d.pool.wg = ctx, wg
	d.startProcessor(ctx, wg)
	for _, s := range d.slots {
		d.startWorkerLocked(s)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.watchConfig(ctx)
	}()
}

func (d *Daemon) startWorkerLocked(s *slotState) {
	d.pool.wg.Add(1)
	go func() {
		defer d.pool.wg.Done()
		d.worker(d.pool.ctx, s)
	}()
}

// poolSlots returns the slots in pool order.
func (d *Daemon) poolSlots() []*slotState {
	d.pool.mu.RLock()
	defer d.pool.mu.RUnlock()
	return slices.Clone(d.slots)
}

func (d *Daemon) slotByName(name string) *slotState {
	d.pool.mu.RLock()
	defer d.pool.mu.RUnlock()
	for _, s := range d.slots {
		if s.name == name {
			return s
		}
	}
	return nil
}

// forget takes a removed slot out of the pool. If the pool definition
// names the slot again by now (re-added while it drained), a new slot of
// that name starts.
func (d *Daemon) forget(s *slotState) {
	d.pool.mu.Lock()
	defer d.pool.mu.Unlock()
	d.slots = slices.DeleteFunc(d.slots, func(x *slotState) bool { return x == s })
	eff, origins := d.pool.overlay.apply(d.pool.base, d.pool.baseOrigin)
	i := slices.IndexFunc(eff, func(c SlotConfig) bool { return c.Name == s.name })
	if i < 0 || !d.runningLocked() {
		return
	}
	if _, err := d.addSlotLocked(eff[i], origins[s.name], "defined again while it was being removed"); err != nil {
		d.log.Error("pool change failed", "change", "add", "slot", s.name, "err", err)
		return
	}
	d.log.Info("pool change applied", "change", "add", "slot", s.name, "by", "reload")
}

// accept is the slot's ClaimNext filter: a job that already failed on this
// slot for infrastructure reasons is left to another slot, unless no other
// slot could take it (all others quarantined, draining, broken, or failed
// it too). Retried jobs keep their place at the head of the queue (jobs are
// claimed oldest first), so another slot takes them next.
func (d *Daemon) accept(s *slotState) func(jobs.Job) bool {
	return func(j jobs.Job) bool {
		if !s.accepts(j) {
			return false // another network mode, or a tag the slot lacks (network.go)
		}
		if !slices.Contains(j.FailedSlots, s.name) {
			return true
		}
		for _, o := range d.poolSlots() {
			if o != s && !slices.Contains(j.FailedSlots, o.name) && o.serviceable() && o.fits(j) {
				return false
			}
		}
		return true
	}
}

// network is the slot's configured guest network mode (safe from any
// goroutine, unlike Spec().Network).
func (s *slotState) network() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.def.Network
}

// worker owns one slot: it keeps the slot's clean state ready, runs queued
// jobs on it one at a time, heals it when quarantined and applies the
// operator's requests between jobs, until ctx ends or the slot is removed.
func (d *Daemon) worker(ctx context.Context, s *slotState) {
	defer close(s.stopped)
	log := s.log
	var backoff, healBackoff time.Duration
	for ctx.Err() == nil {
		if d.applyRequests(ctx, s) {
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
				if ctx.Err() != nil || d.pendingRequest(s) {
					continue
				}
			}
			if err := d.heal(ctx, s); err != nil {
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
			cs, err := s.Prepare(pctx, probe)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				if !d.slotFailed(s, "clean state", err) {
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
		queued := d.queueSignal.wait()
		job, ok, err := d.store.ClaimNextFor(s.name, s.Spec().Network, d.accept(s))
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
			case <-d.wake:
			case <-s.kick:
			case <-time.After(IdleRecheck):
			}
			continue
		}
		s.mu.Lock()
		s.job = job.ID
		s.toLocked(SlotRestoring, "claimed job")
		s.mu.Unlock()
		d.runJob(ctx, s, job)
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
func (d *Daemon) pendingRequest(s *slotState) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remove || s.respec != nil || s.reset || s.drain
}

// applyRequests carries out the requests made since the worker last looked.
// It reports whether the slot is gone.
func (d *Daemon) applyRequests(ctx context.Context, s *slotState) bool {
	s.mu.Lock()
	remove, respec, reset := s.remove, s.respec, s.reset
	s.respec, s.reset = nil, false
	s.mu.Unlock()
	switch {
	case remove:
		d.teardown(ctx, s)
		return true
	case respec != nil:
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.timeouts.Destroy)
		_ = s.Destroy(dctx)
		cancel()
		_ = s.Invalidate()
		spec, dir, err := d.slotSpec(*respec)
		var vs *vm.Slot
		if err == nil {
			vs, err = vm.NewSlot(respec.Name, spec, d.slotHV(*respec), dir, d.log) // issue 16 hook: slotHV
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
func (d *Daemon) teardown(ctx context.Context, s *slotState) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.timeouts.Destroy)
	defer cancel()
	if err := s.Destroy(dctx); err != nil {
		s.log.Warn("destroy removed slot's VM", "err", err)
	}
	_ = os.Remove(s.Spec().ChannelPath)
	d.closeFakeNet(s.name)
	if err := os.RemoveAll(d.layout().SlotDir(s.name)); err != nil {
		s.log.Warn("delete removed slot's files", "err", err)
	}
	s.to(SlotRemoved, "drained; VM and state files deleted")
	d.forget(s)
}

// slotFailed records a restore, agent or clean-state failure; the
// QuarantineAfter-th in a row quarantines the slot. It reports whether it
// did. A failure to make the clean state leaves the slot broken.
func (d *Daemon) slotFailed(s *slotState, what string, err error) bool {
	limit := int(d.pool.quarantineAfter.Load())
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
func (s *slotState) healthy() {
	s.mu.Lock()
	s.failures = 0
	s.toLocked(SlotBusy, "restored; agent verified")
	s.mu.Unlock()
}

// heal rebuilds a quarantined slot: a cold boot makes a new clean state,
// then a probe restore must come up with an agent reporting that clean
// state. Only then does the slot take jobs again.
func (d *Daemon) heal(ctx context.Context, s *slotState) error {
	s.log.Info("rebuilding quarantined slot from a cold boot")
	hctx, cancel := context.WithTimeout(ctx, ColdBootTimeout+d.timeouts.Restore+d.timeouts.WaitAgent)
	defer cancel()
	cs, err := s.Prepare(hctx, probe)
	if err != nil {
		return fmt.Errorf("cold boot: %w", err)
	}
	s.mu.Lock()
	s.cleanBuilt = cs.Created
	s.mu.Unlock()
	if err := d.probeRestore(hctx, s); err != nil {
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
func (d *Daemon) probeRestore(ctx context.Context, s *slotState) error {
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.timeouts.Destroy)
		_ = s.Destroy(dctx)
		cancel()
	}()
	rctx, cancel := context.WithTimeout(ctx, d.timeouts.Restore)
	err := d.restoreSlot(rctx, s)
	cancel()
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, d.timeouts.WaitAgent)
	defer cancel()
	conn, err := s.DialAgent(actx)
	if err != nil {
		return err
	}
	defer conn.Close()
	info, err := probe(actx, conn)
	if err != nil {
		return fmt.Errorf("%w: %w", vm.ErrAgent, err)
	}
	return s.Verify(info)
}

// restoreSlot is the restore step (with the test hook).
func (d *Daemon) restoreSlot(ctx context.Context, s *slotState) error {
	if h := d.pool.restoreHook.Load(); h != nil {
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

// attemptsReason is the error of a job that failed MaxAttempts times for
// infrastructure reasons: every attempt, where it ran and why it failed.
func attemptsReason(j *jobs.Job, slot string, err error) string {
	var parts []string
	for _, t := range j.History {
		if strings.HasSuffix(t.Note, "; re-queued") && !strings.HasPrefix(t.Note, "orchestrator stopping") {
			parts = append(parts, strings.TrimSuffix(t.Note, "; re-queued"))
		}
	}
	parts = append(parts, fmt.Sprintf("attempt %d on %s failed: %v", j.Attempts, slot, err))
	return fmt.Sprintf("gave up after %d attempts: %s", j.Attempts, strings.Join(parts, "; "))
}
