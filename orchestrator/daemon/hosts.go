package daemon

// Remote hypervisor hosts (issue 16, docs/scale-out.md): the slots of each
// Config.Hosts entry run on that host through package hosts. The daemon
// starts the hosts, gives the pool their slots and a pool.Placement, gives
// the analysis their hypervisors, and tells the pool when a host goes down
// or comes back.

import (
	"cmp"
	"fmt"

	"github.com/scalemalnet/scalemalnet/orchestrator/hosts"
	"github.com/scalemalnet/scalemalnet/orchestrator/pool"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// startHosts starts managing the configured remote hosts (connect, upload
// and check the image, watch) in the background. It needs d.img.
func (d *Daemon) startHosts() error {
	if len(d.cfg.Hosts) == 0 {
		return nil
	}
	d.hosts = hosts.New(d.img, nil, d.log.With("component", "hosts"), d.hostChanged)
	for _, h := range d.cfg.Hosts {
		if err := d.hosts.Add(h); err != nil {
			return fmt.Errorf("%w: %w", ErrBadSlot, err)
		}
	}
	return nil
}

func (d *Daemon) closeHosts() {
	if d.hosts != nil {
		d.hosts.Close()
	}
}

// hostSlots are the slots the hosts define: <host>-0, <host>-1, ... They
// apply at start: a change of [[pool.host]] needs a restart.
func (d *Daemon) hostSlots() []SlotConfig {
	var out []SlotConfig
	for _, h := range d.cfg.Hosts {
		for i := range h.Slots {
			out = append(out, SlotConfig{Name: fmt.Sprintf("%s-%d", h.Name, i), Host: h.Name,
				MemoryMiB: int(cmp.Or(h.MemoryMiB, uint(d.cfg.MemoryMiB), 256))})
		}
	}
	return out
}

// placement is the pool's view of the hosts; nil without hosts.
func (d *Daemon) placement() pool.Placement {
	if d.hosts == nil {
		return nil
	}
	return &hostPlacement{d.hosts}
}

// hostHypervisor is the analysis's view of a remote host's hypervisor.
func (d *Daemon) hostHypervisor(host string) vm.Hypervisor {
	if d.hosts == nil {
		return d.hv
	}
	return d.hosts.Hypervisor(host)
}

type hostPlacement struct{ set *hosts.Set }

func (h *hostPlacement) Hypervisor(host string) vm.Hypervisor { return h.set.Hypervisor(host) }

// Place gives a remote slot its host's image and state paths.
func (h *hostPlacement) Place(host string, spec vm.Spec) (vm.Spec, error) {
	img, err := h.set.HostImage(host)
	if err != nil {
		return spec, err
	}
	spec.Image = img
	return h.set.SlotSpec(host, spec)
}

// hostChanged passes a host's new state to its slots: on "down" they fail
// at once with the host's reason (their jobs go back to the queue for
// other slots); on "up" they are reset (a new clean state now, instead of
// at the end of their backoff, and out of quarantine).
func (d *Daemon) hostChanged(st hosts.Status) {
	d.log.Info("host state", "host", st.Name, "state", st.State, "reason", st.Reason, "generation", st.Generation)
	p := d.hostPool.Load() // nil until the pool exists: its slots then start on the host's current state
	if p == nil {
		return
	}
	switch st.State {
	case hosts.StateDown:
		p.HostDown(st.Name, st.Reason)
	case hosts.StateUp:
		p.HostUp(st.Name)
	}
}

// HostStatuses is the state of each remote host (for pool health).
func (d *Daemon) HostStatuses() []hosts.Status {
	if d.hosts == nil {
		return nil
	}
	return d.hosts.Statuses()
}
