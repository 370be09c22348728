package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

// TestPcapRoute: GET /jobs/{id}/pcap is 409 while the job runs, 404 for a
// finished job without a capture, and the capture as stored otherwise.
func TestPcapRoute(t *testing.T) {
	f, srv := newServer(t)
	resp, body := do(t, srv, "POST", "/api/v1/jobs?network=isolated", token, strings.NewReader("sample"), "")
	var j jobs.Job
	if json.Unmarshal(body, &j); resp.StatusCode != 201 || j.Options.Network != jobs.NetworkIsolated {
		t.Fatalf("submit network=isolated: %d %s", resp.StatusCode, body)
	}
	f.Update(j.ID, func(j *jobs.Job) { j.State = jobs.Running })
	resp, body = do(t, srv, "GET", "/api/v1/jobs/"+j.ID+"/pcap", token, nil, "")
	wantError(t, resp, body, 409, api.KindNotReady)
	f.Finish(j.ID, &report.Report{Schema: 1, JobID: j.ID}, []byte("gz"))
	resp, body = do(t, srv, "GET", "/api/v1/jobs/"+j.ID+"/pcap", token, nil, "")
	wantError(t, resp, body, 404, api.KindNotFound)
	pcap := "\xd4\xc3\xb2\xa1\x02\x00\x04\x00"
	f.SetPcap(j.ID, []byte(pcap))
	resp, body = do(t, srv, "GET", "/api/v1/jobs/"+j.ID+"/pcap", token, nil, "")
	if resp.StatusCode != 200 || string(body) != pcap || resp.Header.Get("Content-Type") != "application/vnd.tcpdump.pcap" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), ".pcap") {
		t.Fatalf("pcap: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	resp, body = do(t, srv, "GET", "/api/v1/jobs/"+j.ID+"/pcap", "wrong", nil, "")
	if resp.StatusCode != 401 {
		t.Fatalf("pcap without the token: %d", resp.StatusCode)
	}
}
