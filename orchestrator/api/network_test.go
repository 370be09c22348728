package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

func TestSubmitNetworkParam(t *testing.T) {
	f, srv := newServer(t)
	for q, want := range map[string]string{
		"":             jobs.NetworkNone,
		"network=none": jobs.NetworkNone,
		"network=user": jobs.NetworkUser,
	} {
		resp, body := do(t, srv, "POST", "/api/v1/jobs?"+q, token, strings.NewReader("x"), "")
		if resp.StatusCode != 201 {
			t.Fatalf("%q: %d %s", q, resp.StatusCode, body)
		}
		var j jobs.Job
		if err := json.Unmarshal(body, &j); err != nil || j.Options.Network != want {
			t.Fatalf("%q: network %q (%v), want %q: %s", q, j.Options.Network, err, want, body)
		}
		if got, err := f.Job(context.Background(), j.ID); err != nil || got.Options.Network != want {
			t.Fatalf("%q: the service got network %q (%v), want %q", q, got.Options.Network, err, want)
		}
		if want == jobs.NetworkNone && strings.Contains(string(body), `"network"`) {
			t.Fatalf("%q: a job without network should not carry the field: %s", q, body)
		}
	}
	for _, q := range []string{"network=bridge", "network=", "network=user&network=user", "network=tap0", "network=user,hostfwd=tcp::22-:22"} {
		resp, body := do(t, srv, "POST", "/api/v1/jobs?"+q, token, strings.NewReader("x"), "")
		e := wantError(t, resp, body, 400, api.KindInvalid)
		if !strings.Contains(e.Error, "network") {
			t.Errorf("%q: error does not mention the network: %s", q, e.Error)
		}
	}

	// As a multipart field before the file part.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("network", "user")
	fw, _ := mw.CreateFormFile("file", "s.elf")
	fw.Write([]byte("sample"))
	mw.Close()
	resp, body := do(t, srv, "POST", "/api/v1/jobs", token, &buf, mw.FormDataContentType())
	var j jobs.Job
	if resp.StatusCode != 201 || json.Unmarshal(body, &j) != nil || j.Options.Network != jobs.NetworkUser {
		t.Fatalf("multipart network: %d %s", resp.StatusCode, body)
	}
}

// TestSubmitNetworkRefused: the service refuses a network no slot has with
// an ErrInvalid error: a 400 carrying its message.
func TestSubmitNetworkRefused(t *testing.T) {
	f, srv := newServer(t)
	f.SubmitErr = fmt.Errorf("%w: network \"user\" requested, but no slot of this orchestrator's pool has network user", jobs.ErrInvalid)
	resp, body := do(t, srv, "POST", "/api/v1/jobs?network=user", token, strings.NewReader("x"), "")
	e := wantError(t, resp, body, 400, api.KindInvalid)
	if !strings.Contains(e.Error, "no slot") {
		t.Fatalf("error: %s", e.Error)
	}
}

// TestSubmitTagParams: tag (repeatable) and tags (comma-separated) reach
// the job's options, sorted without repeats; a bad tag is a 400.
func TestSubmitTagParams(t *testing.T) {
	f, srv := newServer(t)
	for q, want := range map[string]string{
		"tag=gpu":                 "gpu",
		"tag=win10&tag=gpu":       "gpu,win10",
		"tags=win10,+gpu,,gpu":    "gpu,win10",
		"tag=arm&tags=gpu,win10":  "arm,gpu,win10",
		"network=none&tags=linux": "linux",
	} {
		resp, body := do(t, srv, "POST", "/api/v1/jobs?"+q, token, strings.NewReader("x"), "")
		if resp.StatusCode != 201 {
			t.Fatalf("%q: %d %s", q, resp.StatusCode, body)
		}
		var j jobs.Job
		if err := json.Unmarshal(body, &j); err != nil || strings.Join(j.Options.Tags, ",") != want {
			t.Fatalf("%q: tags %q (%v), want %s: %s", q, j.Options.Tags, err, want, body)
		}
		if got, _ := f.Job(context.Background(), j.ID); strings.Join(got.Options.Tags, ",") != want {
			t.Fatalf("%q: the service got tags %q", q, got.Options.Tags)
		}
	}
	for _, q := range []string{"tag=", "tag=a,b", "tag=%0a", "tag=" + strings.Repeat("t", 65)} {
		resp, body := do(t, srv, "POST", "/api/v1/jobs?"+q, token, strings.NewReader("x"), "")
		if e := wantError(t, resp, body, 400, api.KindInvalid); !strings.Contains(e.Error, "tag") {
			t.Errorf("%q: error does not mention the tag: %s", q, e.Error)
		}
	}
}
