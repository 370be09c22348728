package fakenet

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Packet is one record of a pcap file.
type Packet struct {
	Time    time.Time
	OrigLen int
	Data    []byte // aliases the input
}

// ReadPcap parses a libpcap file (microsecond timestamps, either byte
// order) as the responder writes it. It checks every length against the
// input and the snap length, so a truncated or hostile file gives an error
// wrapping ErrMalformed, never a panic or a large allocation.
func ReadPcap(b []byte) ([]Packet, error) {
	if len(b) < pcapHeaderLen {
		return nil, fmt.Errorf("%w: pcap: %d bytes, shorter than its header", ErrMalformed, len(b))
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: pcap: magic %#x", ErrMalformed, binary.LittleEndian.Uint32(b))
	}
	snap := bo.Uint32(b[16:])
	if lt := bo.Uint32(b[20:]); lt != linkEthernet {
		return nil, fmt.Errorf("%w: pcap: link type %d, want Ethernet", ErrMalformed, lt)
	}
	b = b[pcapHeaderLen:]
	var out []Packet
	for len(b) > 0 {
		if len(b) < pcapRecordLen {
			return out, fmt.Errorf("%w: pcap: record header cut short after %d packets", ErrMalformed, len(out))
		}
		incl, orig := bo.Uint32(b[8:]), bo.Uint32(b[12:])
		if incl > snap || incl > orig || uint64(incl) > uint64(len(b)-pcapRecordLen) {
			return out, fmt.Errorf("%w: pcap: packet %d: length %d (snap %d, orig %d, %d bytes left)", ErrMalformed, len(out)+1, incl, snap, orig, len(b)-pcapRecordLen)
		}
		ts := time.Unix(int64(bo.Uint32(b[0:])), int64(bo.Uint32(b[4:]))*1000)
		out = append(out, Packet{Time: ts, OrigLen: int(orig), Data: b[pcapRecordLen : pcapRecordLen+int(incl)]})
		b = b[pcapRecordLen+int(incl):]
	}
	return out, nil
}
