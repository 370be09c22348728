package vm

import (
	"crypto/sha256"
	"fmt"
	"strings"

	"libvirt.org/go/libvirtxml"
)

// Guest network modes of a slot (Spec.Network).
const (
	// NetworkNone: the domain has no <interface> at all; the guest has
	// only loopback. The default.
	NetworkNone = ""
	// NetworkUser: one virtio NIC on QEMU's user-mode network stack
	// (libvirt <interface type='user'>, QEMU -netdev user, i.e. libslirp).
	// No host bridge, tap device or privileges are needed. The guest sits
	// behind NAT on 10.0.2.0/24 (address 10.0.2.15, gateway 10.0.2.2,
	// DNS 10.0.2.3) and can open outbound TCP and UDP connections to
	// anything the host can reach; 10.0.2.2 is the host's own loopback.
	// Nothing can connect into the guest (no port forwards are defined).
	NetworkUser = "user"
	// NetworkIsolated: one virtio NIC whose frames go to the slot's fake
	// internet (orchestrator/fakenet), a user-space network stack in the
	// orchestrator that answers DNS, accepts TCP on every port and routes
	// nowhere. libvirt <interface type='client'>: QEMU's socket netdev
	// connects to the responder's port on 127.0.0.1 (Spec.NetPort) and
	// carries Ethernet frames over it; no tap device, bridge or host socket
	// is opened for the guest. The guest has the user-mode addresses.
	NetworkIsolated = "isolated"
)

// User-mode network addresses (QEMU's slirp defaults), as the guest agent
// configures them.
const (
	UserGuestAddr = "10.0.2.15"
	UserGateway   = "10.0.2.2" // also the host's 127.0.0.1
	UserDNS       = "10.0.2.3"
)

// NormalizeNetwork maps a configured network mode to its canonical form:
// "" and "none" to NetworkNone, "user" to NetworkUser, "isolated" to
// NetworkIsolated. Anything else is an
// error wrapping ErrConfig.
func NormalizeNetwork(mode string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(mode)) {
	case "", "none":
		return NetworkNone, nil
	case NetworkUser:
		return NetworkUser, nil
	case NetworkIsolated:
		return NetworkIsolated, nil
	}
	return "", fmt.Errorf("%w: network %q (want none, isolated or user)", ErrConfig, mode)
}

// NetworkName is how reports and logs name a mode: "none" or "user".
func NetworkName(mode string) string {
	if mode == NetworkNone {
		return "none"
	}
	return mode
}

// networkInterfaces returns the domain's network devices: none at all for
// NetworkNone, one virtio NIC on user-mode networking for NetworkUser or on
// the slot's fake internet for NetworkIsolated. The
// NIC's option ROM is disabled (direct kernel boot never PXE-boots) and its
// MAC address is derived from the domain name, so it is stable across
// clean-state rebuilds and orchestrator restarts.
func networkInterfaces(s Spec) []libvirtxml.DomainInterface {
	var src libvirtxml.DomainInterfaceSource
	switch s.Network {
	case NetworkUser:
		src.User = &libvirtxml.DomainInterfaceSourceUser{}
	case NetworkIsolated:
		src.Client = &libvirtxml.DomainInterfaceSourceClient{Address: "127.0.0.1", Port: uint(s.NetPort)}
	default:
		return nil
	}
	return []libvirtxml.DomainInterface{{
		MAC:    &libvirtxml.DomainInterfaceMAC{Address: stableMAC(s.Name)},
		Source: &src,
		Model:  &libvirtxml.DomainInterfaceModel{Type: "virtio"},
		ROM:    &libvirtxml.DomainROM{Enabled: "no"},
	}}
}

// stableMAC derives a locally administered unicast MAC address in QEMU's
// 52:54:00 range from a domain name.
func stableMAC(name string) string {
	h := sha256.Sum256([]byte("scalemalnet-mac:" + name))
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", h[0], h[1], h[2])
}

// GuestInterface is a guest network interface as the agent reports it.
type GuestInterface struct {
	Name  string
	Up    bool
	Addrs []string // IPv4 addresses in CIDR form, e.g. "10.0.2.15/24"
}

// HasAddr reports whether the interface carries the IPv4 address addr.
func (g GuestInterface) HasAddr(addr string) bool {
	for _, a := range g.Addrs {
		if ip, _, _ := strings.Cut(a, "/"); ip == addr {
			return true
		}
	}
	return false
}

// checkNetwork verifies that what the agent reports matches the slot's
// network mode: no interface but loopback without a network (a NIC there
// would give a sample a network it was promised not to have), an interface
// up with the user-mode address with one.
func (s *Slot) checkNetwork(info AgentInfo) error {
	switch s.spec.Network {
	case NetworkNone:
		if len(info.Interfaces) > 0 {
			return fmt.Errorf("slot %s has no network, but the guest reports interface %q", s.ID, info.Interfaces[0].Name)
		}
	case NetworkUser, NetworkIsolated:
		for _, g := range info.Interfaces {
			if g.Up && g.HasAddr(UserGuestAddr) {
				return nil
			}
		}
		return fmt.Errorf("slot %s has %s networking, but the guest reports no interface up with %s (interfaces: %v)", s.ID, s.spec.Network, UserGuestAddr, info.Interfaces)
	}
	return nil
}
