package api_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/api/apitest"
)

func newPoolServer(t *testing.T) (*apitest.FakePool, *httptest.Server) {
	t.Helper()
	p := apitest.NewFakePool("slot0", "slot1")
	h := api.NewHandler(apitest.NewFake(), token, api.HandlerOptions{Logger: slog.New(slog.DiscardHandler), Pool: p})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return p, srv
}

func TestPoolRoutes(t *testing.T) {
	p, srv := newPoolServer(t)
	resp, b := do(t, srv, "GET", "/api/v1/pool", token, nil, "")
	var l api.PoolList
	if resp.StatusCode != 200 || json.Unmarshal(b, &l) != nil || len(l.Slots) != 2 || len(l.Slots[0].Transitions) != 1 {
		t.Fatalf("list: %d %s", resp.StatusCode, b)
	}
	resp, b = do(t, srv, "POST", "/api/v1/pool/slots", token, strings.NewReader(`{"name":"net0","memory_mib":512,"network":"user"}`), "application/json")
	var ch api.PoolChange
	if resp.StatusCode != 201 || json.Unmarshal(b, &ch) != nil || ch.Action != "add" || ch.Slot.Network != "user" || ch.Slot.MemoryMiB != 512 {
		t.Fatalf("add: %d %s", resp.StatusCode, b)
	}
	for _, c := range []struct{ method, path, action string }{
		{"POST", "/api/v1/pool/slots/slot0/drain", "drain"},
		{"POST", "/api/v1/pool/slots/slot0/reset", "reset"},
		{"DELETE", "/api/v1/pool/slots/slot1", "remove"},
	} {
		resp, b := do(t, srv, c.method, c.path, token, nil, "")
		if resp.StatusCode != 202 || json.Unmarshal(b, &ch) != nil || ch.Action != c.action {
			t.Fatalf("%s %s: %d %s", c.method, c.path, resp.StatusCode, b)
		}
	}
	resp, b = do(t, srv, "GET", "/api/v1/pool/health", token, nil, "")
	var h api.PoolHealth
	if resp.StatusCode != 200 || json.Unmarshal(b, &h) != nil || h.Status != "ok" || len(h.Slots) != 2 {
		t.Fatalf("health: %d %s", resp.StatusCode, b)
	}
	if got := strings.Join(p.Calls, ","); got != "add net0,drain slot0,reset slot0,remove slot1" {
		t.Fatalf("calls %s", got)
	}
}

func TestPoolRouteErrors(t *testing.T) {
	_, srv := newPoolServer(t)
	for _, c := range []struct {
		method, path, body string
		status             int
		kind               api.Kind
	}{
		{"POST", "/api/v1/pool/slots", `{"name":"slot0"}`, 409, api.KindConflict},
		{"POST", "/api/v1/pool/slots", `{"name":""}`, 400, api.KindInvalid},
		{"POST", "/api/v1/pool/slots", `{}`, 400, api.KindInvalid},
		{"POST", "/api/v1/pool/slots", ``, 400, api.KindInvalid},
		{"POST", "/api/v1/pool/slots", `not json`, 400, api.KindInvalid},
		{"POST", "/api/v1/pool/slots", `{"name":"x","memory":512}`, 400, api.KindInvalid},
		{"POST", "/api/v1/pool/slots", `{"name":"x","memory_mib":"lots"}`, 400, api.KindInvalid},
		{"POST", "/api/v1/pool/slots", `{"name":"x"} {"name":"y"}`, 400, api.KindInvalid},
		{"POST", "/api/v1/pool/slots", `{"name":"` + strings.Repeat("a", 20<<10) + `"}`, 413, api.KindTooLarge},
		{"DELETE", "/api/v1/pool/slots/ghost", "", 404, api.KindNotFound},
		{"POST", "/api/v1/pool/slots/ghost/drain", "", 404, api.KindNotFound},
		{"POST", "/api/v1/pool/slots/ghost/reset", "", 404, api.KindNotFound},
		{"POST", "/api/v1/pool/slots/slot0/reset", `{"hard":true}`, 400, api.KindInvalid},
		{"GET", "/api/v1/pool/slots/slot0/frob", "", 404, api.KindNotFound},
	} {
		var body *strings.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		var resp *http.Response
		var b []byte
		if body != nil {
			resp, b = do(t, srv, c.method, c.path, token, body, "application/json")
		} else {
			resp, b = do(t, srv, c.method, c.path, token, nil, "")
		}
		wantError(t, resp, b, c.status, c.kind)
	}
	// Without the token, pool routes are refused like all others.
	resp, b := do(t, srv, "GET", "/api/v1/pool", "", nil, "")
	wantError(t, resp, b, 401, api.KindUnauthorized)
}

func TestPoolRoutesAbsentWithoutPoolService(t *testing.T) {
	_, srv := newServer(t)
	resp, b := do(t, srv, "GET", "/api/v1/pool", token, nil, "")
	wantError(t, resp, b, 404, api.KindNotFound)
}
