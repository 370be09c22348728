package pool

// Slots on remote hypervisor hosts (issue 16, docs/scale-out.md). The pool
// knows a slot's host only by name (SlotConfig.Host); Placement, which the
// daemon builds on package hosts, gives it the host's hypervisor and image.

import (
	"fmt"
	"strings"

	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// Placement puts slots on remote hosts.
type Placement interface {
	// Hypervisor follows the host's current connection (it fails at once,
	// wrapping vm.ErrHost, while the host is down).
	Hypervisor(host string) vm.Hypervisor
	// Place completes a remote slot's spec: the host's image paths and its
	// state directory for channel, console and saved state.
	Place(host string, spec vm.Spec) (vm.Spec, error)
}

// hypervisorOf is the hypervisor of a slot: the local one, or its host's.
func (p *Pool) hypervisorOf(c SlotConfig) vm.Hypervisor {
	if c.Host == "" || p.cfg.Placement == nil {
		return p.cfg.Hypervisor
	}
	return p.cfg.Placement.Hypervisor(c.Host)
}

// placeRemote completes the spec of a slot on a remote host; a local slot
// is left as it is.
func (p *Pool) placeRemote(c SlotConfig, spec *vm.Spec) error {
	if c.Host == "" {
		return nil
	}
	if p.cfg.Placement == nil {
		return fmt.Errorf("%w: slot %s: unknown host %q", ErrBadSlot, c.Name, c.Host)
	}
	s, err := p.cfg.Placement.Place(c.Host, *spec)
	if err != nil {
		return fmt.Errorf("%w: slot %s: %w", ErrBadSlot, c.Name, err)
	}
	*spec = s
	return nil
}

// HostDown wakes the slots of a host that went down: each fails its next
// step at once with the host's reason, so its job goes back to the queue
// for other slots.
func (p *Pool) HostDown(host, reason string) {
	for _, s := range p.Slots() {
		if s.hostName() != host {
			continue
		}
		s.mu.Lock()
		s.lastErr = "host " + host + " down: " + strings.TrimSpace(reason)
		s.mu.Unlock()
		s.wakeUp()
	}
}

// HostUp resets the slots of a host that came back: it may have lost its
// VMs (libvirtd or the machine restarted), so each makes a new clean state
// now, which also lifts a quarantine earned while the host was away.
func (p *Pool) HostUp(host string) {
	for _, s := range p.Slots() {
		if s.hostName() == host {
			s.requestReset()
		}
	}
}

// HostInUse reports whether a slot on that host is still in the pool.
func (p *Pool) HostInUse(host string) bool {
	for _, s := range p.Slots() {
		if s.hostName() == host {
			return true
		}
	}
	return false
}

// hostName is the slot's remote host ("" local).
func (s *Slot) hostName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.def.Host
}
