package daemon

import (
	"bufio"
	"bytes"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/internal/vmtest"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// TestNetworkOptIn: a pool of one slot with user-mode networking and one
// without. A job asking for the network runs on the network slot, sees eth0
// and reaches a listener on the host's loopback through the user-mode
// gateway (10.0.2.2); a job without network runs on the other slot, sees
// only lo and gets ENETUNREACH for the same address.
func TestNetworkOptIn(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)

	// The host end: QEMU's user-mode stack maps the guest's 10.0.2.2 to the
	// host's 127.0.0.1.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(30 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			got <- strings.TrimSpace(line)
			c.Write([]byte("hello from the host\n"))
			c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	target := vm.UserGateway + ":" + port

	td := startDaemonWith(t, imageDir, 0, func(c *Config) {
		c.Pool = []SlotConfig{{Name: "net0", Network: vm.NetworkUser}, {Name: "plain0"}}
		c.AllowUserNetwork = true // user mode is off unless the configuration allows it
	})
	sample := filepath.Join(samplesDir, "test-netcheck")
	args := []string{vm.UserGateway, port}

	// Without network (the default).
	_, plain := td.analyse(t, sample, jobs.Options{Timeout: 20 * time.Second, Window: time.Second, Args: args})
	t.Logf("job without network: slot %s, exit %d, output:\n%s", plain.Machine.Slot, plain.Outcome.ExitCode, plain.Outcome.Output)
	if plain.Machine.Slot != "plain0" || plain.Machine.Network != "none" || len(plain.Machine.Interfaces) != 0 || plain.Machine.GuestAddr != "" {
		t.Errorf("job without network: machine %+v", plain.Machine)
	}
	if plain.Outcome.Status != trace.OutcomeExited || plain.Outcome.ExitCode != 3 {
		t.Errorf("job without network: outcome %+v, want exit 3 (connect failed)", plain.Outcome)
	}
	for _, want := range []string{"interfaces: lo\n", "connect " + target + ": failed: ENETUNREACH"} {
		if !strings.Contains(plain.Outcome.Output, want) {
			t.Errorf("job without network: output lacks %q", want)
		}
	}
	if c := findConn(plain, target); c == nil || c.OK != 0 || !strings.Contains(c.Error, "ENETUNREACH") {
		t.Errorf("job without network: connection to %s: %+v (all: %+v)", target, c, plain.Behavior.Connections)
	}
	select {
	case line := <-got:
		t.Fatalf("the host listener was reached from a VM without network: %q", line)
	default:
	}

	// With network.
	_, withNet := td.analyse(t, sample, jobs.Options{Timeout: 20 * time.Second, Window: time.Second, Args: args, Network: jobs.NetworkUser})
	t.Logf("job with network: slot %s, exit %d, interfaces %+v, output:\n%s", withNet.Machine.Slot, withNet.Outcome.ExitCode, withNet.Machine.Interfaces, withNet.Outcome.Output)
	if withNet.Machine.Slot != "net0" || withNet.Machine.Network != "user" || withNet.Machine.GuestAddr != vm.UserGuestAddr {
		t.Errorf("job with network: machine %+v", withNet.Machine)
	}
	if len(withNet.Machine.Interfaces) != 1 || withNet.Machine.Interfaces[0].Name != "eth0" || !withNet.Machine.Interfaces[0].Up {
		t.Errorf("job with network: interfaces %+v, want eth0 up", withNet.Machine.Interfaces)
	}
	if withNet.Options.Network != jobs.NetworkUser {
		t.Errorf("report options: %+v", withNet.Options)
	}
	if withNet.Outcome.Status != trace.OutcomeExited || withNet.Outcome.ExitCode != 0 {
		t.Errorf("job with network: outcome %+v, want exit 0", withNet.Outcome)
	}
	for _, want := range []string{"interfaces: eth0 lo\n", "connect " + target + ": ok", "received: hello from the host"} {
		if !strings.Contains(withNet.Outcome.Output, want) {
			t.Errorf("job with network: output lacks %q", want)
		}
	}
	if c := findConn(withNet, target); c == nil || c.OK == 0 {
		t.Errorf("job with network: connection to %s: %+v (all: %+v)", target, c, withNet.Behavior.Connections)
	}
	select {
	case line := <-got:
		if line != "hello from test-netcheck" {
			t.Errorf("host listener got %q", line)
		}
	case <-time.After(5 * time.Second):
		t.Error("the host listener was never reached from the network slot")
	}

	// What `scalemalnet report` shows.
	for _, c := range []struct {
		r    *report.Report
		want string
	}{{plain, "network: none"}, {withNet, "network: user (10.0.2.15)"}} {
		var buf bytes.Buffer
		if err := report.Render(&buf, c.r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), c.want) {
			t.Errorf("rendered report lacks %q:\n%s", c.want, buf.String())
		}
	}
}

func findConn(r *report.Report, addr string) *report.Connection {
	for i, c := range r.Behavior.Connections {
		if strings.HasSuffix(c.Addr, addr) {
			return &r.Behavior.Connections[i]
		}
	}
	return nil
}
