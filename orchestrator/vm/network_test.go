package vm

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"libvirt.org/go/libvirtxml"
)

func TestDomainXMLNoInterfaceByDefault(t *testing.T) {
	for _, mode := range []string{"", NetworkNone} {
		s := testSpec(t, "smn-test-nonet")
		s.Network = mode
		x, err := DomainXML(s)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(x, "<interface") {
			t.Fatalf("network %q: domain has an interface element:\n%s", mode, x)
		}
	}
}

func TestDomainXMLUserNetwork(t *testing.T) {
	s := testSpec(t, "smn-test-net")
	s.Network = NetworkUser
	x, err := DomainXML(s)
	if err != nil {
		t.Fatal(err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(x); err != nil {
		t.Fatalf("unmarshal own XML: %v", err)
	}
	if len(d.Devices.Interfaces) != 1 {
		t.Fatalf("want one interface, got %d:\n%s", len(d.Devices.Interfaces), x)
	}
	i := d.Devices.Interfaces[0]
	if i.Source == nil || i.Source.User == nil {
		t.Fatalf("interface is not type='user':\n%s", x)
	}
	if i.Model == nil || i.Model.Type != "virtio" {
		t.Fatalf("interface model is not virtio:\n%s", x)
	}
	if i.ROM == nil || i.ROM.Enabled != "no" {
		t.Fatalf("option ROM not disabled:\n%s", x)
	}
	if i.MAC == nil || !strings.HasPrefix(i.MAC.Address, "52:54:00:") || i.MAC.Address != stableMAC(s.Name) {
		t.Fatalf("MAC not stable: %+v", i.MAC)
	}
	if !strings.Contains(x, `<interface type="user">`) {
		t.Fatalf("XML lacks <interface type=\"user\">:\n%s", x)
	}
	if len(i.PortForward) != 0 || i.Backend != nil {
		t.Fatalf("no port forwards or other backends expected: %+v", i)
	}
	if stableMAC("smn-a-slot0") == stableMAC("smn-a-slot1") {
		t.Fatal("MACs of two slots collide")
	}
}

func TestNormalizeNetwork(t *testing.T) {
	for in, want := range map[string]string{"": NetworkNone, "none": NetworkNone, "None": NetworkNone, "user": NetworkUser, " USER ": NetworkUser} {
		got, err := NormalizeNetwork(in)
		if err != nil || got != want {
			t.Errorf("NormalizeNetwork(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"bridge", "tap", "passt", "user,hostfwd=tcp::22-:22"} {
		if _, err := NormalizeNetwork(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("NormalizeNetwork(%q): %v, want ErrConfig", bad, err)
		}
	}
	s := testSpec(t, "smn-x")
	s.Network = "bridge"
	if err := s.Validate(); !errors.Is(err, ErrConfig) {
		t.Fatalf("spec with network bridge: %v", err)
	}
	s.Network = "none" // must be normalized before it reaches a Spec
	if err := s.Validate(); !errors.Is(err, ErrConfig) {
		t.Fatalf("spec with network none: %v", err)
	}
}

func TestLibvirtUserNetworkTestDriver(t *testing.T) {
	ctx := context.Background()
	hv := testHV(t)
	s := testSpec(t, "smn-unit-net0")
	s.Network = NetworkUser
	x, _ := DomainXML(s)
	if err := hv.Create(ctx, x); err != nil {
		t.Fatalf("create with a user-mode NIC: %v", err)
	}
	if err := hv.Destroy(ctx, s.Name); err != nil {
		t.Fatal(err)
	}
}

// TestSlotNetworkChecks: a clean state is tied to the network mode it was
// made with, and the guest's interfaces must match the slot's mode.
func TestSlotNetworkChecks(t *testing.T) {
	hv := testHV(t)
	spec := testSpec(t, "smn-unit-netcycle")
	spec.Network = NetworkUser
	s, err := NewSlot("slot0", spec, hv, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.hv = &relisten{Hypervisor: hv, path: spec.ChannelPath, t: t}
	up := GuestInterface{Name: "eth0", Up: true, Addrs: []string{"10.0.2.15/24"}}
	ctx := context.Background()

	// A guest that did not bring its NIC up is no clean state.
	if _, err := s.Prepare(ctx, func(context.Context, net.Conn) (AgentInfo, error) {
		return AgentInfo{BootID: "b", Interfaces: []GuestInterface{{Name: "eth0"}}}, nil
	}); !errors.Is(err, ErrAgent) {
		t.Fatalf("prepare with NIC down: %v, want ErrAgent", err)
	}
	if _, err := s.Prepare(ctx, func(context.Context, net.Conn) (AgentInfo, error) {
		return AgentInfo{BootID: "b", Interfaces: []GuestInterface{up}}, nil
	}); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	cs, err := s.Clean()
	if err != nil || cs.Network != NetworkUser {
		t.Fatalf("clean: %+v %v", cs, err)
	}
	if err := s.Verify(AgentInfo{BootID: "b", Interfaces: []GuestInterface{up}}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if err := s.Verify(AgentInfo{BootID: "b"}); !errors.Is(err, ErrNoCleanState) {
		t.Fatalf("verify without NIC: %v, want ErrNoCleanState", err)
	}
	if err := s.Destroy(ctx); err != nil {
		t.Fatal(err)
	}

	// The slot's mode changes (pool reconfigured): the saved state, whose
	// embedded XML has the NIC, must not be used.
	s.spec.Network = NetworkNone
	if _, err := s.Clean(); !errors.Is(err, ErrNoCleanState) {
		t.Fatalf("clean state after network change: %v, want ErrNoCleanState", err)
	}
	// And a guest without network must not show any interface.
	if err := s.checkNetwork(AgentInfo{Interfaces: []GuestInterface{up}}); err == nil {
		t.Fatal("a NIC in a slot without network must be refused")
	}
	if err := s.checkNetwork(AgentInfo{}); err != nil {
		t.Fatal(err)
	}
}

// TestDomainXMLIsolatedNetwork: the isolated mode is a virtio NIC on a QEMU
// socket netdev connecting to the responder's port on 127.0.0.1, and a spec
// without the port is refused.
func TestDomainXMLIsolatedNetwork(t *testing.T) {
	s := testSpec(t, "smn-test-iso")
	s.Network = NetworkIsolated
	if _, err := DomainXML(s); !errors.Is(err, ErrConfig) {
		t.Fatalf("isolated without a port: %v, want ErrConfig", err)
	}
	s.NetPort = 40123
	x, err := DomainXML(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(x, `<interface type="client">`) || !strings.Contains(x, `<source address="127.0.0.1" port="40123"`) {
		t.Fatalf("XML lacks the client interface:\n%s", x)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(x); err != nil {
		t.Fatal(err)
	}
	i := d.Devices.Interfaces[0]
	if len(d.Devices.Interfaces) != 1 || i.Source.Client == nil || i.Source.User != nil || i.Model.Type != "virtio" || i.MAC.Address != stableMAC(s.Name) {
		t.Fatalf("interface %+v", i)
	}
	if n, err := NormalizeNetwork(" Isolated "); err != nil || n != NetworkIsolated {
		t.Fatalf("NormalizeNetwork(isolated) = %q, %v", n, err)
	}
	hv := testHV(t)
	if err := hv.Create(context.Background(), x); err != nil {
		t.Fatalf("test driver refuses the client interface: %v", err)
	}
	hv.Destroy(context.Background(), s.Name)
}
