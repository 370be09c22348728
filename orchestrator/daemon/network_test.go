package daemon

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

func TestSubmitRefusesUnavailableNetwork(t *testing.T) {
	d, h := storageDaemon(t, Config{MinFreeBytes: -1, AllowUserNetwork: true})
	setPool(t, d, SlotConfig{Name: "plain0"}, SlotConfig{Name: "plain1"})
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
	setPool(t, d, SlotConfig{Name: "net0", Network: vm.NetworkUser})
	if _, err := d.Submit(ctx, "s", strings.NewReader("x"), jobs.Options{}); !errors.Is(err, jobs.ErrInvalid) {
		t.Fatalf("plain job with only network slots: %v", err)
	}
	if j, err := d.Submit(ctx, "s", strings.NewReader("x"), jobs.Options{Network: "user"}); err != nil || j.Options.Network != jobs.NetworkUser {
		t.Fatalf("network job: %+v %v", j, err)
	}
}

// TestUserNetworkOffByDefault: without AllowUserNetwork a job asking for
// user-mode NAT is refused at submission (400, nothing stored) even when a
// slot has it, and a user-mode slot cannot be defined; isolated jobs and
// slots are accepted, and an isolated slot gets its fake internet's port.
func TestUserNetworkOffByDefault(t *testing.T) {
	d, h := storageDaemon(t, Config{MinFreeBytes: -1})
	setPool(t, d, SlotConfig{Name: "net0", Network: vm.NetworkUser}, SlotConfig{Name: "iso0", Network: vm.NetworkIsolated})
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
}
