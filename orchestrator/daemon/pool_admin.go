package daemon

// Pool administration: drain, remove, reset and add requests, and the
// pool API methods.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// requestDrain asks the slot to stop taking jobs after the current one.
func (s *slotState) requestDrain(reason string) {
	s.mu.Lock()
	if !s.drain {
		s.toLocked(SlotDraining, reason)
		s.drain = true
	}
	s.mu.Unlock()
	s.wakeUp()
}

func (s *slotState) requestRemove(reason string) {
	s.mu.Lock()
	s.remove = true
	if !s.drain {
		s.toLocked(SlotDraining, reason)
		s.drain = true
	}
	s.mu.Unlock()
	s.wakeUp()
}

func (s *slotState) requestRespec(c SlotConfig, reason string) {
	s.mu.Lock()
	s.respec = &c
	if !s.drain {
		s.toLocked(SlotDraining, reason)
		s.drain = true
	}
	s.mu.Unlock()
	s.wakeUp()
}

func (s *slotState) requestReset() {
	s.mu.Lock()
	s.reset = true
	s.mu.Unlock()
	s.wakeUp()
}

// --- operations (API and reload) ---

// running returns whether workers can be started (Serve is running).
func (d *Daemon) runningLocked() bool { return d.pool.ctx != nil && d.pool.ctx.Err() == nil }

// addSlotLocked defines and starts a slot. d.pool.mu must be held.
func (d *Daemon) addSlotLocked(c SlotConfig, origin, reason string) (*slotState, error) {
	if len(d.slots) >= MaxSlots {
		return nil, ErrPoolTooBig
	}
	s, err := d.newSlot(c, origin)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSlot, err)
	}
	s.toLocked(SlotPreparing, reason)
	d.slots = append(d.slots, s)
	d.startWorkerLocked(s)
	return s, nil
}

// AddSlot adds a slot through the API; the edit is kept in pool.json.
func (d *Daemon) AddSlot(ctx context.Context, req api.SlotRequest) (api.PoolChange, error) {
	c := SlotConfig{Name: req.Name, MemoryMiB: req.MemoryMiB, Network: req.Network, Tags: slices.Clone(req.Tags)}
	if err := c.Normalize(d.cfg.MemoryMiB); err != nil {
		return api.PoolChange{}, err
	}
	d.pool.mu.Lock()
	defer d.pool.mu.Unlock()
	if !d.runningLocked() {
		return api.PoolChange{}, ErrNotServing
	}
	for _, s := range d.slots {
		if s.name == c.Name {
			return api.PoolChange{}, fmt.Errorf("%w: %q (state %s)", ErrSlotExists, c.Name, s.current())
		}
	}
	ov := d.pool.overlay
	origin, reason := OriginAPI, "added through the API"
	var warnings []string
	ov.Added = slices.DeleteFunc(slices.Clone(ov.Added), func(a SlotConfig) bool { return a.Name == c.Name })
	// Re-adding a configured slot that was removed through the API undoes
	// the removal: the configuration defines it again (and later changes
	// to it in the file apply), unless the request gives another definition.
	bi := slices.IndexFunc(d.pool.base, func(b SlotConfig) bool { return b.Name == c.Name })
	if slices.Contains(ov.Removed, c.Name) && bi >= 0 {
		ov.Removed = slices.DeleteFunc(slices.Clone(ov.Removed), func(n string) bool { return n == c.Name })
		b := d.pool.base[bi]
		bare := req.MemoryMiB == 0 && req.Network == "" && req.Tags == nil
		if bare || !needsRebuild(b, c) && slices.Equal(b.Tags, c.Tags) {
			c, origin, reason = b, d.pool.baseOrigin, "removal undone through the API: defined by the configuration again"
		} else {
			ov.Added = append(ov.Added, c)
			warnings = append(warnings, fmt.Sprintf("slot %s is defined by this request, not by the configuration (%s): "+
				"configuration changes to it are not applied while pool.json holds it (pool health shows it)", c.Name, defChange(b, c)))
		}
	} else {
		ov.Added = append(ov.Added, c)
	}
	if err := saveOverlay(d.poolFile(), ov); err != nil {
		return api.PoolChange{}, err
	}
	d.pool.overlay = ov
	s, err := d.addSlotLocked(c, origin, reason)
	if err != nil {
		return api.PoolChange{}, err
	}
	d.log.Info("pool change applied", "change", "add", "slot", c.Name, "memory_mib", c.MemoryMiB, "network", vm.NetworkName(c.Network), "by", "api")
	return api.PoolChange{Action: "add", Slot: s.snapshot(d.pool.host, false), Warnings: warnings}, nil
}

// RemoveSlot drains a slot and then deletes it; the edit is kept in
// pool.json.
func (d *Daemon) RemoveSlot(ctx context.Context, name string) (api.PoolChange, error) {
	d.pool.mu.Lock()
	s := d.findLocked(name)
	if s == nil {
		d.pool.mu.Unlock()
		return api.PoolChange{}, fmt.Errorf("%w: %q", ErrNoSlot, name)
	}
	s.mu.Lock()
	removing := s.remove
	s.mu.Unlock()
	if removing {
		d.pool.mu.Unlock()
		return api.PoolChange{}, fmt.Errorf("%w: %q", ErrSlotBusy, name)
	}
	ov := d.pool.overlay
	if slices.ContainsFunc(ov.Added, func(a SlotConfig) bool { return a.Name == name }) {
		ov.Added = slices.DeleteFunc(slices.Clone(ov.Added), func(a SlotConfig) bool { return a.Name == name })
	}
	if slices.ContainsFunc(d.pool.base, func(c SlotConfig) bool { return c.Name == name }) && !slices.Contains(ov.Removed, name) {
		ov.Removed = append(slices.Clone(ov.Removed), name)
	}
	if err := saveOverlay(d.poolFile(), ov); err != nil {
		d.pool.mu.Unlock()
		return api.PoolChange{}, err
	}
	d.pool.overlay = ov
	others := 0
	for _, o := range d.slots {
		if o != s && o.serviceable() {
			others++
		}
	}
	s.requestRemove("removal requested through the API")
	d.pool.mu.Unlock()
	d.log.Info("pool change applied", "change", "remove", "slot", name, "by", "api")
	ch := api.PoolChange{Action: "remove", Slot: s.snapshot(d.pool.host, false)}
	if others == 0 {
		if n, err := d.store.Count(jobs.Queued); err == nil && n > 0 {
			ch.Warnings = append(ch.Warnings, fmt.Sprintf("no other slot can take jobs: %d queued jobs wait until a slot is added or healed", n))
		} else {
			ch.Warnings = append(ch.Warnings, "no other slot can take jobs: new submissions will wait until a slot is added or healed")
		}
	}
	return ch, nil
}

// DrainSlot stops a slot taking jobs after its current one. It stays
// drained until reset or removed (not persisted: a restart undrains it).
func (d *Daemon) DrainSlot(ctx context.Context, name string) (api.PoolChange, error) {
	s := d.slotByName(name)
	if s == nil {
		return api.PoolChange{}, fmt.Errorf("%w: %q", ErrNoSlot, name)
	}
	s.requestDrain("drain requested through the API")
	d.log.Info("pool change applied", "change", "drain", "slot", name, "by", "api")
	return api.PoolChange{Action: "drain", Slot: s.snapshot(d.pool.host, false)}, nil
}

// UndrainSlot lifts a drain: the slot takes jobs again with the clean
// state it has, without a cold boot. A slot being removed or waiting for a
// rebuild cannot be undrained (409); one not drained is left as it is,
// with a warning.
func (d *Daemon) UndrainSlot(ctx context.Context, name string) (api.PoolChange, error) {
	s := d.slotByName(name)
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
		d.notify()
		d.log.Info("pool change applied", "change", "undrain", "slot", name, "by", "api")
	}
	ch.Slot = s.snapshot(d.pool.host, false)
	return ch, nil
}

// ResetSlot discards a slot's clean state (after its current job) and makes
// a new one from a cold boot; it also lifts a drain or a quarantine.
func (d *Daemon) ResetSlot(ctx context.Context, name string) (api.PoolChange, error) {
	s := d.slotByName(name)
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
	d.log.Info("pool change applied", "change", "reset", "slot", name, "by", "api")
	return api.PoolChange{Action: "reset", Slot: s.snapshot(d.pool.host, false)}, nil
}

func (d *Daemon) findLocked(name string) *slotState {
	for _, s := range d.slots {
		if s.name == name {
			return s
		}
	}
	return nil
}

// snapshot is what the API shows of a slot.
func (s *slotState) snapshot(host string, withLog bool) api.PoolSlot {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := api.PoolSlot{
		Name: s.name, State: s.state, Since: s.since, Job: s.job, Host: cmp.Or(s.def.Host, host), Domain: s.domain, // issue 16 hook: remote host
		MemoryMiB: s.def.MemoryMiB, Network: vm.NetworkName(s.def.Network), Tags: slices.Clone(s.def.Tags),
		Origin: s.origin, Analyses: s.done, ConsecutiveFailures: s.failures, LastError: s.lastErr,
		Quarantined: s.quarantined,
	}
	if !s.lastErrAt.IsZero() {
		t := s.lastErrAt
		p.LastErrorAt = &t
	}
	if !s.cleanBuilt.IsZero() {
		t := s.cleanBuilt.UTC()
		p.CleanStateBuilt = &t
	}
	switch {
	case s.remove:
		p.Pending = "remove"
	case s.respec != nil:
		p.Pending = "rebuild: " + defChange(s.def, *s.respec)
	case s.reset:
		p.Pending = "reset"
	}
	if withLog {
		p.Transitions = slices.Clone(s.transitions)
	}
	return p
}

// Pool lists the slots, with their transition logs.
func (d *Daemon) Pool(ctx context.Context) api.PoolList {
	out := api.PoolList{Slots: []api.PoolSlot{}, QuarantineAfter: int(d.pool.quarantineAfter.Load()), ConfigFile: d.cfg.ConfigFile}
	for _, s := range d.poolSlots() {
		out.Slots = append(out.Slots, s.snapshot(d.pool.host, true))
	}
	return out
}

// PoolHealth says whether every slot can take jobs, and why not.
func (d *Daemon) PoolHealth(ctx context.Context) api.PoolHealth {
	h := api.PoolHealth{Status: "ok", Slots: []api.SlotHealth{}, QuarantineAfter: int(d.pool.quarantineAfter.Load())}
	for _, s := range d.poolSlots() {
		p := s.snapshot(d.pool.host, true)
		sh := api.SlotHealth{Name: p.Name, State: p.State, Healthy: true, ConsecutiveFailures: p.ConsecutiveFailures,
			LastError: p.LastError, LastErrorAt: p.LastErrorAt, CleanStateBuilt: p.CleanStateBuilt, Transitions: p.Transitions}
		switch p.State {
		case SlotQuarantined, SlotBroken:
			sh.Healthy = false
			h.Problems = append(h.Problems, fmt.Sprintf("slot %s is %s: %s", p.Name, p.State, p.LastError))
		}
		if p.Quarantined && p.State != SlotQuarantined {
			sh.Healthy = false
			h.Problems = append(h.Problems, fmt.Sprintf("slot %s is quarantined (%s): %s", p.Name, p.State, p.LastError))
		}
		if sh.Healthy && (p.State == SlotIdle || p.State == SlotBusy || p.State == SlotRestoring) {
			h.Serving++
		}
		h.Slots = append(h.Slots, sh)
	}
	if len(h.Slots) == 0 {
		h.Problems = append(h.Problems, "the pool has no slots")
	}
	d.pool.reloadMu.Lock()
	h.ReloadError = d.pool.reloadErr
	if !d.pool.reloadErrAt.IsZero() {
		t := d.pool.reloadErrAt
		h.ReloadErrorAt = &t
	}
	if !d.pool.lastReload.IsZero() {
		t := d.pool.lastReload
		h.LastReload = &t
	}
	h.Warnings = slices.Clone(d.pool.restartNeeded)
	d.pool.reloadMu.Unlock()
	d.pool.mu.RLock()
	h.Warnings = append(d.pool.overlay.conflicts(d.pool.base), h.Warnings...)
	d.pool.mu.RUnlock()
	if h.ReloadError != "" {
		for _, line := range strings.Split(h.ReloadError, "\n") {
			h.Problems = append(h.Problems, "configuration reload failed (running configuration kept): "+line)
		}
	}
	h.Problems = append(h.Problems, d.stuckReasons()...)
	if len(h.Problems) > 0 {
		h.Status = "degraded"
	}
	return h
}
