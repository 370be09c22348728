package pool

// Pool administration: drain, remove, reset and add requests, and the
// pool API methods.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// requestDrain asks the slot to stop taking jobs after the current one.
func (s *Slot) requestDrain(reason string) {
	s.mu.Lock()
	if !s.drain {
		s.toLocked(SlotDraining, reason)
		s.drain = true
	}
	s.mu.Unlock()
	s.wakeUp()
}

func (s *Slot) requestRemove(reason string) {
	s.mu.Lock()
	s.remove = true
	if !s.drain {
		s.toLocked(SlotDraining, reason)
		s.drain = true
	}
	s.mu.Unlock()
	s.wakeUp()
}

func (s *Slot) requestRespec(c SlotConfig, reason string) {
	s.mu.Lock()
	s.respec = &c
	if !s.drain {
		s.toLocked(SlotDraining, reason)
		s.drain = true
	}
	s.mu.Unlock()
	s.wakeUp()
}

func (s *Slot) requestReset() {
	s.mu.Lock()
	s.reset = true
	s.mu.Unlock()
	s.wakeUp()
}

// --- operations (API and reload) ---

// running returns whether workers can be started (Serve is running).
func (p *Pool) runningLocked() bool { return p.ctx != nil && p.ctx.Err() == nil }

// addSlotLocked defines and starts a slot. p.mu must be held.
func (p *Pool) addSlotLocked(c SlotConfig, origin, reason string) (*Slot, error) {
	if len(p.slots) >= MaxSlots {
		return nil, ErrPoolTooBig
	}
	s, err := p.newSlot(c, origin)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSlot, err)
	}
	s.toLocked(SlotPreparing, reason)
	p.slots = append(p.slots, s)
	p.startWorkerLocked(s)
	return s, nil
}

// AddSlot adds a slot through the API; the edit is kept in pool.json.
func (p *Pool) AddSlot(ctx context.Context, req api.SlotRequest) (api.PoolChange, error) {
	c := SlotConfig{Name: req.Name, MemoryMiB: req.MemoryMiB, Network: req.Network, Tags: slices.Clone(req.Tags)}
	if err := c.Normalize(p.cfg.MemoryMiB); err != nil {
		return api.PoolChange{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.runningLocked() {
		return api.PoolChange{}, ErrNotServing
	}
	for _, s := range p.slots {
		if s.name == c.Name {
			return api.PoolChange{}, fmt.Errorf("%w: %q (state %s)", ErrSlotExists, c.Name, s.current())
		}
	}
	ov := p.overlay
	origin, reason := OriginAPI, "added through the API"
	var warnings []string
	ov.Added = slices.DeleteFunc(slices.Clone(ov.Added), func(a SlotConfig) bool { return a.Name == c.Name })
	// Re-adding a configured slot that was removed through the API undoes
	// the removal: the configuration defines it again (and later changes
	// to it in the file apply), unless the request gives another definition.
	bi := slices.IndexFunc(p.base, func(b SlotConfig) bool { return b.Name == c.Name })
	if slices.Contains(ov.Removed, c.Name) && bi >= 0 {
		ov.Removed = slices.DeleteFunc(slices.Clone(ov.Removed), func(n string) bool { return n == c.Name })
		b := p.base[bi]
		bare := req.MemoryMiB == 0 && req.Network == "" && req.Tags == nil
		if bare || !needsRebuild(b, c) && slices.Equal(b.Tags, c.Tags) {
			c, origin, reason = b, p.baseOrigin, "removal undone through the API: defined by the configuration again"
		} else {
			ov.Added = append(ov.Added, c)
			warnings = append(warnings, fmt.Sprintf("slot %s is defined by this request, not by the configuration (%s): "+
				"configuration changes to it are not applied while pool.json holds it (pool health shows it)", c.Name, defChange(b, c)))
		}
	} else {
		ov.Added = append(ov.Added, c)
	}
	if err := saveOverlay(p.poolFile(), ov); err != nil {
		return api.PoolChange{}, err
	}
	p.overlay = ov
	s, err := p.addSlotLocked(c, origin, reason)
	if err != nil {
		return api.PoolChange{}, err
	}
	p.log.Info("pool change applied", "change", "add", "slot", c.Name, "memory_mib", c.MemoryMiB, "network", vm.NetworkName(c.Network), "by", "api")
	return api.PoolChange{Action: "add", Slot: s.snapshot(p.host, false), Warnings: warnings}, nil
}

// RemoveSlot drains a slot and then deletes it; the edit is kept in
// pool.json.
func (p *Pool) RemoveSlot(ctx context.Context, name string) (api.PoolChange, error) {
	p.mu.Lock()
	s := p.findLocked(name)
	if s == nil {
		p.mu.Unlock()
		return api.PoolChange{}, fmt.Errorf("%w: %q", ErrNoSlot, name)
	}
	s.mu.Lock()
	removing := s.remove
	s.mu.Unlock()
	if removing {
		p.mu.Unlock()
		return api.PoolChange{}, fmt.Errorf("%w: %q", ErrSlotBusy, name)
	}
	ov := p.overlay
	if slices.ContainsFunc(ov.Added, func(a SlotConfig) bool { return a.Name == name }) {
		ov.Added = slices.DeleteFunc(slices.Clone(ov.Added), func(a SlotConfig) bool { return a.Name == name })
	}
	if slices.ContainsFunc(p.base, func(c SlotConfig) bool { return c.Name == name }) && !slices.Contains(ov.Removed, name) {
		ov.Removed = append(slices.Clone(ov.Removed), name)
	}
	if err := saveOverlay(p.poolFile(), ov); err != nil {
		p.mu.Unlock()
		return api.PoolChange{}, err
	}
	p.overlay = ov
	others := 0
	for _, o := range p.slots {
		if o != s && o.serviceable() {
			others++
		}
	}
	s.requestRemove("removal requested through the API")
	p.mu.Unlock()
	p.log.Info("pool change applied", "change", "remove", "slot", name, "by", "api")
	ch := api.PoolChange{Action: "remove", Slot: s.snapshot(p.host, false)}
	if others == 0 {
		if n, err := p.cfg.Store.Count(jobs.Queued); err == nil && n > 0 {
			ch.Warnings = append(ch.Warnings, fmt.Sprintf("no other slot can take jobs: %d queued jobs wait until a slot is added or healed", n))
		} else {
			ch.Warnings = append(ch.Warnings, "no other slot can take jobs: new submissions will wait until a slot is added or healed")
		}
	}
	return ch, nil
}

// DrainSlot stops a slot taking jobs after its current one. It stays
// drained until reset or removed (not persisted: a restart undrains it).
func (p *Pool) DrainSlot(ctx context.Context, name string) (api.PoolChange, error) {
	s := p.Slot(name)
	if s == nil {
		return api.PoolChange{}, fmt.Errorf("%w: %q", ErrNoSlot, name)
	}
	s.requestDrain("drain requested through the API")
	p.log.Info("pool change applied", "change", "drain", "slot", name, "by", "api")
	return api.PoolChange{Action: "drain", Slot: s.snapshot(p.host, false)}, nil
}

// UndrainSlot lifts a drain: the slot takes jobs again with the clean
// state it has, without a cold boot. A slot being removed or waiting for a
// rebuild cannot be undrained (409); one not drained is left as it is,
// with a warning.
func (p *Pool) UndrainSlot(ctx context.Context, name string) (api.PoolChange, error) {
	s := p.Slot(name)
	if s == nil {
		return api.PoolChange{}, fmt.Errorf("%w: %q", ErrNoSlot, name)
	}
	s.mu.Lock()
	drained, removing, respec := s.drain, s.remove, s.respec != nil
	if drained && !removing && !respec {
		s.drain = false
		switch {
		case s.job != "":
			s.toLocked(SlotBusy, "drain lifted through the API")
		case s.quarantined:
			s.toLocked(SlotQuarantined, "drain lifted through the API; still quarantined")
		default:
			s.toLocked(SlotIdle, "drain lifted through the API")
		}
	}
	s.mu.Unlock()
	switch {
	case removing:
		return api.PoolChange{}, fmt.Errorf("%w: %q", ErrSlotBusy, name)
	case respec:
		return api.PoolChange{}, fmt.Errorf("%w: %q drains for a rebuild with a new definition; it returns to service after it", api.ErrConflict, name)
	}
	ch := api.PoolChange{Action: "undrain"}
	if !drained {
		ch.Warnings = append(ch.Warnings, "slot "+name+" was not drained")
	} else {
		s.wakeUp()
		p.Notify()
		p.log.Info("pool change applied", "change", "undrain", "slot", name, "by", "api")
	}
	ch.Slot = s.snapshot(p.host, false)
	return ch, nil
}

// ResetSlot discards a slot's clean state (after its current job) and makes
// a new one from a cold boot; it also lifts a drain or a quarantine.
func (p *Pool) ResetSlot(ctx context.Context, name string) (api.PoolChange, error) {
	s := p.Slot(name)
	if s == nil {
		return api.PoolChange{}, fmt.Errorf("%w: %q", ErrNoSlot, name)
	}
	s.mu.Lock()
	removing := s.remove
	s.mu.Unlock()
	if removing {
		return api.PoolChange{}, fmt.Errorf("%w: %q", ErrSlotBusy, name)
	}
	s.requestReset()
	p.log.Info("pool change applied", "change", "reset", "slot", name, "by", "api")
	return api.PoolChange{Action: "reset", Slot: s.snapshot(p.host, false)}, nil
}

func (p *Pool) findLocked(name string) *Slot {
	for _, s := range p.slots {
		if s.name == name {
			return s
		}
	}
	return nil
}

// snapshot is what the API shows of a slot.
func (s *Slot) snapshot(host string, withLog bool) api.PoolSlot {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := api.PoolSlot{
		Name: s.name, State: s.state, Since: s.since, Job: s.job, Host: cmp.Or(s.def.Host, host), Domain: s.domain,
		MemoryMiB: s.def.MemoryMiB, Network: vm.NetworkName(s.def.Network), Tags: slices.Clone(s.def.Tags),
		Origin: s.origin, Analyses: s.done, ConsecutiveFailures: s.failures, LastError: s.lastErr,
		Quarantined: s.quarantined,
	}
	if !s.lastErrAt.IsZero() {
		t := s.lastErrAt
		ps.LastErrorAt = &t
	}
	if !s.cleanBuilt.IsZero() {
		t := s.cleanBuilt.UTC()
		ps.CleanStateBuilt = &t
	}
	switch {
	case s.remove:
		ps.Pending = "remove"
	case s.respec != nil:
		ps.Pending = "rebuild: " + defChange(s.def, *s.respec)
	case s.reset:
		ps.Pending = "reset"
	}
	if withLog {
		ps.Transitions = slices.Clone(s.transitions)
	}
	return ps
}

// Pool lists the slots, with their transition logs.
func (p *Pool) Pool(ctx context.Context) api.PoolList {
	out := api.PoolList{Slots: []api.PoolSlot{}, QuarantineAfter: int(p.quarantineAfter.Load()), ConfigFile: p.cfg.ConfigFile}
	for _, s := range p.Slots() {
		out.Slots = append(out.Slots, s.snapshot(p.host, true))
	}
	return out
}

// PoolHealth says whether every slot can take jobs, and why not.
func (p *Pool) PoolHealth(ctx context.Context) api.PoolHealth {
	h := api.PoolHealth{Status: "ok", Slots: []api.SlotHealth{}, QuarantineAfter: int(p.quarantineAfter.Load())}
	for _, s := range p.Slots() {
		ps := s.snapshot(p.host, true)
		sh := api.SlotHealth{Name: ps.Name, State: ps.State, Healthy: true, ConsecutiveFailures: ps.ConsecutiveFailures,
			LastError: ps.LastError, LastErrorAt: ps.LastErrorAt, CleanStateBuilt: ps.CleanStateBuilt, Transitions: ps.Transitions}
		switch ps.State {
		case SlotQuarantined, SlotBroken:
			sh.Healthy = false
			h.Problems = append(h.Problems, fmt.Sprintf("slot %s is %s: %s", ps.Name, ps.State, ps.LastError))
		}
		if ps.Quarantined && ps.State != SlotQuarantined {
			sh.Healthy = false
			h.Problems = append(h.Problems, fmt.Sprintf("slot %s is quarantined (%s): %s", ps.Name, ps.State, ps.LastError))
		}
		if sh.Healthy && (ps.State == SlotIdle || ps.State == SlotBusy || ps.State == SlotRestoring) {
			h.Serving++
		}
		h.Slots = append(h.Slots, sh)
	}
	if len(h.Slots) == 0 {
		h.Problems = append(h.Problems, "the pool has no slots")
	}
	p.reloadMu.Lock()
	h.ReloadError = p.reloadErr
	if !p.reloadErrAt.IsZero() {
		t := p.reloadErrAt
		h.ReloadErrorAt = &t
	}
	if !p.lastReload.IsZero() {
		t := p.lastReload
		h.LastReload = &t
	}
	h.Warnings = slices.Clone(p.restartNeeded)
	p.reloadMu.Unlock()
	p.mu.RLock()
	h.Warnings = append(p.overlay.conflicts(p.base), h.Warnings...)
	p.mu.RUnlock()
	if h.ReloadError != "" {
		for _, line := range strings.Split(h.ReloadError, "\n") {
			h.Problems = append(h.Problems, "configuration reload failed (running configuration kept): "+line)
		}
	}
	h.Problems = append(h.Problems, p.StuckReasons()...)
	if len(h.Problems) > 0 {
		h.Status = "degraded"
	}
	return h
}

// Snapshot is what the API shows of the slot (without the host name), with
// its transition log when withLog.
func (s *Slot) Snapshot(withLog bool) api.PoolSlot { return s.snapshot("", withLog) }

// Name is the slot's name.
func (s *Slot) Name() string { return s.name }

// State is the slot's state now (SlotIdle, ...).
func (s *Slot) State() string { return s.current() }

// Summary is the pool's part of the orchestrator's health.
type Summary struct {
	Total, Idle, OutOfService int
	// Problems degrade the health: no slots, slots out of service, a
	// failed configuration reload, queued jobs no slot can take.
	Problems []api.Problem
}

// Summary sums up the slots for the health.
func (p *Pool) Summary() Summary {
	slots := p.Slots()
	h := Summary{Total: len(slots)}
	add := func(kind, msg string) { h.Problems = append(h.Problems, api.Problem{Kind: kind, Message: msg}) }
	var out []string
	for _, s := range slots {
		s.mu.Lock()
		if s.state == SlotIdle {
			h.Idle++
		}
		if s.quarantined || s.state == SlotBroken {
			h.OutOfService++
			out = append(out, s.name+" "+s.state)
		}
		s.mu.Unlock()
	}
	if len(slots) == 0 {
		add(api.ProblemPool, "the pool has no slots")
	}
	if len(out) > 0 {
		add(api.ProblemSlots, fmt.Sprintf("%s taking no jobs until rebuilt: %s (see pool health)",
			plural(len(out), "slot", "slots"), strings.Join(out, ", ")))
	}
	if e := p.ReloadError(); e != "" {
		for _, line := range strings.Split(e, "\n") {
			add(api.ProblemReload, "configuration reload failed (running configuration kept): "+line)
		}
	}
	for _, r := range p.StuckReasons() {
		add(api.ProblemQueue, r)
	}
	return h
}

// BootTime is how long the slot's clean state took to boot (0 when it has
// none); it reads the slot's clean.json only.
func (s *Slot) BootTime() time.Duration {
	s.mu.Lock()
	vs := s.Slot
	s.mu.Unlock()
	if vs != nil {
		if cs, err := vs.Clean(); err == nil {
			return cs.BootTime
		}
	}
	return 0
}
