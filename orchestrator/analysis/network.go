package analysis

// The run's view of the guest network: the report's machine section, and
// the isolated mode's capture (the slot's fake internet records a job's run
// from the run step to collect; the pcap becomes the job's traffic.pcap
// artifact and the traffic log the report's network section).

import (
	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// setNetwork records in the report's machine the slot's network mode and
// the interfaces the guest reported at the handshake.
func (r *jobRun) setNetwork(m *report.Machine) {
	mode := r.lease.VM().Spec().Network
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

// beginCapture starts recording the slot's fake internet for this run.
func (r *jobRun) beginCapture() {
	if r.lease.VM().Spec().Network != vm.NetworkIsolated {
		return
	}
	if fn := r.lease.FakeNet(); fn != nil {
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
	aw, err := r.a.Store.CreateArtifact(r.job.ID, defaults.PcapArtifact)
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
