package pool

// What the pool hands to an analysis (a Lease on a slot for one claimed
// job) and the queue signal that wakes idle slots.

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/orchestrator/agentclient"
	"github.com/scalemalnet/scalemalnet/orchestrator/fakenet"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// Lease is one slot lent to one claimed job, from the claim until
// Config.Run returns (it implements analysis.Lease).
type Lease struct {
	p   *Pool
	s   *Slot
	job string
}

// Name is the slot's name.
func (l *Lease) Name() string { return l.s.name }

// VM is the slot's VM.
func (l *Lease) VM() *vm.Slot { return l.s.Slot }

// Restore starts the VM from the slot's clean state.
func (l *Lease) Restore(ctx context.Context) error { return l.p.restoreSlot(ctx, l.s) }

// Verify checks an agent's hello against the slot's clean state.
func (l *Lease) Verify(h proto.Hello) error { return l.s.Verify(agentInfo(h)) }

// Verified ends the slot's failure streak: restore and handshake went
// through.
func (l *Lease) Verified() { l.s.healthy() }

// Failed records a failed attempt on the slot: its last error and, for a
// clean state that did not come up as saved, the clean state discarded and
// a failure counted towards quarantine (unless the orchestrator stops).
func (l *Lease) Failed(err error, cleanState, stopping bool) {
	l.s.recordError(err.Error())
	if cleanState {
		_ = l.s.Invalidate()
		if !stopping {
			l.p.slotFailed(l.s, "job "+l.job, err) // may quarantine the slot
		}
	}
}

// FakeNet is the slot's fake internet (network isolated), or nil.
func (l *Lease) FakeNet() *fakenet.Responder { return l.p.fakeNet(l.s.name) }

// RecordError keeps err as the named slot's last error (a job that failed
// after its VM); a slot no longer in the pool is ignored.
func (p *Pool) RecordError(slot string, err error) {
	if s := p.Slot(slot); s != nil {
		s.recordError(err.Error())
	}
}

func (s *Slot) recordError(msg string) {
	s.mu.Lock()
	s.lastErr, s.lastErrAt = msg, time.Now().UTC()
	s.mu.Unlock()
}

// ColdBootTimeout bounds making a clean state: cold boot, the agent's
// set-up (the root filesystem, Wine's warm-up: minutes under TCG on a busy
// host) and the save.
const ColdBootTimeout = 8 * time.Minute

// Probe is the cold boot's handshake: the agent answers only once its
// set-up is done, so it may wait up to ColdBootTimeout; then a clean end of
// the session so the saved agent waits for the next host.
func Probe(ctx context.Context, conn net.Conn) (vm.AgentInfo, error) {
	sess, hello, err := agentclient.Handshake(ctx, conn, agentclient.WithHandshakeTimeout(ColdBootTimeout))
	if err != nil {
		return vm.AgentInfo{}, err
	}
	sess.Bye()
	return agentInfo(hello), nil
}

// agentInfo is what the slot checks of an agent's Hello, including the
// guest's network interfaces (at most proto.MaxNetInterfaces).
func agentInfo(h proto.Hello) vm.AgentInfo {
	info := vm.AgentInfo{BootID: h.BootID, Runs: h.Runs, Kernel: h.Kernel, AgentVersion: h.AgentVersion}
	for i, n := range h.Net {
		if i == proto.MaxNetInterfaces {
			break
		}
		addrs := n.Addrs
		if len(addrs) > 16 {
			addrs = addrs[:16]
		}
		info.Interfaces = append(info.Interfaces, vm.GuestInterface{Name: n.Name, Up: n.Up, Addrs: addrs})
	}
	return info
}

// IdleRecheck is how often an idle slot looks at the queue without being
// woken: submissions and re-queues wake every idle slot at once, so this
// only catches changes of which slot may take a retried job (another slot
// quarantined or drained). It was a 500 ms poll (issue 13 finding 11).
var IdleRecheck = 5 * time.Second

// Notify wakes every idle worker after a submission or a re-queue.
func (p *Pool) Notify() {
	p.queueSignal.broadcast()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// broadcaster wakes every waiter at once: wait returns a channel that the next
// broadcast closes. The zero value is ready.
type broadcaster struct {
	mu sync.Mutex
	ch chan struct{}
}

func (s *broadcaster) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *broadcaster) broadcast() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}
