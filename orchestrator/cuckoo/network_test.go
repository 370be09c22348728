package cuckoo

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

// TestFakeNetwork: an isolated job's traffic log fills Cuckoo's network
// lists, and its route is "inetsim" (both ways).
func TestFakeNetwork(t *testing.T) {
	var n Network
	fakeNetwork(&n, &report.Traffic{
		DNS:         []report.DNSQuery{{Name: "evil.example", Type: "A", Answer: "10.0.2.4"}, {Name: "evil.example", Type: "AAAA"}},
		HTTP:        []report.HTTPRequest{{Method: "POST", Host: "evil.example", Path: "/up", Dst: "10.0.2.4:8080", UA: "x"}},
		Connections: []report.NetConn{{Proto: "udp", Dst: "10.0.2.3", Port: 53, Count: 2}, {Proto: "tcp", Dst: "10.0.2.4", Port: 8080, Count: 1}},
	})
	b, _ := json.Marshal(n)
	for _, want := range []string{`"domains":[{"domain":"evil.example","ip":"10.0.2.4"}]`, `{"answers":[{"data":"10.0.2.4","type":"A"}],"request":"evil.example","type":"A"}`,
		`"answers":[],"request":"evil.example","type":"AAAA"`, `"uri":"http://evil.example/up"`, `"port":8080`, `"udp":[{"count":2,"dport":53,"dst":"10.0.2.3"}]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("network lacks %s:\n%s", want, b)
		}
	}
	if routeOf(jobs.NetworkIsolated) != "inetsim" || routeOf(jobs.NetworkUser) != "internet" || routeOf(jobs.NetworkNone) != "none" {
		t.Error("routes")
	}
	o, ignored, err := parseOptions("route=inetsim")
	if err != nil || o.Network != jobs.NetworkIsolated || len(ignored) != 0 {
		t.Errorf("route=inetsim: %+v %v %v", o, ignored, err)
	}
}
