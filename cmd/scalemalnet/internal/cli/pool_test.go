package cli

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/api/apitest"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
)

func newPoolHarness(t *testing.T) (*harness, *apitest.FakePool) {
	t.Helper()
	f, p := apitest.NewFake(), apitest.NewFakePool("slot0", "slot1")
	srv := httptest.NewServer(api.NewHandler(f, token, api.HandlerOptions{Logger: slog.New(slog.DiscardHandler), Pool: p}))
	t.Cleanup(srv.Close)
	return &harness{fake: f, srv: srv, env: map[string]string{defaults.EnvAddr: srv.URL, defaults.EnvToken: token}}, p
}

func TestPoolCommands(t *testing.T) {
	h, p := newPoolHarness(t)
	code, out, errOut := h.run("pool", "ls")
	if code != 0 || !strings.Contains(out, "SLOT") || !strings.Contains(out, "slot0") || !strings.Contains(out, "256 MiB") {
		t.Fatalf("ls: %d %s %s", code, out, errOut)
	}
	code, out, _ = h.run("pool", "ls", "--json")
	var l api.PoolList
	if code != 0 || json.Unmarshal([]byte(out), &l) != nil || len(l.Slots) != 2 || len(l.Slots[0].Transitions) == 0 {
		t.Fatalf("ls --json: %d %s", code, out)
	}
	code, out, errOut = h.run("pool", "add", "net0", "--memory", "512", "--network", "user", "--tag", "a", "--tag", "b")
	if code != 0 || !strings.Contains(out, "slot net0 added") {
		t.Fatalf("add: %d %s %s", code, out, errOut)
	}
	if code, out, _ := h.run("pool", "ls"); code != 0 || !strings.Contains(out, "TAGS") || !strings.Contains(out, " a,b ") {
		t.Fatalf("ls does not show the tags: %d\n%s", code, out)
	}
	if code, out, errOut := h.run("pool", "undrain", "slot0"); code != 0 || !strings.Contains(out, "takes jobs again") {
		t.Fatalf("undrain: %d %s %s", code, out, errOut)
	}
	p.Calls = p.Calls[:len(p.Calls)-1]
	if code, _, errOut := h.run("pool", "add", "net0"); code != ExitFailure || !strings.Contains(errOut, "conflict") {
		t.Fatalf("duplicate add: %d %s", code, errOut)
	}
	for _, c := range [][]string{{"drain", "slot0"}, {"reset", "slot0"}, {"remove", "slot1"}} {
		code, out, errOut := h.run("pool", c[0], c[1])
		if code != 0 || !strings.Contains(out, "slot "+c[1]) {
			t.Fatalf("%v: %d %s %s", c, code, out, errOut)
		}
	}
	if code, _, errOut := h.run("pool", "drain", "ghost"); code != ExitFailure || !strings.Contains(errOut, "ghost") {
		t.Fatalf("drain unknown: %d %s", code, errOut)
	}
	if got := strings.Join(p.Calls, ","); got != "add net0,add net0,drain slot0,reset slot0,remove slot1,drain ghost" {
		t.Fatalf("calls %s", got)
	}
	// Removing the last slots: the warning goes to stderr.
	h.run("pool", "remove", "slot0")
	if code, _, errOut := h.run("pool", "remove", "net0"); code != 0 || !strings.Contains(errOut, "warning: no other slot") {
		t.Fatalf("remove last: %d %s", code, errOut)
	}
}

func TestPoolHealthCommand(t *testing.T) {
	h, p := newPoolHarness(t)
	code, out, _ := h.run("pool", "health")
	if code != 0 || !strings.Contains(out, "pool ok: 2 of 2 slots serving") || !strings.Contains(out, "preparing   -> idle") {
		t.Fatalf("health: %d %s", code, out)
	}
	at := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	p.Health = api.PoolHealth{Status: "degraded", QuarantineAfter: 3, Problems: []string{"slot a is quarantined: restore failed\x1b[2J"},
		Slots: []api.SlotHealth{{Name: "a", State: "quarantined", ConsecutiveFailures: 3, LastError: "restore failed", LastErrorAt: &at,
			Transitions: []api.SlotTransition{{At: at, From: "restoring", To: "quarantined", Reason: "3 failures in a row"}}}}}
	code, out, _ = h.run("pool", "health")
	if code != ExitFailure || !strings.Contains(out, "pool degraded") || !strings.Contains(out, "UNHEALTHY") ||
		!strings.Contains(out, "restoring   -> quarantined 3 failures in a row") || strings.Contains(out, "\x1b") {
		t.Fatalf("degraded health: %d %q", code, out)
	}
	// Warnings (configuration changes not applied) show without making the pool degraded.
	p.Health = api.PoolHealth{Status: "ok", Warnings: []string{"configuration change to listen needs a restart; the running value is kept"}}
	if code, out, _ := h.run("pool", "health"); code != 0 || !strings.Contains(out, "  warning: configuration change to listen needs a restart") {
		t.Fatalf("health with a warning: %d %q", code, out)
	}
	p.Health.Status = "degraded"
	code, out, _ = h.run("pool", "health", "--json")
	var ph api.PoolHealth
	if code != ExitFailure || json.Unmarshal([]byte(out), &ph) != nil || ph.Status != "degraded" {
		t.Fatalf("health --json: %d %s", code, out)
	}
}

func TestPoolUsage(t *testing.T) {
	h, _ := newPoolHarness(t)
	if code, _, errOut := h.run("pool"); code != ExitUsage || !strings.Contains(errOut, "pool ls") {
		t.Fatalf("pool: %d %s", code, errOut)
	}
	if code, _, _ := h.run("pool", "frob"); code != ExitUsage {
		t.Fatal("unknown subcommand")
	}
	if code, _, _ := h.run("pool", "add"); code != ExitUsage {
		t.Fatal("add without name")
	}
	if code, _, _ := h.run("pool", "add", "x", "--memory", "-1"); code != ExitUsage {
		t.Fatal("negative memory")
	}
	if code, _, _ := h.run("pool", "remove", "a", "b"); code != ExitUsage {
		t.Fatal("two names")
	}
}

func TestServeConfigFlag(t *testing.T) {
	var got ServeOptions
	run := func(env map[string]string, args ...string) int {
		return Run(t.Context(), append([]string{"serve"}, args...), Env{Stdout: &strings.Builder{}, Stderr: &strings.Builder{},
			Getenv: func(k string) string { return env[k] },
			Serve:  func(_ context.Context, o ServeOptions) error { got = o; return nil }})
	}
	if code := run(nil, "--config", "/etc/smn.toml"); code != 0 || got.ConfigFile != "/etc/smn.toml" || got.DataDir != "" || got.Listen != "" || got.Accel != "" {
		t.Fatalf("with config, unset flags must stay unset: %d %+v", code, got)
	}
	if code := run(map[string]string{defaults.EnvDataDir: "/srv"}, "--config", "f", "--accel", "kvm"); code != 0 || got.DataDir != "/srv" || got.Accel != "kvm" {
		t.Fatalf("env and given flags override: %d %+v", code, got)
	}
	if code := run(nil); code != 0 || got.DataDir == "" || got.Accel != "auto" {
		t.Fatalf("without config, defaults as before: %d %+v", code, got)
	}
}

// drain, undrain and reset --host act on every slot of a hypervisor host
// (the fake pool's slots all show host1).
func TestPoolEditByHost(t *testing.T) {
	h, p := newPoolHarness(t)
	code, out, errOut := h.run("pool", "drain", "--host", "host1")
	if code != 0 || strings.Count(out, "is draining") != 2 {
		t.Fatalf("drain --host: %d %s %s", code, out, errOut)
	}
	if got := strings.Join(p.Calls, ","); got != "drain slot0,drain slot1" {
		t.Fatalf("calls %s", got)
	}
	if code, _, errOut := h.run("pool", "undrain", "--host", "elsewhere"); code != ExitFailure || !strings.Contains(errOut, "no slot on that host") {
		t.Fatalf("unknown host: %d %s", code, errOut)
	}
	for _, args := range [][]string{{"drain", "--host", "host1", "slot0"}, {"drain"}, {"remove", "--host", "host1"}} {
		if code, _, _ := h.run(append([]string{"pool"}, args...)...); code != ExitUsage {
			t.Errorf("%v: exit %d, want usage", args, code)
		}
	}
}
