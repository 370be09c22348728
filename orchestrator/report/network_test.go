package report

import (
	"bytes"
	"strings"
	"testing"
)

func TestRenderNetwork(t *testing.T) {
	for _, c := range []struct {
		m    Machine
		want string
	}{
		{Machine{Slot: "slot0"}, "network: none\n"}, // reports from before networks existed
		{Machine{Slot: "slot0", Network: NetworkNone}, "network: none\n"},
		{Machine{Slot: "net0", Network: NetworkUser, GuestAddr: "10.0.2.15"}, "network: user (10.0.2.15)\n"},
		{Machine{Slot: "net0", Network: NetworkUser}, "network: user (no address)\n"},
		{Machine{Slot: "net0", Network: "user\x1b[2J", GuestAddr: "10.0.2.15"}, `network: user\x1b[2J (10.0.2.15)`},
	} {
		r := sampleReport()
		r.Machine = c.m
		var buf bytes.Buffer
		if err := Render(&buf, r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), c.want) {
			t.Errorf("%+v: want %q in\n%s", c.m, c.want, buf.String())
		}
		if strings.Contains(buf.String(), "\x1b") {
			t.Errorf("%+v: raw control characters in output", c.m)
		}
	}
}
