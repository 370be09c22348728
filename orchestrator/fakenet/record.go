package fakenet

import (
	"bytes"
	"encoding/binary"
	"sync"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

// Capture is what the responder recorded between Begin and End: the log
// of the guest's traffic (report.Traffic without its Pcap reference, which
// the caller sets when it stores Pcap) and the capture itself.
type Capture struct {
	Traffic report.Traffic
	Pcap    []byte // libpcap format, link type Ethernet; nil when nothing was recorded
}

// recorder accumulates one capture. Every list is bounded by maxEntries,
// the pcap by maxPcap bytes.
type recorder struct {
	mu         sync.Mutex
	t          report.Traffic
	conns      map[connKey]int // index in t.Connections
	pcap       bytes.Buffer
	maxPcap    int
	maxEntries int
}

type connKey struct {
	proto, dst string
	port       int
}

const (
	pcapHeaderLen = 24
	pcapRecordLen = 16
	pcapSnapLen   = 65535
	linkEthernet  = 1
)

func newRecorder(maxPcap, maxEntries int) *recorder {
	rc := &recorder{conns: map[connKey]int{}, maxPcap: maxPcap, maxEntries: maxEntries}
	rc.t.DNS, rc.t.HTTP, rc.t.TLS, rc.t.Connections = []report.DNSQuery{}, []report.HTTPRequest{}, []report.TLSHello{}, []report.NetConn{}
	var h [pcapHeaderLen]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], pcapSnapLen)
	binary.LittleEndian.PutUint32(h[20:], linkEthernet)
	rc.pcap.Write(h[:])
	return rc
}

// frame records one Ethernet frame (either direction).
func (rc *recorder) frame(b []byte, at time.Time) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.t.Packets++
	rc.t.Bytes += int64(len(b))
	if rc.t.PcapTruncated {
		return
	}
	incl := min(len(b), pcapSnapLen)
	if rc.pcap.Len()+pcapRecordLen+incl > rc.maxPcap {
		rc.t.PcapTruncated = true
		return
	}
	var h [pcapRecordLen]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(at.Unix()))
	binary.LittleEndian.PutUint32(h[4:], uint32(at.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(h[8:], uint32(incl))
	binary.LittleEndian.PutUint32(h[12:], uint32(len(b)))
	rc.pcap.Write(h[:])
	rc.pcap.Write(b[:incl])
}

func (rc *recorder) conn(proto, dst string, port int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	k := connKey{proto, dst, port}
	if i, ok := rc.conns[k]; ok {
		rc.t.Connections[i].Count++
		return
	}
	if len(rc.t.Connections) >= rc.maxEntries {
		rc.t.Truncated = true
		return
	}
	rc.conns[k] = len(rc.t.Connections)
	rc.t.Connections = append(rc.t.Connections, report.NetConn{Proto: proto, Dst: dst, Port: port, Count: 1})
}

func (rc *recorder) dns(q DNSQuestion, server string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.t.DNS) >= rc.maxEntries {
		rc.t.Truncated = true
		return
	}
	rc.t.DNS = append(rc.t.DNS, report.DNSQuery{Name: q.Name, Type: q.Type, Answer: q.Answer, Server: server})
}

func (rc *recorder) http(h HTTPHead, dst string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.t.HTTP) >= rc.maxEntries {
		rc.t.Truncated = true
		return
	}
	rc.t.HTTP = append(rc.t.HTTP, report.HTTPRequest{Method: h.Method, Host: h.Host, Path: PathOf(h.Target), Dst: dst, UA: h.UserAgent})
}

func (rc *recorder) tls(sni, dst string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.t.TLS) >= rc.maxEntries {
		rc.t.Truncated = true
		return
	}
	rc.t.TLS = append(rc.t.TLS, report.TLSHello{SNI: sni, Dst: dst})
}

func (rc *recorder) capture() Capture {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return Capture{Traffic: rc.t, Pcap: bytes.Clone(rc.pcap.Bytes())}
}
