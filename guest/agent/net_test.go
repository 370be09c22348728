package agent

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/proto"
)

func TestHelloReportsInterfaces(t *testing.T) {
	if h := New(Config{}).hello("s"); len(h.Net) != 0 {
		t.Fatalf("without Config.Interfaces no interface is reported: %+v", h.Net)
	}
	eth := proto.NetInterface{Name: "eth0", MAC: "52:54:00:00:00:01", Up: true, Addrs: []string{"10.0.2.15/24"}}
	a := New(Config{Interfaces: func() []proto.NetInterface { return []proto.NetInterface{eth} }})
	h := a.hello("s")
	if len(h.Net) != 1 || h.Net[0].Name != "eth0" || !h.Net[0].Up {
		t.Fatalf("hello net: %+v", h.Net)
	}
	b, err := json.Marshal(h)
	if err != nil || !strings.Contains(string(b), `"net":[{"name":"eth0","mac":"52:54:00:00:00:01","up":true,"addrs":["10.0.2.15/24"]}]`) {
		t.Fatalf("hello JSON: %s %v", b, err)
	}
	var back proto.Hello
	if err := json.Unmarshal(b, &back); err != nil || len(back.Net) != 1 || back.Net[0].Addrs[0] != "10.0.2.15/24" {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	if b, _ := json.Marshal(proto.Hello{}); strings.Contains(string(b), `"net"`) {
		t.Fatalf("a hello without interfaces carries no net field: %s", b)
	}
}

func TestNetInterfacesSkipsLoopback(t *testing.T) {
	for _, n := range NetInterfaces() {
		if n.Name == "lo" {
			t.Fatalf("loopback reported: %+v", n)
		}
	}
	if n := len(NetInterfaces()); n > proto.MaxNetInterfaces {
		t.Fatalf("%d interfaces reported, at most %d", n, proto.MaxNetInterfaces)
	}
}
