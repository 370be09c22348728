package report

import "fmt"

// Guest network modes as reports name them (Machine.Network).
const (
	NetworkNone = "none"
	NetworkUser = "user"
)

// network renders the machine's network for the report header: "none", or
// the mode with the guest's address, e.g. "user (10.0.2.15)".
func network(m Machine) string {
	if m.Network == "" || m.Network == NetworkNone {
		return NetworkNone
	}
	s := clean(m.Network)
	if m.GuestAddr != "" {
		s += " (" + clean(m.GuestAddr) + ")"
	} else {
		s += " (no address)"
	}
	return s
}

// NetworkIsolated is the mode of a guest on the project's fake internet.
const NetworkIsolated = "isolated"

// Traffic is what a guest on the isolated fake internet did on the network
// (Report.Network): the responder's log of it and where its capture is.
// Every list is bounded by the responder (see orchestrator/fakenet);
// Truncated says some entries were dropped and PcapTruncated that the
// capture stopped at its size bound.
type Traffic struct {
	DNS         []DNSQuery    `json:"dns"`
	HTTP        []HTTPRequest `json:"http"`
	TLS         []TLSHello    `json:"tls"`
	Connections []NetConn     `json:"connections"`
	// Packets and Bytes count every Ethernet frame in both directions,
	// captured or not.
	Packets       int      `json:"packets"`
	Bytes         int64    `json:"bytes"`
	Truncated     bool     `json:"truncated,omitempty"`
	PcapTruncated bool     `json:"pcap_truncated,omitempty"`
	Pcap          *FileRef `json:"pcap,omitempty"` // the job's pcap artifact
}

// DNSQuery is one question the guest asked the fake resolver and what it
// got: the sinkhole address for A queries, nothing for other types.
type DNSQuery struct {
	Name   string `json:"name"`
	Type   string `json:"type"`             // "A", "AAAA", "TXT", ...
	Answer string `json:"answer,omitempty"` // the address returned, if any
	Server string `json:"server"`           // the address the query was sent to
}

// HTTPRequest is one request line (and Host header) the responder read.
type HTTPRequest struct {
	Method string `json:"method"`
	Host   string `json:"host"`
	Path   string `json:"path"`
	Dst    string `json:"dst"` // ip:port the guest connected to
	UA     string `json:"user_agent,omitempty"`
}

// TLSHello is a TLS ClientHello the responder read (never decrypted).
type TLSHello struct {
	SNI string `json:"sni"` // server name, "" when the client sent none
	Dst string `json:"dst"`
}

// NetConn is a TCP connection or UDP flow the guest opened, counted per
// destination.
type NetConn struct {
	Proto string `json:"proto"` // "tcp" or "udp"
	Dst   string `json:"dst"`   // IPv4 address
	Port  int    `json:"port"`
	Count int    `json:"count"`
}

// FileRef locates an artifact of the job.
type FileRef struct {
	Path   string `json:"path"`
	Format string `json:"format"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// traffic renders the Network section.
func (p *printer) traffic(t *Traffic) {
	if t == nil {
		return
	}
	note := fmt.Sprintf("isolated fake internet, %d packets, %d bytes", t.Packets, t.Bytes)
	if t.Truncated {
		note += ", lists truncated"
	}
	p.section("Network", note)
	if len(t.DNS) > 0 {
		p.f("  DNS queries:\n")
		for _, q := range t.DNS {
			ans := q.Answer
			if ans == "" {
				ans = "(no answer)"
			}
			p.f("    %-5s %s -> %s\n", clean(q.Type), clean(q.Name), clean(ans))
		}
	}
	if len(t.HTTP) > 0 {
		p.f("  HTTP requests:\n")
		for _, h := range t.HTTP {
			p.f("    %s http://%s%s (%s)\n", clean(h.Method), clean(h.Host), clean(h.Path), clean(h.Dst))
		}
	}
	if len(t.TLS) > 0 {
		p.f("  TLS:\n")
		for _, h := range t.TLS {
			sni := h.SNI
			if sni == "" {
				sni = "(no SNI)"
			}
			p.f("    %s (%s)\n", clean(sni), clean(h.Dst))
		}
	}
	if len(t.Connections) > 0 {
		p.f("  Connections:\n")
		for _, c := range t.Connections {
			p.f("    %s %s:%d x%d\n", clean(c.Proto), clean(c.Dst), c.Port, c.Count)
		}
	}
	if t.Pcap != nil {
		pc := ""
		if t.PcapTruncated {
			pc = ", truncated at its size bound"
		}
		p.f("  pcap: %s (%d bytes%s)\n", clean(t.Pcap.Path), t.Pcap.Size, pc)
	}
}
