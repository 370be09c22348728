package hosts_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/internal/hostlab"
	"github.com/scalemalnet/scalemalnet/internal/vmtest"
	"github.com/scalemalnet/scalemalnet/orchestrator/agentclient"
	"github.com/scalemalnet/scalemalnet/orchestrator/hosts"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

func probe(ctx context.Context, conn net.Conn) (vm.AgentInfo, error) {
	sess, hello, err := agentclient.Handshake(ctx, conn, agentclient.WithHandshakeTimeout(3*time.Minute))
	if err != nil {
		return vm.AgentInfo{}, err
	}
	sess.Bye()
	return vm.AgentInfo{BootID: hello.BootID, Runs: hello.Runs, Kernel: hello.Kernel, AgentVersion: hello.AgentVersion}, nil
}

func waitState(t *testing.T, set *hosts.Set, name, want string, gen int, d time.Duration) hosts.Status {
	t.Helper()
	end := time.Now().Add(d)
	for {
		st, err := set.Status(name)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == want && st.Generation > gen {
			return st
		}
		if want == hosts.StateDown && st.State == want {
			return st
		}
		if time.Now().After(end) {
			t.Fatalf("host %s: state %s (%s), generation %d; want %s", name, st.State, st.Reason, st.Generation, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// slotOn makes a slot of host name with the host's current connection.
func slotOn(t *testing.T, set *hosts.Set, name, dom string) *vm.Slot {
	t.Helper()
	conn, img, _, err := set.Conn(name)
	if err != nil {
		t.Fatal(err)
	}
	accel, _ := vm.DetectAccel("auto")
	spec, err := set.SlotSpec(name, vm.Spec{Name: dom, UUID: vm.StableUUID(dom), Accel: accel, MemoryMiB: 256, VCPUs: 1, Image: img})
	if err != nil {
		t.Fatal(err)
	}
	s, err := vm.NewSlot(name+"-0", spec, conn, t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hello restores the slot and says hello over the channel libvirtd relays.
func hello(t *testing.T, s *vm.Slot) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := s.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Destroy(context.Background())
	conn, err := s.DialAgent(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.RemoteAddr().Network() != "libvirt-channel" {
		t.Fatalf("remote slot's agent connection is %s, want the libvirt channel", conn.RemoteAddr().Network())
	}
	info, err := probe(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(info); err != nil {
		t.Fatal(err)
	}
}

// TestRemoteHosts runs the remote machinery against two namespaced
// libvirtd hosts (scripts/hostlab.sh) over qemu+tcp: the image is uploaded
// and checked by digest through libvirt (a corrupted host copy is found
// and replaced), a slot on each host makes its clean state on that host,
// restores it and answers the agent's hello over virDomainOpenChannel; one
// host's libvirtd killed mid-session breaks the open channel with ErrHost
// and marks the host down; restarted, it heals (new connection, image
// checked again) and its slot works after a new Prepare.
func TestRemoteHosts(t *testing.T) {
	imageDir, _ := vmtest.Need(t)
	hostlab.Need(t)
	lab := hostlab.New(t)
	full, err := vm.LoadImage(imageDir)
	if err != nil {
		t.Fatal(err)
	}
	img := full.WithoutRootFS() // the busybox guest: 70 MB to upload, not 600
	const a, b = 8, 9
	uriA, uriB := lab.Start(t, a), lab.Start(t, b)

	set := hosts.New(img, nil, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), nil)
	set.MinBackoff, set.MaxBackoff, set.CheckEvery = 500*time.Millisecond, 2*time.Second, time.Second
	defer set.Close()
	for i, u := range []string{uriA, uriB} {
		name := []string{"ha", "hb"}[i]
		if err := set.Add(hosts.Config{Name: name, URI: u, Slots: 1, ImageDir: filepath.Join(lab.Dir, name, "images")}); err != nil {
			t.Fatal(err)
		}
	}
	stA := waitState(t, set, "ha", hosts.StateUp, 0, 3*time.Minute)
	waitState(t, set, "hb", hosts.StateUp, 0, 3*time.Minute)
	t.Logf("ha: %s", stA.Hyper)

	// A corrupted host copy is found by reading it back, and replaced.
	conn, himg, _, err := set.Conn("ha")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(himg.Initrd, os.O_WRONLY, 0) // the lab's hosts share this filesystem
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("garbage!"), 100); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sum, _, _ := vm.FileSHA256(img.Initrd)
	if err := conn.VerifyFile(context.Background(), himg.Initrd, sum); !errors.Is(err, vm.ErrMismatch) {
		t.Fatalf("corrupted host copy: VerifyFile = %v, want ErrMismatch", err)
	}
	if _, err := set.Distribute(context.Background(), conn, hosts.Config{Name: "ha", ImageDir: filepath.Join(lab.Dir, "ha", "images")}); err != nil {
		t.Fatalf("distribute after corruption: %v", err)
	}
	if err := conn.VerifyFile(context.Background(), himg.Initrd, sum); err != nil {
		t.Fatalf("host copy not repaired: %v", err)
	}

	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	tag := hex.EncodeToString(rnd[:])
	slots := map[string]*vm.Slot{}
	for _, h := range []string{"ha", "hb"} {
		s := slotOn(t, set, h, "smn-hosttest-"+h+"-"+tag)
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		cs, err := s.Prepare(ctx, probe)
		cancel()
		if err != nil {
			t.Fatalf("prepare on %s: %v", h, err)
		}
		if _, err := os.Stat(s.Spec().SavePath); err != nil {
			t.Fatalf("saved state not on the host's state dir: %v", err)
		}
		t.Logf("%s: clean state made in %s (%d bytes)", h, cs.BootTime, cs.SaveSize)
		slots[h] = s
		hello(t, s)
	}
	// The namespaced host's QEMU is in the 'machine' cgroup, with the CPU
	// weight setup-host.sh gives it (not in the root cgroup, where it would
	// weigh one process against all local guests: docs/operations.md).
	checkCgroup(t, slots["ha"])

	// Kill hb's libvirtd while a channel is open: the channel and the host fail.
	s := slots["hb"]
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := s.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	ch, err := s.DialAgent(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gen := waitState(t, set, "hb", hosts.StateUp, 0, time.Second).Generation
	lab.Kill(t, b)
	_ = ch.SetReadDeadline(time.Now().Add(time.Minute))
	killed := time.Now()
	_, rerr := ch.Read(make([]byte, 64))
	ch.Close()
	if rerr == nil || errors.Is(rerr, os.ErrDeadlineExceeded) {
		t.Fatalf("read on the channel of a killed host: %v after %s, want a connection error", rerr, time.Since(killed))
	}
	t.Logf("channel read after kill: %v (%s)", rerr, time.Since(killed).Round(time.Millisecond))
	down := waitState(t, set, "hb", hosts.StateDown, 0, 30*time.Second)
	t.Logf("hb down: %s", down.Reason)
	if _, _, _, err := set.Conn("hb"); !errors.Is(err, vm.ErrHost) {
		t.Fatalf("Conn of a down host = %v, want ErrHost", err)
	}
	// The other host is untouched.
	hello(t, slots["ha"])

	lab.Start(t, b)
	up := waitState(t, set, "hb", hosts.StateUp, gen, 2*time.Minute)
	if up.Failures < 1 {
		t.Fatalf("failures not counted: %+v", up)
	}
	s2 := slotOn(t, set, "hb", "smn-hosttest-hb-"+tag)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel2()
	if _, err := s2.Prepare(ctx2, probe); err != nil {
		t.Fatalf("prepare after heal: %v", err)
	}
	hello(t, s2)
}

func checkCgroup(t *testing.T, s *vm.Slot) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := s.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Destroy(context.Background())
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), "guest="+s.Spec().Name) {
			continue
		}
		cg, err := os.ReadFile(filepath.Join(filepath.Dir(p), "cgroup"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(cg), "\n") {
			f := strings.SplitN(line, ":", 3)
			if len(f) == 3 && (f[1] == "" || strings.Contains(","+f[1]+",", ",cpu,")) {
				if !strings.HasPrefix(f[2], "/machine") {
					t.Fatalf("QEMU of %s is in cpu cgroup %q, want under /machine", s.Spec().Name, f[2])
				}
				t.Logf("QEMU of %s: cpu cgroup %s", s.Spec().Name, f[2])
				return
			}
		}
		t.Fatalf("no cpu cgroup line in %s", cg)
	}
	t.Fatalf("no QEMU process found for %s", s.Spec().Name)
}
