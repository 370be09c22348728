package pool

import (
	"fmt"
	"sync"

	"github.com/scalemalnet/scalemalnet/orchestrator/fakenet"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// The isolated network mode: every slot with network "isolated" has its own
// fake internet (fakenet.Responder), started with the slot's spec and kept
// for the slot's life; its port goes into the domain's <interface
// type='client'>. The lease hands it to the job's analysis, which records
// a capture of the run (analysis/network.go).

type fakeNets struct {
	mu sync.Mutex
	m  map[string]*fakenet.Responder // by slot name
}

// attachFakeNet gives an isolated slot's spec its responder's port, starting
// the responder if the slot has none; it refuses a user-mode slot unless
// Config.AllowUserNetwork. Errors wrap ErrBadSlot.
func (p *Pool) attachFakeNet(c SlotConfig, spec *vm.Spec) error {
	switch c.Network {
	case vm.NetworkUser:
		if !p.cfg.AllowUserNetwork {
			return fmt.Errorf("%w: slot %s: %w", ErrBadSlot, c.Name, ErrUserNetworkOff)
		}
		return nil
	case vm.NetworkIsolated:
	default:
		p.closeFakeNet(c.Name) // a slot rebuilt without it
		return nil
	}
	p.fakeNets.mu.Lock()
	defer p.fakeNets.mu.Unlock()
	fn := p.fakeNets.m[c.Name]
	if fn == nil {
		var err error
		fn, err = fakenet.Listen(fakenet.Config{Log: p.log.With("slot", c.Name, "fakenet", true)})
		if err != nil {
			return fmt.Errorf("%w: slot %s: fake internet: %w", ErrBadSlot, c.Name, err)
		}
		if p.fakeNets.m == nil {
			p.fakeNets.m = map[string]*fakenet.Responder{}
		}
		p.fakeNets.m[c.Name] = fn
		p.log.Info("fake internet listening for the slot's QEMU", "slot", c.Name, "addr", fn.Addr(), "port", fn.Port())
	}
	spec.NetPort = fn.Port()
	return nil
}

// ErrUserNetworkOff is why a user-mode slot or job is refused.
var ErrUserNetworkOff = fmt.Errorf("network %q (QEMU user-mode NAT: the guest reaches the host's loopback and every network the host reaches) is disabled; use network %q, or set allow_user_network = true in the configuration", vm.NetworkUser, vm.NetworkIsolated)

func (p *Pool) fakeNet(slot string) *fakenet.Responder {
	p.fakeNets.mu.Lock()
	defer p.fakeNets.mu.Unlock()
	return p.fakeNets.m[slot]
}

func (p *Pool) closeFakeNet(slot string) {
	p.fakeNets.mu.Lock()
	fn := p.fakeNets.m[slot]
	delete(p.fakeNets.m, slot)
	p.fakeNets.mu.Unlock()
	if fn != nil {
		fn.Close()
	}
}

func (p *Pool) closeFakeNets() {
	p.fakeNets.mu.Lock()
	m := p.fakeNets.m
	p.fakeNets.m = nil
	p.fakeNets.mu.Unlock()
	for _, fn := range m {
		fn.Close()
	}
}
