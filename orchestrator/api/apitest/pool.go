package apitest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
)

// FakePool is an in-memory api.PoolService: edits change its slot list at
// once (a real removal waits for the slot's job). Safe for concurrent use.
type FakePool struct {
	mu     sync.Mutex
	slots  []api.PoolSlot
	Health api.PoolHealth // returned by PoolHealth when Status is set
	Calls  []string       // "add NAME", "remove NAME", ...
}

// NewFakePool returns a pool with the named idle slots.
func NewFakePool(names ...string) *FakePool {
	p := &FakePool{}
	at := time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)
	for _, n := range names {
		p.slots = append(p.slots, api.PoolSlot{Name: n, State: "idle", Since: at, Host: "host1", Domain: "smn-test-" + n,
			MemoryMiB: 256, Network: "none", Origin: "config",
			Transitions: []api.SlotTransition{{At: at, From: "preparing", To: "idle", Reason: "clean state ready"}}})
	}
	return p
}

// Pool lists the slots.
func (p *FakePool) Pool(ctx context.Context) api.PoolList {
	p.mu.Lock()
	defer p.mu.Unlock()
	return api.PoolList{Slots: slices.Clone(p.slots), QuarantineAfter: 3}
}

// PoolHealth returns Health if set, else "ok" with every slot healthy.
func (p *FakePool) PoolHealth(ctx context.Context) api.PoolHealth {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Health.Status != "" {
		return p.Health
	}
	h := api.PoolHealth{Status: "ok", QuarantineAfter: 3, Serving: len(p.slots)}
	for _, s := range p.slots {
		h.Slots = append(h.Slots, api.SlotHealth{Name: s.Name, State: s.State, Healthy: true, Transitions: s.Transitions})
	}
	return h
}

// AddSlot appends a slot; a duplicate name is api.ErrConflict.
func (p *FakePool) AddSlot(ctx context.Context, req api.SlotRequest) (api.PoolChange, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Calls = append(p.Calls, "add "+req.Name)
	if slices.ContainsFunc(p.slots, func(s api.PoolSlot) bool { return s.Name == req.Name }) {
		return api.PoolChange{}, fmt.Errorf("slot %q: %w", req.Name, api.ErrConflict)
	}
	if req.MemoryMiB == 0 {
		req.MemoryMiB = 256
	}
	if req.Network == "" {
		req.Network = "none"
	}
	s := api.PoolSlot{Name: req.Name, State: "preparing", MemoryMiB: req.MemoryMiB, Network: req.Network, Tags: req.Tags, Origin: "api"}
	p.slots = append(p.slots, s)
	return api.PoolChange{Action: "add", Slot: s}, nil
}

func (p *FakePool) edit(action, name string, f func(i int)) (api.PoolChange, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Calls = append(p.Calls, action+" "+name)
	i := slices.IndexFunc(p.slots, func(s api.PoolSlot) bool { return s.Name == name })
	if i < 0 {
		return api.PoolChange{}, fmt.Errorf("no such slot %q: %w", name, api.ErrNotFound)
	}
	s := p.slots[i]
	f(i)
	ch := api.PoolChange{Action: action, Slot: s}
	if i < len(p.slots) && p.slots[i].Name == name {
		ch.Slot = p.slots[i]
	}
	if action == "remove" && len(p.slots) == 0 {
		ch.Warnings = []string{"no other slot can take jobs"}
	}
	return ch, nil
}

// RemoveSlot deletes a slot at once.
func (p *FakePool) RemoveSlot(ctx context.Context, name string) (api.PoolChange, error) {
	return p.edit("remove", name, func(i int) { p.slots = slices.Delete(p.slots, i, i+1) })
}

// DrainSlot marks a slot draining.
func (p *FakePool) DrainSlot(ctx context.Context, name string) (api.PoolChange, error) {
	return p.edit("drain", name, func(i int) { p.slots[i].State = "draining" })
}

// ResetSlot marks a slot preparing.
func (p *FakePool) ResetSlot(ctx context.Context, name string) (api.PoolChange, error) {
	return p.edit("reset", name, func(i int) { p.slots[i].State = "preparing" })
}

// UndrainSlot marks a slot idle.
func (p *FakePool) UndrainSlot(ctx context.Context, name string) (api.PoolChange, error) {
	return p.edit("undrain", name, func(i int) { p.slots[i].State = "idle" })
}

var _ api.PoolService = (*FakePool)(nil)
