package fakenet

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// guest is a second gVisor stack playing the VM: 10.0.2.15/24, default
// route via 10.0.2.2, its frames carried to and from the responder over a
// QEMU-framed stream, as QEMU's socket netdev carries them.
type guest struct {
	s  *stack.Stack
	ch *channel.Endpoint
}

func newGuest(t *testing.T, r *Responder) *guest {
	t.Helper()
	hostEnd, guestEnd := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- r.Serve(ctx, hostEnd) }()
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol},
	})
	ch := channel.New(256, MaxFrame, tcpip.LinkAddress([]byte{0x52, 0x54, 0, 1, 2, 3}))
	if e := s.CreateNIC(1, ethernet.New(ch)); e != nil {
		t.Fatal(e)
	}
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(GuestAddr), PrefixLen: 24}}
	if e := s.AddProtocolAddress(1, pa, stack.AddressProperties{}); e != nil {
		t.Fatal(e)
	}
	s.SetRouteTable([]tcpip.Route{
		{Destination: pa.AddressWithPrefix.Subnet(), NIC: 1},
		{Destination: header.IPv4EmptySubnet, Gateway: tcpip.AddrFrom4(Gateway), NIC: 1},
	})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // guest -> responder
		defer wg.Done()
		for {
			pkt := ch.ReadContext(ctx)
			if pkt == nil {
				return
			}
			v := pkt.ToView()
			b := v.AsSlice()
			out := make([]byte, 4+len(b))
			binary.BigEndian.PutUint32(out, uint32(len(b)))
			copy(out[4:], b)
			v.Release()
			pkt.DecRef()
			if _, err := guestEnd.Write(out); err != nil {
				return
			}
		}
	}()
	go func() { // responder -> guest
		defer wg.Done()
		br := bufio.NewReader(guestEnd)
		var hdr [4]byte
		for {
			if _, err := io.ReadFull(br, hdr[:]); err != nil {
				return
			}
			f := make([]byte, binary.BigEndian.Uint32(hdr[:]))
			if _, err := io.ReadFull(br, f); err != nil {
				return
			}
			pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(f)})
			ch.InjectInbound(0, pkt)
			pkt.DecRef()
		}
	}()
	t.Cleanup(func() {
		cancel()
		guestEnd.Close()
		hostEnd.Close()
		wg.Wait()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		s.Close()
		s.Wait()
	})
	return &guest{s: s, ch: ch}
}

func addr(a [4]byte, port uint16) tcpip.FullAddress {
	return tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom4(a), Port: port}
}

func (g *guest) resolve(t *testing.T, server [4]byte, name string, typ dnsmessage.Type) dnsmessage.Message {
	t.Helper()
	c, err := gonet.DialUDP(g.s, nil, &tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom4(server), Port: 53}, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 77, RecursionDesired: true})
	b.StartQuestions()
	b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name + "."), Type: typ, Class: dnsmessage.ClassINET})
	q, _ := b.Finish()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(q); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("DNS %s: %v", name, err)
	}
	var m dnsmessage.Message
	if err := m.Unpack(buf[:n]); err != nil {
		t.Fatal(err)
	}
	return m
}

func (g *guest) dial(t *testing.T, a [4]byte, port uint16) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := gonet.DialContextTCP(ctx, g.s, addr(a, port), ipv4.ProtocolNumber)
	if err != nil {
		t.Fatalf("connect %v:%d: %v", a, port, err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// TestResponder: a guest stack resolves names, makes an HTTP request to an
// arbitrary public address and a TLS connection; the log and the pcap hold
// all of it.
func TestResponder(t *testing.T) {
	r, err := Listen(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Begin()
	g := newGuest(t, r)

	m := g.resolve(t, Resolver, "evil.example", dnsmessage.TypeA)
	if len(m.Answers) != 1 || m.Answers[0].Body.(*dnsmessage.AResource).A != Sinkhole || m.Header.ID != 77 || !m.Header.Response {
		t.Fatalf("A answer: %+v", m)
	}
	// Any address is a resolver; AAAA gets no answer.
	if m := g.resolve(t, [4]byte{8, 8, 8, 8}, "v6.example", dnsmessage.TypeAAAA); len(m.Answers) != 0 || m.Header.RCode != dnsmessage.RCodeSuccess {
		t.Fatalf("AAAA answer: %+v", m)
	}

	c := g.dial(t, [4]byte{203, 0, 113, 7}, 8080)
	io.WriteString(c, "GET /gate.php?id=1 HTTP/1.1\r\nHost: evil.example\r\nUser-Agent: smn-test\r\n\r\n")
	resp, err := io.ReadAll(c)
	c.Close()
	if !strings.HasPrefix(string(resp), "HTTP/1.1 200 OK\r\n") {
		t.Fatalf("HTTP response %q (%v)", resp, err)
	}

	tc := tls.Client(g.dial(t, Sinkhole, 443), &tls.Config{ServerName: "c2.example"})
	if err := tc.Handshake(); err == nil {
		t.Fatal("TLS handshake succeeded against a responder that has no TLS server")
	}
	tc.Close()

	// A connection that says nothing recognisable is accepted and counted.
	c = g.dial(t, [4]byte{192, 168, 1, 1}, 22)
	io.WriteString(c, "SSH-2.0-x\r\n")
	c.Close()

	deadline := time.Now().Add(10 * time.Second)
	var capt Capture
	for {
		// The TLS log entry is written when the responder has read the
		// hello, which may be after the client gave up.
		capt = r.peek()
		if len(capt.Traffic.TLS) > 0 && len(capt.Traffic.Connections) >= 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	capt = r.End()
	tr := capt.Traffic
	t.Logf("traffic: %+v", tr)
	if len(tr.DNS) != 2 || tr.DNS[0].Name != "evil.example" || tr.DNS[0].Type != "A" || tr.DNS[0].Answer != "10.0.2.4" || tr.DNS[0].Server != "10.0.2.3" ||
		tr.DNS[1].Name != "v6.example" || tr.DNS[1].Type != "AAAA" || tr.DNS[1].Answer != "" || tr.DNS[1].Server != "8.8.8.8" {
		t.Errorf("DNS log %+v", tr.DNS)
	}
	if len(tr.HTTP) != 1 || tr.HTTP[0].Method != "GET" || tr.HTTP[0].Host != "evil.example" || tr.HTTP[0].Path != "/gate.php?id=1" || tr.HTTP[0].Dst != "203.0.113.7:8080" || tr.HTTP[0].UA != "smn-test" {
		t.Errorf("HTTP log %+v", tr.HTTP)
	}
	if len(tr.TLS) != 1 || tr.TLS[0].SNI != "c2.example" || tr.TLS[0].Dst != "10.0.2.4:443" {
		t.Errorf("TLS log %+v", tr.TLS)
	}
	for _, want := range []string{"udp 10.0.2.3:53", "udp 8.8.8.8:53", "tcp 203.0.113.7:8080", "tcp 10.0.2.4:443", "tcp 192.168.1.1:22"} {
		found := false
		for _, c := range tr.Connections {
			if c.Proto+" "+net.JoinHostPort(c.Dst, strconv.Itoa(c.Port)) == want {
				found = true
			}
		}
		if !found {
			t.Errorf("connections lack %s: %+v", want, tr.Connections)
		}
	}
	pk, err := ReadPcap(capt.Pcap)
	if err != nil {
		t.Fatal(err)
	}
	if len(pk) != tr.Packets || len(pk) < 10 {
		t.Errorf("pcap has %d packets, log counts %d", len(pk), tr.Packets)
	}
	if !bytes.Contains(capt.Pcap, []byte("\x04evil\x07example\x00")) || !bytes.Contains(capt.Pcap, []byte("Host: evil.example")) {
		t.Error("pcap lacks the DNS query or the HTTP request")
	}
	// After End nothing is recorded.
	g.resolve(t, Resolver, "after.example", dnsmessage.TypeA)
	if c := r.End(); len(c.Traffic.DNS) != 0 || c.Pcap != nil {
		t.Errorf("recorded outside Begin..End: %+v", c.Traffic)
	}
}

// TestRecorderBounds: the lists and the pcap stop at their bounds and say so.
func TestRecorderBounds(t *testing.T) {
	rc := newRecorder(pcapHeaderLen+3*(pcapRecordLen+100), 3)
	for i := 0; i < 10; i++ {
		rc.frame(make([]byte, 100), time.Now())
		rc.conn("tcp", "10.0.0.1", i)
		rc.dns(DNSQuestion{Name: "x", Type: "A"}, "10.0.2.3")
	}
	rc.conn("tcp", "10.0.0.1", 0)
	c := rc.capture()
	if len(c.Traffic.Connections) != 3 || c.Traffic.Connections[0].Count != 2 || len(c.Traffic.DNS) != 3 || !c.Traffic.Truncated {
		t.Errorf("lists: %+v", c.Traffic)
	}
	pk, err := ReadPcap(c.Pcap)
	if err != nil || len(pk) != 3 || !c.Traffic.PcapTruncated || c.Traffic.Packets != 10 || c.Traffic.Bytes != 1000 {
		t.Errorf("pcap: %d packets (%v), traffic %+v", len(pk), err, c.Traffic)
	}
}

// TestServeMalformedStream: a frame length of 0 or past MaxFrame ends the
// stream with ErrStream; a frame cut short too; garbage frames are dropped.
func TestServeMalformedStream(t *testing.T) {
	r, err := Listen(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, c := range []struct {
		name   string
		stream []byte
		want   error
	}{
		{"zero length", []byte{0, 0, 0, 0}, ErrStream},
		{"huge length", []byte{0x7f, 0, 0, 0}, ErrStream},
		{"cut short", []byte{0, 0, 0, 60, 1, 2, 3}, ErrStream},
		{"garbage frames then EOF", append(frameOf(bytes.Repeat([]byte{0xff}, 60)), frameOf([]byte{1, 2, 3})...), nil},
	} {
		err := r.Serve(context.Background(), &rw{r: bytes.NewReader(c.stream)})
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: Serve = %v, want %v", c.name, err, c.want)
		}
	}
}

func frameOf(b []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
	return append(out, b...)
}

type rw struct {
	r io.Reader
	w bytes.Buffer
}

func (x *rw) Read(p []byte) (int, error)  { return x.r.Read(p) }
func (x *rw) Write(p []byte) (int, error) { return x.w.Write(p) }

// TestListenerReplacesStream: the responder serves the newest QEMU
// connection (a restore starts a new QEMU) and answers ARP over TCP.
func TestListenerReplacesStream(t *testing.T) {
	r, err := Listen(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c1, err := net.Dial("tcp4", net.JoinHostPort(r.Addr(), strconv.Itoa(r.Port())))
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	c2, err := net.Dial("tcp4", net.JoinHostPort(r.Addr(), strconv.Itoa(r.Port())))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c1.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c1.Read(make([]byte, 1)); err == nil {
		t.Error("the replaced stream is still open")
	}
	// ARP who-has 10.0.2.2 tell 10.0.2.15 on the new stream.
	mac := []byte{0x52, 0x54, 0, 9, 9, 9}
	f := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mac...)
	f = append(f, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1)
	f = append(f, mac...)
	f = append(f, GuestAddr[:]...)
	f = append(f, 0, 0, 0, 0, 0, 0)
	f = append(f, Gateway[:]...)
	f = append(f, make([]byte, 18)...)
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c2.Write(frameOf(f)); err != nil {
		t.Fatal(err)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c2, hdr[:]); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(c2, reply); err != nil {
		t.Fatal(err)
	}
	if len(reply) < 42 || !bytes.Equal(reply[0:6], mac) || reply[21] != 2 || !bytes.Equal(reply[22:28], GatewayMAC) || !bytes.Equal(reply[28:32], Gateway[:]) {
		t.Errorf("ARP reply % x", reply)
	}
}
