package analysis

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/orchestrator/fakenet"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// testLease is a lease on an unstarted slot with the given network mode.
type testLease struct{ s *vm.Slot }

func newTestLease(t *testing.T, id, network string) testLease {
	t.Helper()
	dir := t.TempDir()
	spec := vm.Spec{
		Name: "smn-test-" + id, UUID: vm.StableUUID("smn-test-" + id), Accel: vm.AccelTCG, MemoryMiB: 128, VCPUs: 1,
		Image:       vm.Image{Kernel: "/nonexistent/vmlinux", Initrd: "/nonexistent/initrd"},
		ChannelPath: filepath.Join(dir, "a.sock"), ConsolePath: filepath.Join(dir, "console.log"),
		Network: network,
	}
	if network == vm.NetworkIsolated {
		spec.NetPort = 9 // never connected: the slot is not started
	}
	s, err := vm.NewSlot(id, spec, nil, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return testLease{s}
}

func (l testLease) Name() string                      { return l.s.ID }
func (l testLease) VM() *vm.Slot                      { return l.s }
func (l testLease) Restore(ctx context.Context) error { return nil }
func (l testLease) Verify(proto.Hello) error          { return nil }
func (l testLease) Verified()                         {}
func (l testLease) Failed(error, bool, bool)          {}
func (l testLease) FakeNet() *fakenet.Responder       { return nil }

func TestReportNetwork(t *testing.T) {
	h := proto.Hello{BootID: "b", Runs: 0, Net: []proto.NetInterface{
		{Name: "eth0", MAC: "52:54:00:01:02:03", Up: true, Addrs: []string{"10.0.2.15/24", "fe80::1/64"}},
	}}
	var m report.Machine
	r := &jobRun{lease: newTestLease(t, "net0", vm.NetworkUser), hello: h}
	r.setNetwork(&m)
	if m.Network != "user" || m.GuestAddr != "10.0.2.15" || len(m.Interfaces) != 1 || m.Interfaces[0].MAC != "52:54:00:01:02:03" {
		t.Fatalf("network slot machine: %+v", m)
	}
	m = report.Machine{}
	r = &jobRun{lease: newTestLease(t, "plain0", vm.NetworkNone)}
	r.setNetwork(&m)
	if m.Network != "none" || m.GuestAddr != "" || len(m.Interfaces) != 0 {
		t.Fatalf("plain slot machine: %+v", m)
	}
}
