package client

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
)

// Pool lists the VM pool's slots with their transition logs.
func (c *Client) Pool(ctx context.Context) (api.PoolList, error) {
	var l api.PoolList
	_, err := c.do(ctx, http.MethodGet, "/api/v1/pool", nil, nil, "", &l)
	return l, err
}

// PoolHealth returns the pool's health.
func (c *Client) PoolHealth(ctx context.Context) (api.PoolHealth, error) {
	var h api.PoolHealth
	_, err := c.do(ctx, http.MethodGet, "/api/v1/pool/health", nil, nil, "", &h)
	return h, err
}

// AddSlot adds a slot to the pool; it starts by making its clean state.
func (c *Client) AddSlot(ctx context.Context, req api.SlotRequest) (api.PoolChange, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return api.PoolChange{}, err
	}
	var ch api.PoolChange
	_, err = c.do(ctx, http.MethodPost, "/api/v1/pool/slots", nil, bytes.NewReader(b), "application/json", &ch)
	return ch, err
}

// RemoveSlot drains a slot and then deletes it.
func (c *Client) RemoveSlot(ctx context.Context, name string) (api.PoolChange, error) {
	return c.slotEdit(ctx, http.MethodDelete, "/api/v1/pool/slots/"+url.PathEscape(name))
}

// DrainSlot stops a slot taking jobs after its current one.
func (c *Client) DrainSlot(ctx context.Context, name string) (api.PoolChange, error) {
	return c.slotEdit(ctx, http.MethodPost, "/api/v1/pool/slots/"+url.PathEscape(name)+"/drain")
}

// ResetSlot rebuilds a slot's clean state from a cold boot.
func (c *Client) ResetSlot(ctx context.Context, name string) (api.PoolChange, error) {
	return c.slotEdit(ctx, http.MethodPost, "/api/v1/pool/slots/"+url.PathEscape(name)+"/reset")
}

// UndrainSlot lifts a drain without a cold boot.
func (c *Client) UndrainSlot(ctx context.Context, name string) (api.PoolChange, error) {
	return c.slotEdit(ctx, http.MethodPost, "/api/v1/pool/slots/"+url.PathEscape(name)+"/undrain")
}

func (c *Client) slotEdit(ctx context.Context, method, path string) (api.PoolChange, error) {
	var ch api.PoolChange
	_, err := c.do(ctx, method, path, nil, nil, "", &ch)
	return ch, err
}
