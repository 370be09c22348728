package hosts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// fakeConn is a host: a map of files, and switches for failures.
type fakeConn struct {
	vm.Hypervisor // nil: domain calls are not used by these tests
	mu            sync.Mutex
	files         map[string][]byte
	dirs          map[string]bool
	dead          bool
	corrupt       bool // every upload arrives damaged
	uploads       int
}

func (f *fakeConn) Alive(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return fmt.Errorf("%w: connection closed: end of file", vm.ErrHost)
	}
	return nil
}
func (f *fakeConn) Describe() string { return "fake" }
func (f *fakeConn) Close() error     { return nil }
func (f *fakeConn) EnsureDir(_ context.Context, d string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dirs[d] = true
	return nil
}
func (f *fakeConn) Upload(_ context.Context, dir, name, local string) (string, error) {
	b, err := os.ReadFile(local)
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.dirs[dir] {
		return "", fmt.Errorf("%w: no dir %s", vm.ErrVolume, dir)
	}
	p := filepath.Join(dir, name)
	if old, ok := f.files[p]; ok && len(old) == len(b) {
		return p, nil
	}
	f.uploads++
	if f.corrupt {
		b = append([]byte(nil), b...)
		b[0] ^= 0xff
	}
	f.files[p] = b
	return p, nil
}
func (f *fakeConn) VerifyFile(_ context.Context, p, want string) error {
	f.mu.Lock()
	b, ok := f.files[p]
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", os.ErrNotExist, p)
	}
	tmp := filepath.Join(os.TempDir(), "smn-fake-verify")
	_ = os.WriteFile(tmp, b, 0o600)
	defer os.Remove(tmp)
	got, _, _ := vm.FileSHA256(tmp)
	if got != want {
		return fmt.Errorf("%w: %w: %s", vm.ErrVolume, vm.ErrMismatch, p)
	}
	return nil
}
func (f *fakeConn) OpenChannel(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("no channel")
}
func (f *fakeConn) StatFile(context.Context, string) (int64, time.Time, error) {
	return 0, time.Time{}, os.ErrNotExist
}
func (f *fakeConn) RemoveFile(_ context.Context, p string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.files, p)
	return nil
}
func (f *fakeConn) TailFile(context.Context, string, int64) ([]byte, error) { return nil, nil }

func testImage(t *testing.T) vm.Image {
	dir := t.TempDir()
	img := vm.Image{Dir: dir, Kernel: filepath.Join(dir, "vmlinux"), Initrd: filepath.Join(dir, "initramfs.cpio.gz"), Digest: "d1"}
	for _, p := range []string{img.Kernel, img.Initrd} {
		if err := os.WriteFile(p, []byte("contents of "+filepath.Base(p)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// host is one fake host whose connection the test can break and replace.
type host struct {
	mu      sync.Mutex
	conn    *fakeConn
	refuse  bool
	opens   int
	corrupt bool
}

func (h *host) open(context.Context, string) (Conn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.opens++
	if h.refuse {
		return nil, errors.New("connection refused")
	}
	if h.conn == nil || h.conn.dead {
		files := map[string][]byte{}
		if h.conn != nil {
			files = h.conn.files // the host's disk survives its libvirtd
		}
		h.conn = &fakeConn{files: files, dirs: map[string]bool{}, corrupt: h.corrupt}
	}
	return h.conn, nil
}

func waitFor(t *testing.T, s *Set, name string, ok func(Status) bool) Status {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for {
		st, err := s.Status(name)
		if err != nil {
			t.Fatal(err)
		}
		if ok(st) {
			return st
		}
		if time.Now().After(end) {
			t.Fatalf("host %s stuck: %+v", name, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHostDownAndHeal(t *testing.T) {
	h := &host{}
	var mu sync.Mutex
	var changes []string
	s := New(testImage(t), h.open, slog.New(slog.DiscardHandler), func(st Status) {
		mu.Lock()
		changes = append(changes, st.State)
		mu.Unlock()
	})
	s.CheckEvery, s.MinBackoff, s.MaxBackoff = 10*time.Millisecond, 5*time.Millisecond, 20*time.Millisecond
	defer s.Close()
	if err := s.Add(Config{Name: "h1", URI: "qemu+tcp://h1/system", Slots: 1, ImageDir: "/srv/img"}); err != nil {
		t.Fatal(err)
	}
	up := waitFor(t, s, "h1", func(st Status) bool { return st.State == StateUp })
	conn, img, gen, err := s.Conn("h1")
	if err != nil || gen != 1 || up.Generation != 1 {
		t.Fatalf("Conn: %v gen %d", err, gen)
	}
	if filepath.Dir(img.Kernel) != "/srv/img" || img.Digest != "d1" {
		t.Fatalf("host image: %+v", img)
	}
	if hi, _ := s.HostImage("h1"); hi.Kernel != img.Kernel || hi.Initrd != img.Initrd {
		t.Fatalf("HostImage %+v differs from the distributed image %+v", hi, img)
	}
	uploads := conn.(*fakeConn).uploads

	// libvirtd dies and stays away for a while: down with the reason,
	// calls through the host hypervisor fail at once with ErrHost.
	h.mu.Lock()
	h.conn.dead, h.refuse = true, true
	h.mu.Unlock()
	down := waitFor(t, s, "h1", func(st Status) bool { return st.State == StateDown })
	if down.Reason == "" || down.Failures != 1 {
		t.Fatalf("down: %+v", down)
	}
	if _, _, _, err := s.Conn("h1"); !errors.Is(err, vm.ErrHost) {
		t.Fatalf("Conn while down: %v", err)
	}
	hv := s.Hypervisor("h1")
	if err := hv.Destroy(context.Background(), "x"); !errors.Is(err, vm.ErrHost) {
		t.Fatalf("call while down: %v, want ErrHost", err)
	}
	// It comes back: a new connection, the image checked again (not
	// uploaded again: the host kept its files), a new generation.
	h.mu.Lock()
	h.refuse = false
	h.mu.Unlock()
	healed := waitFor(t, s, "h1", func(st Status) bool { return st.State == StateUp })
	if healed.Generation != 2 {
		t.Fatalf("healed: %+v", healed)
	}
	if c, _, _, _ := s.Conn("h1"); c.(*fakeConn).uploads != 0 || uploads != 2 {
		t.Fatalf("uploads: first %d, after heal %d (want 2, 0)", uploads, c.(*fakeConn).uploads)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(changes) < 3 || changes[0] != StateUp || changes[len(changes)-1] != StateUp {
		t.Fatalf("state changes %v", changes)
	}
}

// A host copy that does not match is replaced once; one that never
// matches keeps the host down with the digest error.
func TestDistributeMismatch(t *testing.T) {
	img := testImage(t)
	s := New(img, nil, slog.New(slog.DiscardHandler), nil)
	c := &fakeConn{files: map[string][]byte{}, dirs: map[string]bool{}}
	cfg := Config{Name: "h", ImageDir: "/img"}
	himg, err := s.Distribute(context.Background(), c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.files[himg.Initrd][3] ^= 1 // damaged on the host, same size
	if _, err := s.Distribute(context.Background(), c, cfg); err != nil {
		t.Fatalf("a damaged copy must be replaced: %v", err)
	}
	if c.uploads != 3 {
		t.Fatalf("uploads %d, want 3 (two, then the damaged one again)", c.uploads)
	}
	bad := &fakeConn{files: map[string][]byte{}, dirs: map[string]bool{}, corrupt: true}
	_, err = s.Distribute(context.Background(), bad, cfg)
	if !errors.Is(err, vm.ErrMismatch) || !errors.Is(err, vm.ErrVolume) {
		t.Fatalf("always-damaged uploads: %v, want ErrMismatch", err)
	}
}

func TestSlotSpec(t *testing.T) {
	s := New(testImage(t), nil, slog.New(slog.DiscardHandler), nil)
	s.hosts["h1"] = &Host{cfg: Config{Name: "h1", ImageDir: "/img", StateDir: "/img/state", MemoryMiB: 512}, done: make(chan struct{})}
	base := vm.Spec{Name: "smn-x-h1-0", UUID: vm.StableUUID("a"), Accel: vm.AccelTCG, VCPUs: 1, Image: testImage(t)}
	sp, err := s.SlotSpec("h1", base)
	if err != nil {
		t.Fatal(err)
	}
	if !sp.Remote() || sp.MemoryMiB != 512 || sp.SavePath != "/img/state/smn-x-h1-0.save" ||
		sp.ChannelPath != "/img/state/smn-x-h1-0.sock" || sp.ConsolePath != "/img/state/smn-x-h1-0.console.log" {
		t.Fatalf("spec %+v", sp)
	}
	base.Network, base.NetPort = vm.NetworkIsolated, 4000
	if _, err := s.SlotSpec("h1", base); !errors.Is(err, vm.ErrConfig) {
		t.Fatalf("isolated on a remote host: %v, want ErrConfig", err)
	}
	if _, err := s.SlotSpec("nope", base); !errors.Is(err, ErrUnknownHost) {
		t.Fatalf("unknown host: %v", err)
	}
}
