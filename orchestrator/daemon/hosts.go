package daemon

// Remote hypervisor hosts (issue 16, docs/scale-out.md): the slots of each
// Config.Hosts entry run on that host through package hosts. Everything
// the daemon does for them is here; the hook lines elsewhere are marked
// "issue 16 hook".

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/scalemalnet/scalemalnet/orchestrator/hosts"
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

// hostSlots are the slots the hosts define: <host>-0, <host>-1, ...
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

// slotHV is the hypervisor of a slot: the local connection, or one that
// follows its host's current connection.
func (d *Daemon) slotHV(c SlotConfig) vm.Hypervisor {
	if c.Host == "" || d.hosts == nil {
		return d.hv
	}
	return d.hosts.Hypervisor(c.Host)
}

// remoteSpec completes the spec of a slot on a remote host: the host's
// image paths and its state directory for channel, console and save.
func (d *Daemon) remoteSpec(c SlotConfig, spec *vm.Spec) error {
	if c.Host == "" {
		return nil
	}
	if d.hosts == nil {
		return fmt.Errorf("%w: slot %s: unknown host %q", ErrBadSlot, c.Name, c.Host)
	}
	img, err := d.hosts.HostImage(c.Host)
	if err != nil {
		return fmt.Errorf("%w: slot %s: %w", ErrBadSlot, c.Name, err)
	}
	spec.Image = img
	s, err := d.hosts.SlotSpec(c.Host, *spec)
	if err != nil {
		return fmt.Errorf("%w: slot %s: %w", ErrBadSlot, c.Name, err)
	}
	*spec = s
	return nil
}

// hostChanged wakes the slots of a host whose state changed: on "down"
// they fail at once with the host's reason (and their jobs go back to the
// queue for other slots); on "up" they are reset: a new clean state now,
// instead of at the end of their backoff, and out of quarantine.
func (d *Daemon) hostChanged(st hosts.Status) {
	d.log.Info("host state", "host", st.Name, "state", st.State, "reason", st.Reason, "generation", st.Generation)
	for _, s := range d.poolSlots() {
		if s.def.Host != st.Name {
			continue
		}
		switch st.State {
		case hosts.StateDown:
			s.mu.Lock()
			s.lastErr = "host " + st.Name + " down: " + strings.TrimSpace(st.Reason)
			s.mu.Unlock()
			s.wakeUp()
		case hosts.StateUp:
			// A new connection: the host may have lost its VMs (libvirtd
			// or the machine restarted). Make a new clean state now, which
			// also lifts a quarantine earned while the host was away.
			s.requestReset()
		}
	}
}

// HostStatuses is the state of each remote host (for pool health).
func (d *Daemon) HostStatuses() []hosts.Status {
	if d.hosts == nil {
		return nil
	}
	return d.hosts.Statuses()
}
