package daemon

// Remote hypervisor hosts (issue 16, docs/scale-out.md): the slots of each
// Config.Hosts entry run on that host through package hosts. The daemon
// starts the hosts, gives the pool their slots and a pool.Placement, gives
// the analysis their hypervisors, and tells the pool when a host goes down
// or comes back.

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/hosts"
	"github.com/scalemalnet/scalemalnet/orchestrator/pool"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// startHosts starts managing the configured remote hosts (connect, upload
// and check the image, watch) in the background. It needs d.img. The set
// exists even without hosts, so that a configuration reload can add one.
func (d *Daemon) startHosts() error {
	set := d.hostSet()
	for _, h := range d.cfg.Hosts {
		if err := set.Add(h); err != nil {
			return fmt.Errorf("%w: %w", ErrBadSlot, err)
		}
	}
	d.hostsMu.Lock()
	d.curHosts = slices.Clone(d.cfg.Hosts)
	d.hostsMu.Unlock()
	return nil
}

// hostSet is the set of remote hosts, made on first use.
func (d *Daemon) hostSet() *hosts.Set {
	d.hostsMu.Lock()
	defer d.hostsMu.Unlock()
	if d.hosts == nil {
		d.hosts = hosts.New(d.img, d.hostOpener, d.log.With("component", "hosts"), d.hostChanged)
	}
	return d.hosts
}

// applyHosts makes the running hosts those of a reloaded configuration,
// live: a new host is added (it connects and receives the image in the
// background; its slots join the pool now and prepare once it is up); a
// host no longer configured loses its slots (the pool removes them as it
// removes any slot, after their current job) and its connection is closed
// once none is left. A host whose settings changed keeps its running ones
// until a restart (restart names it). It returns the slots of the running
// hosts.
func (d *Daemon) applyHosts(want []hosts.Config) (slots []SlotConfig, restart []string) {
	set := d.hostSet()
	d.hostsMu.Lock()
	defer d.hostsMu.Unlock()
	cur := map[string]hosts.Config{}
	for _, h := range d.curHosts {
		cur[h.Name] = h
	}
	var next []hosts.Config
	for _, h := range want {
		old, ok := cur[h.Name]
		delete(cur, h.Name)
		switch {
		case !ok:
			if err := set.Add(h); err != nil {
				d.log.Error("host not added", "host", h.Name, "err", err)
				continue
			}
			d.log.Info("host added by the configuration", "host", h.Name, "uri", h.URI, "slots", h.Slots)
			next = append(next, h)
		case !reflect.DeepEqual(old, h):
			restart = append(restart, "pool.host "+h.Name)
			next = append(next, old)
		default:
			next = append(next, old)
		}
	}
	for name := range cur {
		d.log.Info("host removed by the configuration; its slots leave the pool after their current job", "host", name)
		go d.retireHost(name)
	}
	d.curHosts = next
	return hostSlots(next, d.cfg.MemoryMiB), restart
}

// retireHost closes a removed host's connection once the pool has no slot
// on it any more.
func (d *Daemon) retireHost(name string) {
	for {
		if _, err := d.hostSet().Status(name); err != nil {
			return // closed with the daemon
		}
		if p := d.hostPool.Load(); p == nil || !p.HostInUse(name) {
			break
		}
		time.Sleep(time.Second)
	}
	if err := d.hostSet().Remove(name); err != nil {
		d.log.Warn("remove host", "host", name, "err", err)
		return
	}
	d.log.Info("host removed", "host", name)
}

func (d *Daemon) closeHosts() {
	d.hostsMu.Lock()
	set := d.hosts
	d.hostsMu.Unlock()
	if set != nil {
		set.Close()
	}
}

// hostSlots are the slots the hosts define: <host>-0, <host>-1, ...
func hostSlots(hs []hosts.Config, memoryMiB int) []SlotConfig {
	var out []SlotConfig
	for _, h := range hs {
		for i := range h.Slots {
			out = append(out, SlotConfig{Name: fmt.Sprintf("%s-%d", h.Name, i), Host: h.Name,
				MemoryMiB: int(cmp.Or(h.MemoryMiB, uint(memoryMiB), 256))})
		}
	}
	return out
}

// placement is the pool's view of the hosts (also of those a reload adds).
func (d *Daemon) placement() pool.Placement { return hostPlacement{d} }

// hostHypervisor is the analysis's view of a remote host's hypervisor.
func (d *Daemon) hostHypervisor(host string) vm.Hypervisor { return d.hostSet().Hypervisor(host) }

type hostPlacement struct{ d *Daemon }

func (h hostPlacement) Hypervisor(host string) vm.Hypervisor { return h.d.hostSet().Hypervisor(host) }

// Place gives a remote slot its host's image and state paths.
func (h hostPlacement) Place(host string, spec vm.Spec) (vm.Spec, error) {
	set := h.d.hostSet()
	img, err := set.HostImage(host)
	if err != nil {
		return spec, err
	}
	spec.Image = img
	return set.SlotSpec(host, spec)
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
func (d *Daemon) HostStatuses() []hosts.Status { return d.hostSet().Statuses() }
