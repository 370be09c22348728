package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
)

func TestGC(t *testing.T) {
	f, srv := newServer(t)
	f.GCReport = api.GCReport{JobsExpired: 3, BytesFreed: 1234}
	resp, body := do(t, srv, "POST", "/api/v1/gc", token, strings.NewReader(`{"max_age":"720h","max_bytes":1000,"compact":true}`), "application/json")
	var rep api.GCReport
	if resp.StatusCode != 200 || json.Unmarshal(body, &rep) != nil || rep.JobsExpired != 3 || rep.BytesFreed != 1234 {
		t.Fatalf("gc: %d %s", resp.StatusCode, body)
	}
	// An empty body is the configured retention.
	resp, body = do(t, srv, "POST", "/api/v1/gc", token, nil, "")
	if resp.StatusCode != 200 {
		t.Fatalf("empty gc: %d %s", resp.StatusCode, body)
	}
	calls := f.GCCalls()
	want := []api.Policy{{MaxAge: 720 * time.Hour, MaxBytes: 1000, Compact: true}, {}}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Fatalf("calls %+v", calls)
	}
	for _, bad := range []string{
		`{"max_age":"-1h"}`, `{"max_bytes":-1}`, `{"max_age":"soon"}`, `{"max_age":720}`,
		`{"maxage":"1h"}`, `not json`, `{} {}`,
	} {
		resp, body := do(t, srv, "POST", "/api/v1/gc", token, strings.NewReader(bad), "application/json")
		wantError(t, resp, body, 400, api.KindInvalid)
	}
	if len(f.GCCalls()) != 2 {
		t.Fatalf("invalid requests reached the service: %+v", f.GCCalls())
	}
	resp, body = do(t, srv, "GET", "/api/v1/gc", token, nil, "")
	wantError(t, resp, body, 405, api.KindNotAllowed)
	if got := resp.Header.Get("Allow"); got != "POST" {
		t.Fatalf("Allow %q, want POST", got)
	}
	f.GCErr = fmt.Errorf("disk: %w", api.ErrUnavailable)
	resp, body = do(t, srv, "POST", "/api/v1/gc", token, nil, "")
	wantError(t, resp, body, 503, api.KindUnavailable)
}
