// Package proto is the framed, versioned protocol between the orchestrator
// (host) and the guest agent, carried over a virtio-serial port.
//
// Every frame is a 12-byte header followed by a payload:
//
//	offset size field
//	0      2    magic 0x53 0x4D ("SM")
//	2      1    protocol version (Version)
//	3      1    message type (Type)
//	4      4    payload length, big endian (at most the reader's MaxPayload)
//	8      4    CRC-32C (Castagnoli) of the payload, big endian
//	12     n    payload: JSON for control messages, raw bytes for SampleChunk
//
// A session, always started by the host:
//
//	host  -> HostHello{Version}
//	guest <- Hello{agent version, kernel, boot id, runs since boot}
//	host  -> SetTime{unix ns}                      guest <- Ack
//	host  -> SampleBegin{name,size,sha256}, SampleChunk..., SampleEnd
//	                                               guest <- Ack (hash verified)
//	host  -> Run{timeout, window, budget}          guest <- Ack
//	guest <- Window... (one or more frames per window, in order)
//	guest <- Final{trace.Summary}
//	host  -> Bye
//
// Any side may send Error{message} instead of the expected reply; the session
// then ends. Readers reject bad magic, unknown versions, oversized payloads and
// checksum mismatches with errors wrapping ErrProtocol, so garbage on the
// channel ends the session cleanly instead of being misread.
package proto

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"strings"

	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/internal/safetext"
)

// Version is the protocol version spoken by this build. Peers with another
// version are refused at the hello.
const Version = 1

// HeaderSize is the size of a frame header in bytes.
const HeaderSize = 12

// DefaultMaxPayload bounds a frame's payload unless a reader sets its own.
const DefaultMaxPayload = 1 << 20

// ChunkSize is the payload size the host uses for SampleChunk frames.
const ChunkSize = 256 << 10

var magic = [2]byte{'S', 'M'}

// Type identifies a message.
type Type uint8

const (
	TypeHostHello   Type = 1  // host -> guest: HostHello
	TypeHello       Type = 2  // guest -> host: Hello
	TypeSetTime     Type = 3  // host -> guest: SetTime
	TypeAck         Type = 4  // guest -> host: Ack
	TypeSampleBegin Type = 5  // host -> guest: SampleBegin
	TypeSampleChunk Type = 6  // host -> guest: raw bytes
	TypeSampleEnd   Type = 7  // host -> guest: empty
	TypeRun         Type = 8  // host -> guest: Run
	TypeWindow      Type = 9  // guest -> host: WindowPart
	TypeFinal       Type = 10 // guest -> host: Final
	TypeError       Type = 11 // either way: Error
	TypeBye         Type = 12 // host -> guest: empty, session over
)

var typeNames = map[Type]string{
	TypeHostHello: "host-hello", TypeHello: "hello", TypeSetTime: "set-time",
	TypeAck: "ack", TypeSampleBegin: "sample-begin", TypeSampleChunk: "sample-chunk",
	TypeSampleEnd: "sample-end", TypeRun: "run", TypeWindow: "window",
	TypeFinal: "final", TypeError: "error", TypeBye: "bye",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Valid reports whether t is a known message type.
func (t Type) Valid() bool { _, ok := typeNames[t]; return ok }

// Error kinds. Every error from this package wraps one of them.
var (
	ErrProtocol = errors.New("protocol violation") // garbage, bad header, bad checksum, bad JSON
	ErrTooLarge = errors.New("frame too large")    // also wraps ErrProtocol
	ErrVersion  = errors.New("protocol version mismatch")
	ErrRemote   = errors.New("peer reported an error") // the peer sent an Error frame
)

// HostHello opens a session.
type HostHello struct {
	Version int    `json:"version"`
	Session string `json:"session"` // host-chosen id, echoed in Hello
}

// Hello is the agent's answer to HostHello.
type Hello struct {
	Version      int    `json:"version"`
	Session      string `json:"session"`
	AgentVersion string `json:"agent_version"`
	Kernel       string `json:"kernel"`  // uname release
	BootID       string `json:"boot_id"` // /proc/sys/kernel/random/boot_id
	Runs         int    `json:"runs"`    // samples run since boot; 0 in a clean state
	UptimeMs     int64  `json:"uptime_ms"`
	CPUs         int    `json:"cpus"`
	// Net lists the guest's network interfaces other than loopback: empty
	// in a VM without a network device.
	Net []NetInterface `json:"net,omitempty"`
}

// NetInterface is a guest network interface as Hello reports it.
type NetInterface struct {
	Name  string   `json:"name"`
	MAC   string   `json:"mac,omitempty"`
	Up    bool     `json:"up"`
	Addrs []string `json:"addrs,omitempty"` // IPv4 and IPv6 addresses, CIDR form
}

// MaxNetInterfaces bounds Hello.Net; the host ignores interfaces past it.
const MaxNetInterfaces = 16

// SetTime sets the guest's wall clock (frozen at save time after a restore).
type SetTime struct {
	UnixNano int64 `json:"unix_nano"`
}

// Ack acknowledges SetTime, SampleEnd and Run.
type Ack struct {
	For  Type   `json:"for"`
	Note string `json:"note,omitempty"`
}

// SampleBegin announces a sample; SampleChunk frames follow, then SampleEnd.
type SampleBegin struct {
	Name   string `json:"name"` // display name only; the guest picks the path
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Run starts the received sample under the tracer.
type Run struct {
	TimeoutMs  int64    `json:"timeout_ms"`
	WindowMs   int64    `json:"window_ms"`
	Args       []string `json:"args,omitempty"`
	MaxEvents  int      `json:"max_events"`  // calls kept with details; later ones only counted
	MaxWindows int      `json:"max_windows"` // windows streamed at most; run is stopped past it
	// Export is the DLL export rundll32 calls when the sample is a DLL
	// ("#1", the first ordinal, when empty).
	Export string `json:"export,omitempty"`
}

// MaxExportLen bounds Run.Export.
const MaxExportLen = 256

// Limits on Run values the agent accepts.
const (
	MinWindowMs = 10
	MaxTimeout  = 3600_000
)

// Validate checks a Run request.
func (r Run) Validate() error {
	switch {
	case r.TimeoutMs <= 0 || r.TimeoutMs > MaxTimeout:
		return fmt.Errorf("%w: timeout %d ms out of range (0, %d]", ErrProtocol, r.TimeoutMs, MaxTimeout)
	case len(r.Export) > MaxExportLen || strings.ContainsAny(r.Export, ",\x00\n"):
		return fmt.Errorf("%w: DLL export name of %d bytes (at most %d, no commas or control characters)", ErrProtocol, len(r.Export), MaxExportLen)
	case r.WindowMs < MinWindowMs:
		return fmt.Errorf("%w: window %d ms below %d", ErrProtocol, r.WindowMs, MinWindowMs)
	case r.MaxEvents <= 0 || r.MaxWindows <= 0:
		return fmt.Errorf("%w: budget must be positive", ErrProtocol)
	}
	return nil
}

// WindowPart carries one window, or part of one when its events do not fit a
// frame: parts of a window share its Index and the last has Last set. Counts
// and Dropped are sent with the last part.
type WindowPart struct {
	trace.Window
	Last bool `json:"last"`
}

// Final ends a run.
type Final struct {
	Summary trace.Summary `json:"summary"`
}

// Error reports a failure; the session ends after it.
type Error struct {
	Message string `json:"message"`
}

// MaxErrorText bounds the message of a received Error frame: RemoteError
// cuts it and strips control characters and bidirectional overrides
// (safetext.Clean) before it can reach a job's error or a terminal.
const MaxErrorText = 1024

// Frame is one decoded frame.
type Frame struct {
	Type    Type
	Payload []byte
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Writer writes frames. It is not safe for concurrent use.
type Writer struct {
	w   io.Writer
	buf []byte
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// WriteFrame writes one frame with a raw payload in a single Write call.
func (w *Writer) WriteFrame(t Type, payload []byte) error {
	if len(payload) > int(^uint32(0)) {
		return fmt.Errorf("%w: payload of %d bytes", ErrTooLarge, len(payload))
	}
	w.buf = w.buf[:0]
	w.buf = append(w.buf, magic[0], magic[1], Version, byte(t))
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(len(payload)))
	w.buf = binary.BigEndian.AppendUint32(w.buf, crc32.Checksum(payload, castagnoli))
	w.buf = append(w.buf, payload...)
	_, err := w.w.Write(w.buf)
	return err
}

// Send writes a frame whose payload is v encoded as JSON.
func (w *Writer) Send(t Type, v any) error {
	var payload []byte
	if v != nil {
		var err error
		if payload, err = json.Marshal(v); err != nil {
			return fmt.Errorf("encode %s: %w", t, err)
		}
	}
	return w.WriteFrame(t, payload)
}

// Reader reads frames, rejecting anything not produced by a Writer.
type Reader struct {
	r          io.Reader
	MaxPayload int // payloads above this are refused (ErrTooLarge); DefaultMaxPayload if 0
	hdr        [HeaderSize]byte
	// A frame read in part when a read timed out (a read deadline on a
	// net.Conn, as the host's handshake sets between its hellos): the next
	// ReadFrame goes on with it, so a deadline never cuts the stream out of
	// frame alignment. Any other error ends the frame.
	hn      int    // header bytes read
	inBody  bool   // the header is read and checked
	typ     Type   // its type
	sum     uint32 // its checksum
	want    int    // its payload size
	payload []byte // payload bytes read so far: payload[:pn]
	pn      int
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader { return &Reader{r: r, MaxPayload: DefaultMaxPayload} }

// ReadFrame reads the next frame. io.EOF is returned only at a clean frame
// boundary; a frame cut short gives io.ErrUnexpectedEOF. After a timeout
// (an error wrapping os.ErrDeadlineExceeded, or a net.Error whose Timeout
// is true) the frame read so far is kept and the next call completes it.
func (r *Reader) ReadFrame() (Frame, error) {
	if !r.inBody {
		if err := r.fill(r.hdr[:], &r.hn); err != nil {
			if isTimeout(err) {
				return Frame{}, err
			}
			if err == io.EOF && r.hn > 0 {
				err = io.ErrUnexpectedEOF
			}
			r.reset()
			return Frame{}, err
		}
		if err := r.header(); err != nil {
			r.reset()
			return Frame{}, err
		}
	}
	for r.pn < r.want {
		if r.pn == len(r.payload) {
			// Grow as bytes arrive: a header announcing a large payload
			// that never comes costs no large allocation.
			grow := min(r.want, max(2*len(r.payload), eagerAlloc)) - len(r.payload)
			r.payload = append(r.payload, make([]byte, grow)...)
		}
		if err := r.fill(r.payload, &r.pn); err != nil {
			t := r.typ
			if !isTimeout(err) {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				r.reset()
			}
			return Frame{}, fmt.Errorf("read %s payload: %w", t, err)
		}
	}
	f := Frame{Type: r.typ, Payload: r.payload[:r.want:r.want]}
	sum := r.sum
	r.reset()
	if sum != crc32.Checksum(f.Payload, castagnoli) {
		return Frame{}, fmt.Errorf("%w: %s payload checksum mismatch", ErrProtocol, f.Type)
	}
	return f, nil
}

// header checks the header in r.hdr and starts reading its payload.
func (r *Reader) header() error {
	h := r.hdr
	if h[0] != magic[0] || h[1] != magic[1] {
		return fmt.Errorf("%w: bad magic %#02x%02x", ErrProtocol, h[0], h[1])
	}
	if h[2] != Version {
		return fmt.Errorf("%w: frame version %d, want %d: %w", ErrProtocol, h[2], Version, ErrVersion)
	}
	t := Type(h[3])
	if !t.Valid() {
		return fmt.Errorf("%w: unknown message type %d", ErrProtocol, h[3])
	}
	n := binary.BigEndian.Uint32(h[4:8])
	limit := r.MaxPayload
	if limit <= 0 {
		limit = DefaultMaxPayload
	}
	if uint64(n) > uint64(limit) {
		return fmt.Errorf("%w: %s payload of %d bytes exceeds %d: %w", ErrProtocol, t, n, limit, ErrTooLarge)
	}
	r.inBody, r.typ, r.sum, r.want = true, t, binary.BigEndian.Uint32(h[8:12]), int(n)
	r.payload, r.pn = make([]byte, min(int(n), eagerAlloc)), 0
	return nil
}

// fill reads into buf[*have:] until buf is full, counting in *have what
// arrived even when a read fails.
func (r *Reader) fill(buf []byte, have *int) error {
	for empty := 0; *have < len(buf); {
		n, err := r.r.Read(buf[*have:])
		*have += n
		if err != nil {
			if *have == len(buf) {
				return nil // complete; the error comes again with the next read
			}
			return err
		}
		if n > 0 {
			empty = 0
		} else if empty++; empty == 100 { // a reader that returns nothing and no error
			return io.ErrNoProgress
		}
	}
	return nil
}

func (r *Reader) reset() {
	r.hn, r.inBody, r.typ, r.sum, r.want, r.payload, r.pn = 0, false, 0, 0, 0, nil, 0
}

// isTimeout tells a read that timed out (and may be resumed) from a
// broken stream.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// eagerAlloc is the payload size allocated up front; larger payloads grow
// as their bytes arrive.
const eagerAlloc = 64 << 10

// Decode unmarshals a JSON payload into v, wrapping failures in ErrProtocol.
// An Error frame is turned into an error wrapping ErrRemote.
func (f Frame) Decode(v any) error {
	if f.Type == TypeError {
		return f.RemoteError()
	}
	if err := json.Unmarshal(f.Payload, v); err != nil {
		return fmt.Errorf("%w: decode %s: %v", ErrProtocol, f.Type, err)
	}
	return nil
}

// RemoteError returns the error carried by an Error frame.
func (f Frame) RemoteError() error {
	var e Error
	if err := json.Unmarshal(f.Payload, &e); err != nil {
		return fmt.Errorf("%w: undecodable error frame", ErrRemote)
	}
	return fmt.Errorf("%w: %s", ErrRemote, safetext.Clean(e.Message, MaxErrorText))
}

// Expect reads the next frame and decodes it into v if it has type t. An
// Error frame yields ErrRemote; any other type yields ErrProtocol.
func (r *Reader) Expect(t Type, v any) error {
	f, err := r.ReadFrame()
	if err != nil {
		return err
	}
	if f.Type == TypeError {
		return f.RemoteError()
	}
	if f.Type != t {
		return fmt.Errorf("%w: got %s, want %s", ErrProtocol, f.Type, t)
	}
	if v == nil {
		return nil
	}
	return f.Decode(v)
}
