package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

func TestWrongMethodIs405WithAllow(t *testing.T) {
	_, srv := newServer(t)
	for _, c := range []struct{ method, path, allow string }{
		{"DELETE", "/api/v1/health", "GET, HEAD"},
		{"PUT", "/api/v1/jobs", "GET, HEAD, POST"},
		{"GET", "/api/v1/gc", "POST"},
		{"POST", "/api/v1/jobs/20261124T014001Z-00000001/report", "GET, HEAD"},
		{"GET", "/api/v1/jobs/20261124T014001Z-00000001/cancel", "POST"},
	} {
		resp, body := do(t, srv, c.method, c.path, token, nil, "")
		wantError(t, resp, body, 405, api.KindNotAllowed)
		if got := resp.Header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
	}
	resp, body := do(t, srv, "GET", "/api/v1/nope", token, nil, "")
	wantError(t, resp, body, 404, api.KindNotFound)
	// Without the token, a wrong method is 401: nothing about routes leaks.
	resp, body = do(t, srv, "DELETE", "/api/v1/health", "", nil, "")
	wantError(t, resp, body, 401, api.KindUnauthorized)
}

func TestOptionsDurationsAreStringsInJobs(t *testing.T) {
	_, srv := newServer(t)
	resp, body := do(t, srv, "POST", "/api/v1/jobs?timeout=30s&window=500ms", token, strings.NewReader("x"), "")
	if resp.StatusCode != 201 {
		t.Fatalf("submit: %d %s", resp.StatusCode, body)
	}
	var raw struct {
		Options map[string]any `json:"options"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Options["timeout"] != "30s" || raw.Options["window"] != "500ms" {
		t.Fatalf("options %v: want timeout \"30s\", window \"500ms\"", raw.Options)
	}
}

func TestListNextCursor(t *testing.T) {
	f, srv := newServer(t)
	var ids []string
	for i := 0; i < 5; i++ {
		j, err := f.Submit(t.Context(), fmt.Sprint("s", i), strings.NewReader(fmt.Sprint(i)), jobs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	var seen []string
	path := "/api/v1/jobs?limit=2"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		resp, body := do(t, srv, "GET", path, token, nil, "")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		var l api.JobList
		if err := json.Unmarshal(body, &l); err != nil {
			t.Fatal(err)
		}
		for _, j := range l.Jobs {
			seen = append(seen, j.ID)
		}
		if l.NextCursor == "" {
			if len(l.Jobs) != 1 {
				t.Fatalf("last page has %d jobs, want 1", len(l.Jobs))
			}
			break
		}
		if l.NextCursor != l.Jobs[len(l.Jobs)-1].ID {
			t.Fatalf("next_cursor %s is not the page's last id", l.NextCursor)
		}
		path = "/api/v1/jobs?limit=2&cursor=" + l.NextCursor
	}
	if len(seen) != 5 || seen[0] != ids[4] || seen[4] != ids[0] {
		t.Fatalf("pages gave %v, want the 5 jobs newest first", seen)
	}
	// A page that exactly ends the list has no cursor.
	resp, body := do(t, srv, "GET", "/api/v1/jobs?limit=5", token, nil, "")
	if resp.StatusCode != 200 || strings.Contains(string(body), "next_cursor") {
		t.Fatalf("full list: %d %s", resp.StatusCode, body)
	}
}

func TestCancelAndDelete(t *testing.T) {
	f, srv := newServer(t)
	j, _ := f.Submit(t.Context(), "s", strings.NewReader("x"), jobs.Options{})
	resp, body := do(t, srv, "DELETE", "/api/v1/jobs/"+j.ID, token, nil, "")
	wantError(t, resp, body, 409, api.KindConflict)
	resp, body = do(t, srv, "POST", "/api/v1/jobs/"+j.ID+"/cancel", token, nil, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"state": "cancelled"`) {
		t.Fatalf("cancel: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, srv, "POST", "/api/v1/jobs/"+j.ID+"/cancel", token, nil, "")
	wantError(t, resp, body, 409, api.KindConflict)
	resp, body = do(t, srv, "DELETE", "/api/v1/jobs/"+j.ID, token, nil, "")
	if resp.StatusCode != 200 {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, srv, "GET", "/api/v1/jobs/"+j.ID, token, nil, "")
	wantError(t, resp, body, 404, api.KindNotFound)
	resp, body = do(t, srv, "DELETE", "/api/v1/jobs/"+j.ID, token, nil, "")
	wantError(t, resp, body, 404, api.KindNotFound)
	resp, body = do(t, srv, "POST", "/api/v1/jobs/"+j.ID+"/cancel", token, strings.NewReader("body"), "")
	wantError(t, resp, body, 400, api.KindInvalid)
}
