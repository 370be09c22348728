package client

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/api/apitest"
)

func TestClientPool(t *testing.T) {
	p := apitest.NewFakePool("slot0")
	srv := httptest.NewServer(api.NewHandler(apitest.NewFake(), token, api.HandlerOptions{Logger: slog.New(slog.DiscardHandler), Pool: p}))
	defer srv.Close()
	c := New(srv.URL, token)
	ctx := context.Background()
	l, err := c.Pool(ctx)
	if err != nil || len(l.Slots) != 1 || l.Slots[0].Name != "slot0" {
		t.Fatalf("pool %+v %v", l, err)
	}
	ch, err := c.AddSlot(ctx, api.SlotRequest{Name: "big", MemoryMiB: 1024, Tags: []string{"x"}})
	if err != nil || ch.Slot.Name != "big" || ch.Slot.MemoryMiB != 1024 {
		t.Fatalf("add %+v %v", ch, err)
	}
	if _, err := c.AddSlot(ctx, api.SlotRequest{Name: "big"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate add: %v", err)
	}
	if ch, err := c.DrainSlot(ctx, "big"); err != nil || ch.Slot.State != "draining" {
		t.Fatalf("drain %+v %v", ch, err)
	}
	if ch, err := c.ResetSlot(ctx, "big"); err != nil || ch.Action != "reset" {
		t.Fatalf("reset %+v %v", ch, err)
	}
	if _, err := c.RemoveSlot(ctx, "a/b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("remove unknown (escaped name): %v", err)
	}
	if ch, err := c.RemoveSlot(ctx, "big"); err != nil || ch.Action != "remove" {
		t.Fatalf("remove %+v %v", ch, err)
	}
	if h, err := c.PoolHealth(ctx); err != nil || h.Status != "ok" || len(h.Slots) != 1 {
		t.Fatalf("health %+v %v", h, err)
	}
}
