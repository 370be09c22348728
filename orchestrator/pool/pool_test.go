package pool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/proto"
	"github.com/scalemalnet/scalemalnet/orchestrator/analysis"
	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

func TestOverlayApply(t *testing.T) {
	base := []SlotConfig{{Name: "a", MemoryMiB: 256}, {Name: "b", MemoryMiB: 256}}
	o := poolOverlay{Added: []SlotConfig{{Name: "b", MemoryMiB: 512}, {Name: "c", MemoryMiB: 256}}, Removed: []string{"a"}}
	eff, origin := o.apply(base, OriginConfig)
	var names []string
	for _, c := range eff {
		names = append(names, fmt.Sprintf("%s/%d/%s", c.Name, c.MemoryMiB, origin[c.Name]))
	}
	if strings.Join(names, " ") != "b/512/api c/256/api" {
		t.Fatalf("effective pool %v", names)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, PoolFile)
	if err := saveOverlay(p, o); err != nil {
		t.Fatal(err)
	}
	got, err := loadOverlay(p)
	if err != nil || len(got.Added) != 2 || got.Removed[0] != "a" {
		t.Fatalf("round trip %+v %v", got, err)
	}
	if err := os.WriteFile(p, []byte(`{"added":[{"Name":"Bad Name"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOverlay(p); !errors.Is(err, ErrPoolFile) {
		t.Fatalf("bad pool.json: %v", err)
	}
	if err := saveOverlay(p, poolOverlay{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("an empty overlay leaves no file")
	}
}

func TestTransitionLogBounded(t *testing.T) {
	s := &Slot{name: "x", log: slog.New(slog.DiscardHandler)}
	for i := 0; i < 3*SlotTransitionsKept; i++ {
		s.to([]string{SlotIdle, SlotBusy}[i%2], fmt.Sprint(i))
	}
	if len(s.transitions) != SlotTransitionsKept || s.transitions[len(s.transitions)-1].Reason != fmt.Sprint(3*SlotTransitionsKept-1) {
		t.Fatalf("%d transitions, last %+v", len(s.transitions), s.transitions[len(s.transitions)-1])
	}
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(s.transitions[0])
	if !strings.Contains(buf.String(), `"from"`) {
		t.Fatal(buf.String())
	}
}

func TestAcceptAvoidsFailedSlot(t *testing.T) {
	e := newPoolEnv(t, []SlotConfig{{Name: "x"}, {Name: "y"}}, 0)
	waitFor(t, "slots idle", func() bool { return e.slotStateOf("x") == SlotIdle && e.slotStateOf("y") == SlotIdle })
	x, y := e.Slot("x"), e.Slot("y")
	j := jobs.Job{ID: "j", FailedSlots: []string{"x"}}
	if e.accept(x)(j) || !e.accept(y)(j) {
		t.Fatal("x must leave a job it failed to y")
	}
	y.requestDrain("test")
	if !e.accept(x)(j) {
		t.Fatal("x must take the job when y cannot")
	}
	y.requestReset()
	waitFor(t, "y back", func() bool { return y.serviceable() })
	y.mu.Lock()
	y.quarantined = true
	y.mu.Unlock()
	if !e.accept(x)(j) {
		t.Fatal("x must take the job when y is quarantined")
	}
	y.mu.Lock()
	y.quarantined = false
	y.mu.Unlock()
	if e.accept(x)(jobs.Job{FailedSlots: []string{"x"}, Options: jobs.Options{Network: "user"}}) {
		t.Fatal("x has no network: it must refuse a network job")
	}
	if !e.accept(x)(jobs.Job{FailedSlots: []string{"x", "y"}}) {
		t.Fatal("a job that failed everywhere goes anywhere")
	}
}

// A slot whose restores fail QuarantineAfter times in a row is quarantined,
// rebuilt in the background, verified by a probe restore and back to idle;
// the failed jobs are retried on the other slot, which kept working.
func TestPoolQuarantineHealAndRetryElsewhere(t *testing.T) {
	e := newPoolEnv(t, []SlotConfig{{Name: "a"}, {Name: "b"}}, 2)
	waitFor(t, "slots idle", func() bool { return e.slotStateOf("a") == SlotIdle && e.slotStateOf("b") == SlotIdle })
	defer func(old time.Duration) { healBackoffMin = old }(healBackoffMin)
	healBackoffMin = 300 * time.Millisecond
	a := e.Slot("a")
	e.hv.FailNext(a.domain, 3) // two jobs' restores, then the first rebuild's probe restore
	// Keep b out of the way until a has failed twice, so a takes the jobs.
	b := e.Slot("b")
	b.requestDrain("test: keep b busy elsewhere")
	j1 := e.submit(t)
	waitFor(t, "a to fail once", func() bool { a.mu.Lock(); defer a.mu.Unlock(); return a.failures >= 1 })
	j2 := e.submit(t)
	waitFor(t, "a quarantined", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return hasTransition(a.transitions, "", SlotQuarantined)
	})
	// a failed both jobs (it was the only slot then: allowed to retry them
	// itself only if nothing else could). Bring b back.
	b.requestReset()
	// j1 failed twice on a; its last attempt goes to b (a leaves it to b).
	if j := e.waitJob(t, j1.ID); j.State != jobs.Done || !slices.Equal(j.FailedSlots, []string{"a"}) || j.Slot != "b" || j.Attempts != 3 {
		t.Fatalf("job 1: %s %q slot=%s attempts=%d failed_slots=%v", j.State, j.Error, j.Slot, j.Attempts, j.FailedSlots)
	}
	if j := e.waitJob(t, j2.ID); j.State != jobs.Done {
		t.Fatalf("job 2: %s %q", j.State, j.Error)
	}
	waitFor(t, "a healed", func() bool { return e.slotStateOf("a") == SlotIdle })
	a.mu.Lock()
	log := slices.Clone(a.transitions)
	q := a.quarantined
	a.mu.Unlock()
	t.Logf("slot a transitions:\n%s", transitionLog(log))
	healed := slices.IndexFunc(log, func(t api.SlotTransition) bool { return t.From == SlotQuarantined && t.To == SlotIdle })
	if q || healed < 0 || !strings.Contains(log[healed].Reason, "probe restore verified") {
		t.Fatalf("a did not come back through a verified rebuild:\n%s", transitionLog(log))
	}
	// It takes jobs again.
	b.requestDrain("test: leave the next job to a")
	j3 := e.waitJob(t, e.submit(t).ID)
	if j3.State != jobs.Done || j3.Slot != "a" {
		t.Fatalf("job after heal: %+v", j3)
	}
	h := e.PoolHealth(context.Background())
	if h.Status != "ok" {
		t.Fatalf("health %+v", h)
	}
}

// A job failing for infrastructure reasons on every attempt ends failed
// with every attempt in its reason.
func TestJobFailsAfterMaxAttemptsWithReasons(t *testing.T) {
	e := newPoolEnv(t, []SlotConfig{{Name: "only"}}, 50)
	waitFor(t, "slot idle", func() bool { return e.slotStateOf("only") == SlotIdle })
	e.hv.FailNext(e.Slot("only").domain, 1000)
	j := e.waitJob(t, e.submit(t).ID)
	if j.State != jobs.Failed || j.Attempts != analysis.MaxAttempts || !slices.Equal(j.FailedSlots, []string{"only"}) {
		t.Fatalf("job %+v", j)
	}
	for _, w := range []string{"gave up after 3 attempts", "attempt 1 on only failed: step restore", "attempt 2 on only", "attempt 3 on only", "injected restore failure"} {
		if !strings.Contains(j.Error, w) {
			t.Errorf("reason %q lacks %q", j.Error, w)
		}
	}
}

// TestOverlayReadsLegacyFieldNames: a pool.json written with Go's field
// names (version 1) is still read, and rewritten in snake_case.
func TestOverlayReadsLegacyFieldNames(t *testing.T) {
	p := filepath.Join(t.TempDir(), PoolFile)
	legacy := `{"version":1,"added":[{"Name":"x","MemoryMiB":320,"Network":"user","Tags":["t"]}],"removed":["slot1"]}`
	if err := os.WriteFile(p, []byte(legacy), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := loadOverlay(p)
	if err != nil || len(o.Added) != 1 || o.Added[0].MemoryMiB != 320 || o.Added[0].Network != "user" || o.Added[0].Tags[0] != "t" {
		t.Fatalf("legacy pool.json: %+v %v", o, err)
	}
	if err := saveOverlay(p, o); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	for _, want := range []string{`"version": 2`, `"name": "x"`, `"memory_mib": 320`, `"network": "user"`, `"tags"`, `"removed"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("pool.json lacks %s:\n%s", want, b)
		}
	}
	if err := os.WriteFile(p, []byte(`{"added":[{"name":"x","memory":1}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOverlay(p); err == nil || !strings.Contains(err.Error(), "memory") {
		t.Fatalf("unknown field: %v", err)
	}
}

// TestWaitReasonQueuePlace: a queued job that a slot can take says how
// many jobs are ahead of it and how many suitable slots are busy.
func TestWaitReasonQueuePlace(t *testing.T) {
	d := testPool(t, false)
	busy, other := testSlot(t, "slot0", ""), testSlot(t, "net0", jobs.NetworkIsolated)
	busy.state, other.state = SlotBusy, SlotBusy
	d.slots = []*Slot{busy, other}
	var last jobs.Job
	for i := range 3 {
		j, err := d.submitJob("s", strings.NewReader(strings.Repeat("x", i+1)), jobs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		last = j
	}
	if _, err := d.submitJob("n", strings.NewReader("net"), jobs.Options{Network: jobs.NetworkIsolated}); err != nil {
		t.Fatal(err)
	}
	got, err := d.job(last.ID)
	if err != nil || got.Waiting != "2 jobs ahead, 1 slot busy" {
		t.Fatalf("waiting %q %v, want \"2 jobs ahead, 1 slot busy\"", got.Waiting, err)
	}
	if r := d.StuckReasons(); len(r) != 0 {
		t.Fatalf("busy slots are not a reason for degraded health: %q", r)
	}
}

// testSlot is a slot with the given network mode, never started (no
// hypervisor).
func testSlot(t *testing.T, id, network string) *Slot {
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
	return &Slot{Slot: s, name: id, def: SlotConfig{Name: id, Network: network}, state: SlotIdle}
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
	d := testPool(t, true)
	plain, net := testSlot(t, "plain0", vm.NetworkNone), testSlot(t, "net0", vm.NetworkUser)
	d.slots = []*Slot{plain, net}
	var ids []string
	for _, n := range []string{"user", "", "none", "user"} {
		j, err := d.submitJob("s", strings.NewReader("sample "+n), jobs.Options{Network: n})
		if err != nil {
			t.Fatalf("submit network %q: %v", n, err)
		}
		ids = append(ids, j.ID)
	}
	claim := func(s *Slot) string {
		t.Helper()
		j, ok, err := d.cfg.Store.ClaimNext(s.ID, s.accepts)
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
		slot *Slot
		want string
	}{
		{plain, ids[1]}, {net, ids[0]}, {plain, ids[2]}, {plain, ""}, {net, ids[3]}, {net, ""},
	} {
		if got := claim(c.slot); got != c.want {
			t.Fatalf("%s claimed %q, want %q (queue %v)", c.slot.ID, got, c.want, ids)
		}
	}
}

func TestAgentInfo(t *testing.T) {
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
}

// A user-mode slot cannot be defined without AllowUserNetwork; an isolated
// slot gets its fake internet's port, the same for the slot's life.
func TestFakeNetOfSlots(t *testing.T) {
	p := testPool(t, false)
	var spec vm.Spec
	if err := p.attachFakeNet(SlotConfig{Name: "u", Network: vm.NetworkUser}, &spec); !errors.Is(err, ErrBadSlot) || !errors.Is(err, ErrUserNetworkOff) {
		t.Fatalf("user slot: %v", err)
	}
	if err := p.attachFakeNet(SlotConfig{Name: "iso0", Network: vm.NetworkIsolated}, &spec); err != nil || spec.NetPort == 0 {
		t.Fatalf("isolated slot: port %d, %v", spec.NetPort, err)
	}
	port := spec.NetPort
	if err := p.attachFakeNet(SlotConfig{Name: "iso0", Network: vm.NetworkIsolated}, &spec); err != nil || spec.NetPort != port {
		t.Fatalf("the slot's responder changed: %d -> %d (%v)", port, spec.NetPort, err)
	}
	p.closeFakeNet("iso0")
	if p.fakeNet("iso0") != nil {
		t.Fatal("responder kept after close")
	}
}
