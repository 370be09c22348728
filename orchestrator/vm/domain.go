// Package vm is the orchestrator's machinery layer: the guest image, the
// libvirt domain definition of a pool slot, and the slot lifecycle (cold boot
// once to make a clean memory state, restore it per analysis, destroy after).
//
// Everything that talks to libvirt goes through the Hypervisor interface so
// that the lifecycle is unit-tested against libvirt's test driver and runs
// against qemu:///system in production and integration tests.
package vm

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"

	"libvirt.org/go/libvirtxml"
)

// AgentChannel is the virtio-serial port name the guest agent looks for.
const AgentChannel = "org.scalemalnet.agent.0"

// Accelerator types, as libvirt's domain type attribute.
const (
	AccelKVM = "kvm"  // hardware virtualisation
	AccelTCG = "qemu" // QEMU software emulation
)

// DetectAccel returns AccelKVM when /dev/kvm can be opened, AccelTCG
// otherwise. want "kvm" or "qemu" forces a choice; "auto" or "" detects.
func DetectAccel(want string) (string, error) {
	switch want {
	case AccelKVM, AccelTCG:
		return want, nil
	case "", "auto":
		if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
			f.Close()
			return AccelKVM, nil
		}
		return AccelTCG, nil
	}
	return "", fmt.Errorf("%w: accelerator %q (want auto, kvm or qemu)", ErrConfig, want)
}

// Spec is everything needed to define one slot's domain.
type Spec struct {
	Name        string // libvirt domain name, unique per host
	UUID        string // stable per slot: a saved memory image is tied to it
	Accel       string // AccelKVM or AccelTCG
	MemoryMiB   uint
	VCPUs       uint
	Image       Image
	ChannelPath string // host end of the agent's virtio-serial port (unix socket)
	ConsolePath string // guest serial console log
	Emulator    string // QEMU binary; empty lets libvirt choose
	// Network is the slot's guest network: NetworkNone (no network device
	// at all, the default) or NetworkUser (QEMU user-mode networking, NAT
	// through the host), or NetworkIsolated (the fake internet; see
	// NormalizeNetwork).
	Network string
	// NetPort is the port on 127.0.0.1 of the slot's fake internet
	// responder (NetworkIsolated only). It may change between orchestrator
	// runs: a restore then gives the saved VM the new one.
	NetPort int
	// Host names the hypervisor host of a slot on another machine ("" for
	// the local one). With Host set, ChannelPath, ConsolePath and SavePath
	// are paths on that host: the agent channel is opened through libvirt
	// (HostFiles.OpenChannel) and the saved state and console log are
	// reached through libvirt's storage volumes, never the local disk.
	Host string
	// SavePath is where the slot's clean memory state is saved (on Host
	// for a remote slot); "" keeps it in the slot's local directory.
	SavePath string
}

// Remote tells whether the slot's VM runs on another host.
func (s Spec) Remote() bool { return s.Host != "" }

// ErrConfig is wrapped by errors in a slot or pool configuration.
var ErrConfig = errors.New("invalid vm configuration")

// Validate checks the spec before it is turned into XML.
func (s Spec) Validate() error {
	switch {
	case s.Name == "" || s.UUID == "":
		return fmt.Errorf("%w: name and uuid are required", ErrConfig)
	case s.Accel != AccelKVM && s.Accel != AccelTCG:
		return fmt.Errorf("%w: accelerator %q", ErrConfig, s.Accel)
	case s.MemoryMiB < 64:
		return fmt.Errorf("%w: %d MiB of memory is too little", ErrConfig, s.MemoryMiB)
	case s.VCPUs < 1:
		return fmt.Errorf("%w: no vcpus", ErrConfig)
	case s.Image.Kernel == "" || s.Image.Initrd == "":
		return fmt.Errorf("%w: image has no kernel or initrd", ErrConfig)
	case len(s.ChannelPath) > 107:
		return fmt.Errorf("%w: channel socket path longer than 107 bytes: %s", ErrConfig, s.ChannelPath)
	}
	if n, err := NormalizeNetwork(s.Network); err != nil {
		return err
	} else if n != s.Network {
		return fmt.Errorf("%w: network %q must be given as %q", ErrConfig, s.Network, n)
	}
	if s.Remote() && s.Network == NetworkIsolated {
		return fmt.Errorf("%w: host %s: the isolated network needs the fake internet on the orchestrator's 127.0.0.1, which a remote host cannot reach (use none)", ErrConfig, s.Host)
	}
	if s.Remote() && s.SavePath == "" {
		return fmt.Errorf("%w: host %s: a remote slot needs SavePath on that host", ErrConfig, s.Host)
	}
	if s.Network == NetworkIsolated && (s.NetPort <= 0 || s.NetPort > 65535) {
		return fmt.Errorf("%w: isolated network without its responder port (%d)", ErrConfig, s.NetPort)
	}
	return nil
}

// StableUUID derives a UUID from a name, so a slot keeps its UUID (and its
// saved memory image stays valid) across orchestrator restarts.
func StableUUID(name string) string {
	h := sha256.Sum256([]byte("scalemalnet-slot:" + name))
	h[6] = h[6]&0x0f | 0x50 // version 5-like
	h[8] = h[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// Domain builds the libvirt domain of a slot: direct kernel boot of the
// uncompressed guest kernel with the agent in the initramfs, ACPI on (the
// guest needs it for a fine-grained clock), the image's root filesystem as a
// read-only disk when it has one, no graphics, no
// balloon, one virtio-serial channel for the agent and a serial console
// logged to a file. It has no network device unless s.Network asks for one
// (see networkInterfaces). The guest powering off or rebooting destroys it.
func Domain(s Spec) (*libvirtxml.Domain, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	port := uint(0)
	d := &libvirtxml.Domain{
		Type:        s.Accel,
		Name:        s.Name,
		UUID:        s.UUID,
		Description: "ScaleMalNet analysis slot (disposable; managed by the orchestrator)",
		Memory:      &libvirtxml.DomainMemory{Value: s.MemoryMiB, Unit: "MiB"},
		VCPU:        &libvirtxml.DomainVCPU{Placement: "static", Value: s.VCPUs},
		OS: &libvirtxml.DomainOS{
			Type:    &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"},
			Kernel:  s.Image.Kernel,
			Initrd:  s.Image.Initrd,
			Cmdline: s.Image.Cmdline,
		},
		Features: &libvirtxml.DomainFeatureList{
			ACPI: &libvirtxml.DomainFeature{},
			APIC: &libvirtxml.DomainFeatureAPIC{},
		},
		Clock:      &libvirtxml.DomainClock{Offset: "utc"},
		OnPoweroff: "destroy",
		OnReboot:   "destroy",
		OnCrash:    "destroy",
		Devices: &libvirtxml.DomainDeviceList{
			Emulator: s.Emulator,
			Serials: []libvirtxml.DomainSerial{{
				Source: &libvirtxml.DomainChardevSource{
					File: &libvirtxml.DomainChardevSourceFile{Path: s.ConsolePath, Append: "off"},
				},
				Target: &libvirtxml.DomainSerialTarget{Port: &port},
			}},
			Channels: []libvirtxml.DomainChannel{{
				Source: &libvirtxml.DomainChardevSource{
					UNIX: &libvirtxml.DomainChardevSourceUNIX{Mode: "bind", Path: s.ChannelPath},
				},
				Target: &libvirtxml.DomainChannelTarget{
					VirtIO: &libvirtxml.DomainChannelTargetVirtIO{Name: AgentChannel},
				},
			}},
			Disks:      rootDisks(s),
			Interfaces: networkInterfaces(s),
			MemBalloon: &libvirtxml.DomainMemBalloon{Model: "none"},
		},
	}
	if s.Accel == AccelKVM {
		d.CPU = &libvirtxml.DomainCPU{Mode: "host-passthrough"}
	}
	return d, nil
}

// rootDisks is the image's root filesystem as a read-only, shareable virtio
// disk (vda, named by smn.root=vda on the command line): every slot reads
// the same file and nothing writes it, so a saved memory image stays
// consistent with it.
func rootDisks(s Spec) []libvirtxml.DomainDisk {
	if s.Image.RootFS == "" {
		return nil
	}
	return []libvirtxml.DomainDisk{{
		Device:    "disk",
		Driver:    &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw"},
		Source:    &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: s.Image.RootFS}},
		Target:    &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"},
		ReadOnly:  &libvirtxml.DomainDiskReadOnly{},
		Shareable: &libvirtxml.DomainDiskShareable{},
	}}
}

// DomainXML renders Domain(s) as XML.
func DomainXML(s Spec) (string, error) {
	d, err := Domain(s)
	if err != nil {
		return "", err
	}
	return d.Marshal()
}
