package fakenet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

const nicID = 1

// netStack is the gVisor stack serving one frame stream.
type netStack struct {
	ctx    context.Context
	cancel context.CancelFunc
	r      *Responder
	s      *stack.Stack
	ch     *channel.Endpoint
	active chan struct{} // semaphore of served connections and flows
	done   chan struct{}
}

func newNetStack(ctx context.Context, r *Responder, send func([]byte)) (*netStack, error) {
	ctx, cancel := context.WithCancel(ctx)
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
	})
	ns := &netStack{ctx: ctx, cancel: cancel, r: r, s: s, active: make(chan struct{}, maxActive), done: make(chan struct{})}
	fail := func(what string, e tcpip.Error) (*netStack, error) {
		cancel()
		s.Close()
		return nil, fmt.Errorf("fakenet: %s: %s", what, e)
	}
	ns.ch = channel.New(512, MaxFrame, tcpip.LinkAddress(GatewayMAC))
	if e := s.CreateNIC(nicID, ethernet.New(ns.ch)); e != nil {
		return fail("create NIC", e)
	}
	if e := s.SetPromiscuousMode(nicID, true); e != nil {
		return fail("promiscuous mode", e)
	}
	if e := s.SetSpoofing(nicID, true); e != nil {
		return fail("spoofing", e)
	}
	for _, a := range [][4]byte{Gateway, Resolver, Sinkhole} {
		pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(a), PrefixLen: 24}}
		if e := s.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); e != nil {
			return fail("address", e)
		}
	}
	s.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, NIC: nicID}})
	tf := tcp.NewForwarder(s, 0, 256, ns.handleTCP)
	s.SetTransportProtocolHandler(tcp.ProtocolNumber, tf.HandlePacket)
	uf := udp.NewForwarder(s, ns.handleUDP)
	s.SetTransportProtocolHandler(udp.ProtocolNumber, uf.HandlePacket)
	go func() {
		defer close(ns.done)
		for {
			pkt := ns.ch.ReadContext(ctx)
			if pkt == nil {
				return
			}
			v := pkt.ToView()
			b := bytes.Clone(v.AsSlice())
			v.Release()
			pkt.DecRef()
			send(b)
		}
	}()
	return ns, nil
}

// inject hands one frame from the guest to the stack (ethernet.Endpoint
// parses and drops what it cannot).
func (ns *netStack) inject(frame []byte) {
	if len(frame) < header.EthernetMinimumSize {
		return
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(bytes.Clone(frame))})
	ns.ch.InjectInbound(0, pkt)
	pkt.DecRef()
}

func (ns *netStack) close() {
	ns.cancel()
	<-ns.done
	ns.ch.Close()
	ns.s.Close()
	ns.s.Wait()
}

func (ns *netStack) acquire() bool {
	select {
	case ns.active <- struct{}{}:
		return true
	default:
		return false
	}
}

func (ns *netStack) release() { <-ns.active }

func addrString(a tcpip.Address) string {
	b := a.As4()
	return net.IP(b[:]).String()
}

// handleTCP accepts every connection (any address, any port).
func (ns *netStack) handleTCP(req *tcp.ForwarderRequest) {
	id := req.ID()
	dst, port := addrString(id.LocalAddress), int(id.LocalPort)
	rc := ns.r.recorder()
	if rc != nil {
		rc.conn("tcp", dst, port)
	}
	if !ns.acquire() {
		req.Complete(true) // too many at once: reset
		return
	}
	var wq waiter.Queue
	ep, err := req.CreateEndpoint(&wq)
	if err != nil {
		ns.release()
		req.Complete(true)
		return
	}
	req.Complete(false)
	c := gonet.NewTCPConn(&wq, ep)
	go func() {
		defer ns.release()
		defer c.Close()
		ns.serveStream(c, net.JoinHostPort(dst, strconv.Itoa(port)))
	}()
}

// serveStream classifies a TCP stream by its first bytes: HTTP gets logged
// and answered, a TLS ClientHello gets its SNI logged, anything else is
// read and discarded until the peer closes, the idle deadline or maxDrain.
func (ns *netStack) serveStream(c net.Conn, dst string) {
	deadline := func() { c.SetDeadline(time.Now().Add(connIdle)) }
	deadline()
	stop := context.AfterFunc(ns.ctx, func() { c.Close() })
	defer stop()
	buf := make([]byte, 0, maxSniff)
	tmp := make([]byte, 4096)
	for len(buf) < maxSniff {
		n, err := c.Read(tmp[:min(len(tmp), maxSniff-len(buf))])
		buf = append(buf, tmp[:n]...)
		if len(buf) > 0 {
			switch {
			case LooksHTTP(buf) || (len(buf) < 8 && couldBeHTTP(buf)):
				if !LooksHTTP(buf) {
					break // need more bytes for the method
				}
				h, complete, perr := ParseHTTPHead(buf)
				if perr == nil && (complete || len(buf) >= maxSniff || err != nil) {
					if rc := ns.r.recorder(); rc != nil {
						rc.http(h, dst)
					}
					body := "scalemalnet fake internet\n"
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", len(body))
					if h.Method != "HEAD" {
						io.WriteString(c, body)
					}
					return
				}
			case buf[0] == 0x16:
				sni, _, perr := ParseClientHelloSNI(buf)
				if perr == nil || len(buf) >= maxSniff || err != nil {
					if rc := ns.r.recorder(); rc != nil {
						rc.tls(sni, dst)
					}
					return // no TLS server here: the handshake fails
				}
			default:
				drain(c, deadline)
				return
			}
		}
		if err != nil {
			return
		}
		deadline()
	}
	drain(c, deadline)
}

// couldBeHTTP: b is a prefix of a known method (more bytes will tell).
func couldBeHTTP(b []byte) bool {
	for _, m := range httpMethods {
		if len(b) <= len(m) && m[:len(b)] == string(b) {
			return true
		}
	}
	return false
}

func drain(c net.Conn, deadline func()) {
	tmp := make([]byte, 4096)
	total := 0
	for total < maxDrain {
		n, err := c.Read(tmp)
		total += n
		if err != nil {
			return
		}
		deadline()
	}
}

// handleUDP serves every UDP flow: DNS on port 53 of any address, anything
// else logged and discarded.
func (ns *netStack) handleUDP(req *udp.ForwarderRequest) bool {
	id := req.ID()
	dst, port := addrString(id.LocalAddress), int(id.LocalPort)
	if rc := ns.r.recorder(); rc != nil {
		rc.conn("udp", dst, port)
	}
	if !ns.acquire() {
		return true // dropped
	}
	var wq waiter.Queue
	ep, err := req.CreateEndpoint(&wq)
	if err != nil {
		ns.release()
		return true
	}
	c := gonet.NewUDPConn(&wq, ep)
	go func() {
		defer ns.release()
		defer c.Close()
		stop := context.AfterFunc(ns.ctx, func() { c.Close() })
		defer stop()
		buf := make([]byte, 65536)
		for {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if port != 53 {
				continue
			}
			resp, qs, derr := AnswerDNS(buf[:n], Sinkhole)
			if derr != nil {
				continue
			}
			if rc := ns.r.recorder(); rc != nil {
				for _, q := range qs {
					rc.dns(q, dst)
				}
			}
			if _, err := c.Write(resp); err != nil && !errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}()
	return true
}
