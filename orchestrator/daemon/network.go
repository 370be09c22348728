package daemon

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// Guest networks are opt-in twice: a slot has a network device only when
// its configuration says so (vm.Spec.Network; its clean state is made with
// that device), and a job gets such a slot only when it asks for the same
// mode (jobs.Options.Network). A job without network never runs on a slot
// with one, and the other way round.

// accepts reports whether the slot may run j: its network mode must be the
// job's. It reads the spec of the slot's VM (the devices its clean state
// really has), so only the slot's worker may call it (ClaimNext's filter).
// The slot must also have every tag the job asks for (jobs.Options.Tags).
func (s *slotState) accepts(j jobs.Job) bool {
	return s.Spec().Network == j.Options.Network && j.Options.TagsIn(s.tags())
}

// fits reports whether the slot's definition suits j (network mode and
// tags), whatever its state; safe from any goroutine.
func (s *slotState) fits(j jobs.Job) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.def.Network == j.Options.Network && j.Options.TagsIn(s.def.Tags)
}

// tags returns the slot's current tags (they change in place on reload).
func (s *slotState) tags() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.def.Tags)
}

// checkNetworkAvailable refuses, at submission, a job whose network mode no
// slot of the pool has: it would wait in the queue forever. The error wraps
// jobs.ErrInvalid (400 through the API). opts must be normalized. With no
// slots at all the job is accepted and waits.
func (d *Daemon) checkNetworkAvailable(opts jobs.Options) error {
	if opts.Network == jobs.NetworkUser && !d.cfg.AllowUserNetwork {
		return fmt.Errorf("%w: %w", jobs.ErrInvalid, ErrUserNetworkOff)
	}
	slots := d.poolSlots()
	if len(slots) == 0 {
		return nil // no pool (yet): nothing to judge by
	}
	have := map[string]int{}
	for _, s := range slots {
		have[vm.NetworkName(s.network())]++
	}
	want := vm.NetworkName(opts.Network)
	if have[want] > 0 {
		return nil
	}
	var parts []string
	for mode, n := range have {
		parts = append(parts, fmt.Sprintf("%d with network %s", n, mode))
	}
	sort.Strings(parts)
	if opts.Network == jobs.NetworkNone {
		return fmt.Errorf("%w: no slot without network in this orchestrator's pool (%s): submit with the network of a slot, or configure a slot with no network",
			jobs.ErrInvalid, strings.Join(parts, ", "))
	}
	return fmt.Errorf("%w: network %q requested, but no slot of this orchestrator's pool has network %s (%s); an operator must configure one (slot setting network: %s)",
		jobs.ErrInvalid, want, want, strings.Join(parts, ", "), want)
}

// agentInfo is what the slot checks of an agent's Hello, including the
// guest's network interfaces (at most proto.MaxNetInterfaces).
func agentInfo(h proto.Hello) vm.AgentInfo {
	info := vm.AgentInfo{BootID: h.BootID, Runs: h.Runs, Kernel: h.Kernel, AgentVersion: h.AgentVersion}
	for i, n := range h.Net {
		if i == proto.MaxNetInterfaces {
			break
		}
		info.Interfaces = append(info.Interfaces, vm.GuestInterface{Name: n.Name, Up: n.Up, Addrs: capped(n.Addrs, 16)})
	}
	return info
}

// setNetwork records in the report's machine the slot's network mode and
// the interfaces the guest reported at the handshake.
func (r *jobRun) setNetwork(m *report.Machine) {
	mode := r.slot.Spec().Network
	m.Network = vm.NetworkName(mode)
	for i, n := range r.hello.Net {
		if i == proto.MaxNetInterfaces {
			break
		}
		gi := vm.GuestInterface{Name: n.Name, Up: n.Up, Addrs: capped(n.Addrs, 16)}
		m.Interfaces = append(m.Interfaces, report.NetInterface{Name: n.Name, MAC: n.MAC, Up: n.Up, Addrs: gi.Addrs})
		if (mode == vm.NetworkUser || mode == vm.NetworkIsolated) && m.GuestAddr == "" && gi.Up && gi.HasAddr(vm.UserGuestAddr) {
			m.GuestAddr = vm.UserGuestAddr
		}
	}
}

func capped(l []string, n int) []string {
	if len(l) > n {
		return l[:n]
	}
	return l
}
