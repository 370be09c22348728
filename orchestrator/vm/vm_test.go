package vm

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"
)

func testImage(t *testing.T) Image {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"vmlinux", "initramfs.cpio.gz"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := json.Marshal(map[string]any{
		"schema": 1, "cmdline": "console=ttyS0",
		"kernel":    map[string]string{"release": "6.1.0-test", "vmlinux": "vmlinux", "vmlinux_sha256": "aa"},
		"initramfs": "initramfs.cpio.gz", "initramfs_sha256": "bb",
	})
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), m, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := LoadImage(dir)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func testSpec(t *testing.T, name string) Spec {
	dir := t.TempDir()
	return Spec{
		Name: name, UUID: StableUUID(name), Accel: AccelTCG, MemoryMiB: 128, VCPUs: 1,
		Image: testImage(t), ChannelPath: filepath.Join(dir, "a.sock"), ConsolePath: filepath.Join(dir, "console.log"),
	}
}

func TestDomainXMLRoundTrip(t *testing.T) {
	s := testSpec(t, "smn-test-slot0")
	x, err := DomainXML(s)
	if err != nil {
		t.Fatal(err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(x); err != nil {
		t.Fatalf("unmarshal own XML: %v", err)
	}
	if d.Type != "qemu" || d.Name != s.Name || d.UUID != s.UUID {
		t.Fatalf("identity lost: %+v", d)
	}
	if d.Features == nil || d.Features.ACPI == nil || d.Features.APIC == nil {
		t.Fatal("ACPI/APIC must be on (guest clock resolution)")
	}
	if len(d.Devices.Interfaces) != 0 || len(d.Devices.Disks) != 0 {
		t.Fatal("slot must have no network device and no disk by default")
	}
	if len(d.Devices.Channels) != 1 || d.Devices.Channels[0].Target.VirtIO.Name != AgentChannel ||
		d.Devices.Channels[0].Source.UNIX.Path != s.ChannelPath {
		t.Fatalf("agent channel wrong: %s", x)
	}
	if d.OS.Kernel != s.Image.Kernel || d.OS.Initrd != s.Image.Initrd || d.OS.Cmdline != "console=ttyS0" {
		t.Fatalf("direct boot wrong: %+v", d.OS)
	}
}

func TestSpecValidate(t *testing.T) {
	good := testSpec(t, "smn-x")
	cases := map[string]func(*Spec){
		"no name":   func(s *Spec) { s.Name = "" },
		"bad accel": func(s *Spec) { s.Accel = "xen" },
		"tiny mem":  func(s *Spec) { s.MemoryMiB = 8 },
		"no vcpu":   func(s *Spec) { s.VCPUs = 0 },
		"no kernel": func(s *Spec) { s.Image.Kernel = "" },
		"long sock": func(s *Spec) { s.ChannelPath = "/" + strings.Repeat("a", 120) },
	}
	for name, mut := range cases {
		s := good
		mut(&s)
		if err := s.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
}

func TestStableUUID(t *testing.T) {
	a, b := StableUUID("smn-a-slot0"), StableUUID("smn-a-slot0")
	if a != b || a == StableUUID("smn-a-slot1") || len(a) != 36 {
		t.Fatalf("uuid not stable/unique: %s %s", a, b)
	}
}

func TestLoadImageErrors(t *testing.T) {
	if _, err := LoadImage(t.TempDir()); !errors.Is(err, ErrImage) {
		t.Fatalf("empty dir: %v", err)
	}
	dir := t.TempDir()
	for _, bad := range []string{
		"{not json",
		`{"schema": 2}`,
		`{"schema": 1, "kernel": {"vmlinux": "../../etc/passwd", "vmlinux_sha256": "a"}, "initramfs": "i", "initramfs_sha256": "b"}`,
		`{"schema": 1, "kernel": {"vmlinux": "vmlinux", "vmlinux_sha256": "a"}, "initramfs": "missing", "initramfs_sha256": "b"}`,
	} {
		os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(bad), 0o644)
		if _, err := LoadImage(dir); !errors.Is(err, ErrImage) {
			t.Errorf("bad manifest %s: %v", bad, err)
		}
	}
}

func TestDetectAccel(t *testing.T) {
	if a, _ := DetectAccel("qemu"); a != AccelTCG {
		t.Fatal(a)
	}
	if _, err := DetectAccel("xen"); !errors.Is(err, ErrConfig) {
		t.Fatal(err)
	}
	a, err := DetectAccel("auto")
	if err != nil || (a != AccelKVM && a != AccelTCG) {
		t.Fatal(a, err)
	}
}

// testHV opens libvirt's in-process test driver (no daemon needed).
func testHV(t *testing.T) *Libvirt {
	t.Helper()
	hv, err := OpenLibvirt(context.Background(), "test:///default")
	if err != nil {
		t.Fatalf("libvirt test driver: %v", err)
	}
	t.Cleanup(func() { hv.Close() })
	return hv
}

func TestLibvirtLifecycleTestDriver(t *testing.T) {
	ctx := context.Background()
	hv := testHV(t)
	s := testSpec(t, "smn-unit-slot0")
	x, _ := DomainXML(s)
	if err := hv.Create(ctx, x); err != nil {
		t.Fatalf("create: %v", err)
	}
	names, err := hv.Domains(ctx, "smn-unit-")
	if err != nil || len(names) != 1 || names[0] != s.Name {
		t.Fatalf("domains: %v %v", names, err)
	}
	save := filepath.Join(t.TempDir(), "clean.save")
	if err := hv.Save(ctx, s.Name, save); err != nil {
		t.Fatalf("save: %v", err)
	}
	if names, _ := hv.Domains(ctx, "smn-unit-"); len(names) != 0 {
		t.Fatalf("transient domain should be gone after save: %v", names)
	}
	if err := hv.Restore(ctx, save, ""); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if err := hv.Destroy(ctx, s.Name); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if err := hv.Destroy(ctx, s.Name); !errors.Is(err, ErrNoDomain) {
		t.Fatalf("second destroy: %v, want ErrNoDomain", err)
	}
}

func TestSlotCleanStateChecks(t *testing.T) {
	hv := testHV(t)
	s, err := NewSlot("slot0", testSpec(t, "smn-unit-clean"), hv, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Clean(); !errors.Is(err, ErrNoCleanState) {
		t.Fatalf("fresh slot: %v", err)
	}
	if err := s.Restore(context.Background()); !errors.Is(err, ErrNoCleanState) {
		t.Fatalf("restore without clean state must refuse: %v", err)
	}
	// The test driver has no agent channel, so Prepare's probe cannot
	// connect: it must fail within its context and leave no domain behind.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = s.Prepare(ctx, func(context.Context, net.Conn) (AgentInfo, error) { return AgentInfo{}, nil })
	if !errors.Is(err, ErrAgent) {
		t.Fatalf("prepare without agent: %v, want ErrAgent", err)
	}
	if names, _ := hv.Domains(context.Background(), "smn-unit-clean"); len(names) != 0 {
		t.Fatalf("failed prepare left a domain: %v", names)
	}
}

// TestSlotPrepareRestoreTestDriver runs the whole clean-state cycle on the
// test driver, with a probe standing in for the agent handshake.
func TestSlotPrepareRestoreTestDriver(t *testing.T) {
	hv := testHV(t)
	spec := testSpec(t, "smn-unit-cycle")
	s, err := NewSlot("slot0", spec, hv, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	probe := func(context.Context, net.Conn) (AgentInfo, error) {
		return AgentInfo{BootID: "boot-1", Kernel: "6.1.0-test", AgentVersion: "t"}, nil
	}
	ctx := context.Background()
	// The test driver starts no QEMU; stand in for its channel socket.
	hvWrap := &relisten{Hypervisor: hv, path: spec.ChannelPath, t: t}
	s.hv = hvWrap
	cs, err := s.Prepare(ctx, probe)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	if cs.BootID != "boot-1" || cs.SaveSize == 0 {
		t.Fatalf("clean state: %+v", cs)
	}
	if _, err := s.Clean(); err != nil {
		t.Fatalf("clean after prepare: %v", err)
	}
	if err := s.Restore(ctx); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if err := s.Verify(AgentInfo{BootID: "boot-1"}); err != nil {
		t.Fatalf("verify same boot: %v", err)
	}
	if err := s.Verify(AgentInfo{BootID: "boot-2"}); !errors.Is(err, ErrNoCleanState) {
		t.Fatalf("verify other boot: %v", err)
	}
	if err := s.Verify(AgentInfo{BootID: "boot-1", Runs: 1}); !errors.Is(err, ErrNoCleanState) {
		t.Fatalf("verify used agent: %v", err)
	}
	if err := s.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	// A save file changed behind our back invalidates the clean state.
	if err := os.WriteFile(s.savePath(), []byte("corrupt"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Restore(ctx); !errors.Is(err, ErrNoCleanState) {
		t.Fatalf("restore from corrupted save: %v, want ErrNoCleanState", err)
	}
	// An image rebuild invalidates it too.
	s.spec.Image.Digest = "other"
	if _, err := s.Clean(); !errors.Is(err, ErrNoCleanState) {
		t.Fatalf("image change: %v", err)
	}
}

// relisten recreates the fake agent socket after each Create/Restore, as
// QEMU binds the channel socket when it starts.
type relisten struct {
	Hypervisor
	path string
	t    *testing.T
}

func (r *relisten) listen() {
	ln, err := net.Listen("unix", r.path)
	if err != nil {
		r.t.Errorf("listen: %v", err)
		return
	}
	r.t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

func (r *relisten) Create(ctx context.Context, xml string) error {
	if err := r.Hypervisor.Create(ctx, xml); err != nil {
		return err
	}
	r.listen()
	return nil
}
