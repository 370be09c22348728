package daemon

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/hosts"
)

// A configuration reload adds and removes remote hosts live: a new host's
// slots join the pool at once (they prepare once the host is up: here it
// never is), a removed host's slots leave it and then its connection is
// closed, and a changed host waits for a restart.
func TestPoolReloadHosts(t *testing.T) {
	var mu sync.Mutex
	next := Config{Pool: []SlotConfig{{Name: "a"}}}
	cfg := Config{Pool: next.Pool, ConfigFile: "smn.toml", Reload: func() (Config, error) {
		mu.Lock()
		defer mu.Unlock()
		return next, nil
	}}
	e := newPoolDaemon(t, cfg, "")
	e.hostOpener = func(ctx context.Context, uri string) (hosts.Conn, error) {
		return nil, errors.New("no libvirtd here (unit test)")
	}
	t.Cleanup(e.closeHosts)
	set := func(c Config) {
		mu.Lock()
		next = c
		mu.Unlock()
	}
	hx := hosts.Config{Name: "hx", URI: "qemu+tcp://127.0.0.1:1/system", Slots: 2, ImageDir: "/srv/smn/images"}
	set(Config{Pool: []SlotConfig{{Name: "a"}}, Hosts: []hosts.Config{hx}})
	if err := e.Reload("test"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"hx-0", "hx-1"} {
		s := e.pool.Slot(n)
		if s == nil {
			t.Fatalf("slot %s not added", n)
		}
		if snap := s.Snapshot(false); snap.Host != "hx" {
			t.Errorf("slot %s host %q, want hx", n, snap.Host)
		}
	}
	if st := e.HostStatuses(); len(st) != 1 || st[0].Name != "hx" {
		t.Fatalf("host statuses %+v", st)
	}

	// A changed host keeps running as it was until a restart.
	hx2 := hx
	hx2.URI = "qemu+tcp://127.0.0.2:1/system"
	set(Config{Pool: []SlotConfig{{Name: "a"}}, Hosts: []hosts.Config{hx2}})
	if err := e.Reload("test"); err != nil {
		t.Fatal(err)
	}
	h := e.pool.PoolHealth(context.Background())
	if !slices.ContainsFunc(h.Warnings, func(s string) bool { return strings.Contains(s, "pool.host hx") }) {
		t.Errorf("warnings %v, want pool.host hx needing a restart", h.Warnings)
	}
	if st := e.HostStatuses(); len(st) != 1 || st[0].URI != hx.URI {
		t.Errorf("host statuses %+v: want the running URI kept", st)
	}

	// Removed: its slots leave the pool, then the host goes.
	set(Config{Pool: []SlotConfig{{Name: "a"}}})
	if err := e.Reload("test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "hx slots removed", func() bool { return e.pool.Slot("hx-0") == nil && e.pool.Slot("hx-1") == nil })
	waitFor(t, "host hx removed", func() bool { return len(e.HostStatuses()) == 0 })
	if e.pool.Slot("a") == nil {
		t.Fatal("the local slot went too")
	}
}
