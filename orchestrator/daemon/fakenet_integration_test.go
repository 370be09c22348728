package daemon

import (
	"bytes"
	"context"
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

// netProbe is the guest sample of TestNetworkIsolated (python3 is in the
// Debian guest): it resolves a name, makes an HTTP request and a TLS
// connection to it, then tries to reach the host through every address it
// could have: the user-mode gateway (the host's loopback in user mode), the
// host's own addresses, its own 127.0.0.1 and a public address. Each probe
// sends an HTTP request and prints the first line of what answered.
const netProbe = `import socket, ssl, sys, http.client
def p(*a):
    print(*a, flush=True)
try:
    p("resolved", socket.gethostbyname("c2.evil.example"))
except Exception as e:
    p("resolve failed", e)
try:
    c = http.client.HTTPConnection("c2.evil.example", 80, timeout=15)
    c.request("GET", "/gate.php?id=42", headers={"User-Agent": "smn-probe"})
    r = c.getresponse()
    p("http", r.status, r.read().decode().strip())
except Exception as e:
    p("http failed", e)
try:
    s = socket.create_connection(("tls.evil.example", 443), timeout=15)
    ssl.create_default_context().wrap_socket(s, server_hostname="tls.evil.example")
    p("tls handshake completed")
except Exception as e:
    p("tls failed", type(e).__name__)
port = int(sys.argv[1])
for host in sys.argv[2:]:
    try:
        s = socket.create_connection((host, port), timeout=10)
        s.sendall(b"GET /probe HTTP/1.0\r\nHost: " + host.encode() + b"\r\n\r\n")
        s.settimeout(10)
        data = s.recv(200)
        s.close()
        p("probe", host, "answered:", data.split(b"\r\n")[0].decode(errors="replace"), "|", data.split(b"\r\n\r\n")[-1].decode(errors="replace").strip())
    except Exception as e:
        p("probe", host, "failed:", type(e).__name__)
`

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
	sample := filepath.Join(t.TempDir(), "netprobe.py")
	if err := os.WriteFile(sample, []byte(netProbe), 0o755); err != nil {
		t.Fatal(err)
	}

	td := startDaemonWith(t, imageDir, 0, func(c *Config) {
		c.Pool = []SlotConfig{{Name: "iso0", Network: vm.NetworkIsolated}}
	})
	job, rep := td.analyse(t, sample, jobs.Options{Timeout: 120 * time.Second, Window: time.Second, Network: jobs.NetworkIsolated, Args: append([]string{port}, probes...)})
	out := rep.Outcome.Output
	t.Logf("job %s on %s: machine %+v\noutput:\n%s", job.ID, rep.Machine.Slot, rep.Machine, out)
	if rep.Machine.Network != "isolated" || rep.Machine.GuestAddr != vm.UserGuestAddr {
		t.Errorf("machine %+v", rep.Machine)
	}
	for _, want := range []string{
		"resolved 10.0.2.4\n",
		"http 200 scalemalnet fake internet\n",
		"tls failed",
		"probe 127.0.0.1 failed: ConnectionRefusedError\n", // the guest's own loopback: nothing listens there
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
