package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// testSlot is a slot with the given network mode, never started (no
// hypervisor).
func testSlot(t *testing.T, id, network string) *slotState {
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
	return &slotState{Slot: s, name: id, def: SlotConfig{Name: id, Network: network}, state: SlotIdle}
}

func TestSlotAcceptsByNetwork(t *testing.T) {
	plain, net := testSlot(t, "plain0", vm.NetworkNone), testSlot(t, "net0", vm.NetworkUser)
	none, user := jobs.Job{}, jobs.Job{Options: jobs.Options{Network: jobs.NetworkUser}}
	switch {
	case !plain.accepts(none):
		t.Error("a slot without network must take jobs without network")
	case plain.accepts(user):
		t.Error("a slot without network must not take network jobs")
	case !net.accepts(user):
		t.Error("a network slot must take network jobs")
	case net.accepts(none):
		t.Error("a network slot must not take jobs without network")
	}
}

// TestClaimByNetwork: through the store's claim, each slot gets only the
// jobs of its network mode, oldest first, whatever the queue order.
func TestClaimByNetwork(t *testing.T) {
	d, _ := storageDaemon(t, Config{MinFreeBytes: -1, AllowUserNetwork: true})
	plain, net := testSlot(t, "plain0", vm.NetworkNone), testSlot(t, "net0", vm.NetworkUser)
	d.slots = []*slotState{plain, net}
	ctx := context.Background()
	var ids []string
	for _, n := range []string{"user", "", "none", "user"} {
		j, err := d.Submit(ctx, "s", strings.NewReader("sample "+n), jobs.Options{Network: n})
		if err != nil {
			t.Fatalf("submit network %q: %v", n, err)
		}
		ids = append(ids, j.ID)
	}
	claim := func(s *slotState) string {
		t.Helper()
		j, ok, err := d.store.ClaimNext(s.ID, s.accepts)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return ""
		}
		if j.Slot != s.ID {
			t.Fatalf("claimed for %s, recorded %s", s.ID, j.Slot)
		}
		return j.ID
	}
	for _, c := range []struct {
		slot *slotState
		want string
	}{
		{plain, ids[1]}, {net, ids[0]}, {plain, ids[2]}, {plain, ""}, {net, ids[3]}, {net, ""},
	} {
		if got := claim(c.slot); got != c.want {
			t.Fatalf("%s claimed %q, want %q (queue %v)", c.slot.ID, got, c.want, ids)
		}
	}
}

func TestSubmitRefusesUnavailableNetwork(t *testing.T) {
	d, h := storageDaemon(t, Config{MinFreeBytes: -1, AllowUserNetwork: true})
	d.slots = []*slotState{testSlot(t, "plain0", vm.NetworkNone), testSlot(t, "plain1", vm.NetworkNone)}
	ctx := context.Background()
	_, err := d.Submit(ctx, "s", strings.NewReader("x"), jobs.Options{Network: jobs.NetworkUser})
	if !errors.Is(err, jobs.ErrInvalid) || !strings.Contains(err.Error(), "no slot") || !strings.Contains(err.Error(), "2 with network none") {
		t.Fatalf("network job with no network slot: %v", err)
	}
	if l, err := d.store.ListJobs(store.ListQuery{}); err != nil || len(l) != 0 {
		t.Fatalf("refused job was stored: %v %v", l, err)
	}
	// Through the API: 400, kind invalid, the reason in the message.
	rec := post(t, h, "/api/v1/jobs?network=user", "x")
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"kind": "invalid"`) || !strings.Contains(rec.Body.String(), "no slot") {
		t.Fatalf("API: %d %s", rec.Code, rec.Body.String())
	}
	if _, err := d.Submit(ctx, "s", strings.NewReader("x"), jobs.Options{}); err != nil {
		t.Fatalf("plain job: %v", err)
	}

	// A pool of network slots only refuses jobs without network.
	d.slots = []*slotState{testSlot(t, "net0", vm.NetworkUser)}
	if _, err := d.Submit(ctx, "s", strings.NewReader("x"), jobs.Options{}); !errors.Is(err, jobs.ErrInvalid) {
		t.Fatalf("plain job with only network slots: %v", err)
	}
	if j, err := d.Submit(ctx, "s", strings.NewReader("x"), jobs.Options{Network: "user"}); err != nil || j.Options.Network != jobs.NetworkUser {
		t.Fatalf("network job: %+v %v", j, err)
	}
}

func TestAgentInfoAndReportNetwork(t *testing.T) {
	h := proto.Hello{BootID: "b", Runs: 0, Net: []proto.NetInterface{
		{Name: "eth0", MAC: "52:54:00:01:02:03", Up: true, Addrs: []string{"10.0.2.15/24", "fe80::1/64"}},
	}}
	info := agentInfo(h)
	if info.BootID != "b" || len(info.Interfaces) != 1 || !info.Interfaces[0].HasAddr("10.0.2.15") {
		t.Fatalf("agent info: %+v", info)
	}
	many := proto.Hello{Net: make([]proto.NetInterface, 100)}
	if n := len(agentInfo(many).Interfaces); n != proto.MaxNetInterfaces {
		t.Fatalf("%d interfaces kept, want at most %d", n, proto.MaxNetInterfaces)
	}

	var m report.Machine
	r := &jobRun{slot: testSlot(t, "net0", vm.NetworkUser), hello: h}
	r.setNetwork(&m)
	if m.Network != "user" || m.GuestAddr != "10.0.2.15" || len(m.Interfaces) != 1 || m.Interfaces[0].MAC != "52:54:00:01:02:03" {
		t.Fatalf("network slot machine: %+v", m)
	}
	m = report.Machine{}
	r = &jobRun{slot: testSlot(t, "plain0", vm.NetworkNone)}
	r.setNetwork(&m)
	if m.Network != "none" || m.GuestAddr != "" || len(m.Interfaces) != 0 {
		t.Fatalf("plain slot machine: %+v", m)
	}
}

// TestUserNetworkOffByDefault: without AllowUserNetwork a job asking for
// user-mode NAT is refused at submission (400, nothing stored) even when a
// slot has it, and a user-mode slot cannot be defined; isolated jobs and
// slots are accepted, and an isolated slot gets its fake internet's port.
func TestUserNetworkOffByDefault(t *testing.T) {
	d, h := storageDaemon(t, Config{MinFreeBytes: -1})
	d.slots = []*slotState{testSlot(t, "net0", vm.NetworkUser), testSlot(t, "iso0", vm.NetworkIsolated)}
	ctx := context.Background()
	_, err := d.Submit(ctx, "s", strings.NewReader("x"), jobs.Options{Network: jobs.NetworkUser})
	if !errors.Is(err, jobs.ErrInvalid) || !errors.Is(err, ErrUserNetworkOff) || !strings.Contains(err.Error(), "allow_user_network") {
		t.Fatalf("user job: %v", err)
	}
	rec := post(t, h, "/api/v1/jobs?network=user", "x")
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "allow_user_network") {
		t.Fatalf("API: %d %s", rec.Code, rec.Body.String())
	}
	if l, err := d.store.ListJobs(store.ListQuery{}); err != nil || len(l) != 0 {
		t.Fatalf("refused job was stored: %v %v", l, err)
	}
	if j, err := d.Submit(ctx, "s", strings.NewReader("x"), jobs.Options{Network: "isolated"}); err != nil || j.Options.Network != jobs.NetworkIsolated {
		t.Fatalf("isolated job: %+v %v", j, err)
	}
	var spec vm.Spec
	if err := d.attachFakeNet(SlotConfig{Name: "u", Network: vm.NetworkUser}, &spec); !errors.Is(err, ErrBadSlot) || !errors.Is(err, ErrUserNetworkOff) {
		t.Fatalf("user slot: %v", err)
	}
	if err := d.attachFakeNet(SlotConfig{Name: "iso0", Network: vm.NetworkIsolated}, &spec); err != nil || spec.NetPort == 0 {
		t.Fatalf("isolated slot: port %d, %v", spec.NetPort, err)
	}
	port := spec.NetPort
	if err := d.attachFakeNet(SlotConfig{Name: "iso0", Network: vm.NetworkIsolated}, &spec); err != nil || spec.NetPort != port {
		t.Fatalf("the slot's responder changed: %d -> %d (%v)", port, spec.NetPort, err)
	}
	d.closeFakeNet("iso0")
	if d.fakeNet("iso0") != nil {
		t.Fatal("responder kept after close")
	}
}
