package daemon

import (
	"fmt"
	"sync"

	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"github.com/scalemalnet/scalemalnet/orchestrator/fakenet"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// The isolated network mode: every slot with network "isolated" has its own
// fake internet (fakenet.Responder), started with the slot's spec and kept
// for the slot's life; its port goes into the domain's <interface
// type='client'>. A job's run records a capture (Begin at the run step, End
// at collect), stored as the job's traffic.pcap artifact, and its traffic
// log becomes the report's network section.

type fakeNets struct {
	mu sync.Mutex
	m  map[string]*fakenet.Responder // by slot name
}

// attachFakeNet gives an isolated slot's spec its responder's port, starting
// the responder if the slot has none; it refuses a user-mode slot unless
// Config.AllowUserNetwork. Errors wrap ErrBadSlot.
func (d *Daemon) attachFakeNet(c SlotConfig, spec *vm.Spec) error {
	switch c.Network {
	case vm.NetworkUser:
		if !d.cfg.AllowUserNetwork {
			return fmt.Errorf("%w: slot %s: %w", ErrBadSlot, c.Name, ErrUserNetworkOff)
		}
		return nil
	case vm.NetworkIsolated:
	default:
		d.closeFakeNet(c.Name) // a slot rebuilt without it
		return nil
	}
	d.fakeNets.mu.Lock()
	defer d.fakeNets.mu.Unlock()
	fn := d.fakeNets.m[c.Name]
	if fn == nil {
		var err error
		fn, err = fakenet.Listen(fakenet.Config{Log: d.log.With("slot", c.Name, "fakenet", true)})
		if err != nil {
			return fmt.Errorf("%w: slot %s: fake internet: %w", ErrBadSlot, c.Name, err)
		}
		if d.fakeNets.m == nil {
			d.fakeNets.m = map[string]*fakenet.Responder{}
		}
		d.fakeNets.m[c.Name] = fn
		d.log.Info("fake internet listening for the slot's QEMU", "slot", c.Name, "addr", fn.Addr(), "port", fn.Port())
	}
	spec.NetPort = fn.Port()
	return nil
}

// ErrUserNetworkOff is why a user-mode slot or job is refused.
var ErrUserNetworkOff = fmt.Errorf("network %q (QEMU user-mode NAT: the guest reaches the host's loopback and every network the host reaches) is disabled; use network %q, or set allow_user_network = true in the configuration", vm.NetworkUser, vm.NetworkIsolated)

func (d *Daemon) fakeNet(slot string) *fakenet.Responder {
	d.fakeNets.mu.Lock()
	defer d.fakeNets.mu.Unlock()
	return d.fakeNets.m[slot]
}

func (d *Daemon) closeFakeNet(slot string) {
	d.fakeNets.mu.Lock()
	fn := d.fakeNets.m[slot]
	delete(d.fakeNets.m, slot)
	d.fakeNets.mu.Unlock()
	if fn != nil {
		fn.Close()
	}
}

func (d *Daemon) closeFakeNets() {
	d.fakeNets.mu.Lock()
	m := d.fakeNets.m
	d.fakeNets.m = nil
	d.fakeNets.mu.Unlock()
	for _, fn := range m {
		fn.Close()
	}
}

// beginCapture starts recording the slot's fake internet for this run.
func (r *jobRun) beginCapture() {
	if r.slot.Spec().Network != vm.NetworkIsolated {
		return
	}
	if fn := r.d.fakeNet(r.slot.name); fn != nil {
		fn.Begin()
		r.fakeNet = fn
	}
}

// endCapture stops recording, stores the pcap artifact and keeps the
// traffic log for the report.
func (r *jobRun) endCapture() error {
	fn := r.fakeNet
	if fn == nil {
		return nil
	}
	r.fakeNet = nil
	c := fn.End()
	t := c.Traffic
	aw, err := r.d.store.CreateArtifact(r.job.ID, defaults.PcapArtifact)
	if err != nil {
		return err
	}
	defer aw.Abort()
	if _, err := aw.Write(c.Pcap); err != nil {
		return err
	}
	a, err := aw.Commit()
	if err != nil {
		return err
	}
	t.Pcap = &report.FileRef{Path: a.Path, Format: "pcap", Size: a.Size, SHA256: a.SHA256}
	r.traffic = &t
	return nil
}
