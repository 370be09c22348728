package proto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Send(TypeHostHello, HostHello{Version: Version, Session: "abc"}); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{7}, eagerAlloc*3)
	if err := w.WriteFrame(TypeSampleChunk, big); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(TypeBye, nil); err != nil {
		t.Fatal(err)
	}
	r := NewReader(&buf)
	var hh HostHello
	if err := r.Expect(TypeHostHello, &hh); err != nil || hh.Session != "abc" {
		t.Fatalf("%v %+v", err, hh)
	}
	f, err := r.ReadFrame()
	if err != nil || f.Type != TypeSampleChunk || !bytes.Equal(f.Payload, big) {
		t.Fatalf("chunk: %v", err)
	}
	if err := r.Expect(TypeBye, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("want EOF at a frame boundary, got %v", err)
	}
}

func TestReaderRejects(t *testing.T) {
	frame := func(mut func([]byte)) []byte {
		var buf bytes.Buffer
		NewWriter(&buf).Send(TypeHello, Hello{Version: Version})
		b := buf.Bytes()
		mut(b)
		return b
	}
	for name, c := range map[string]struct {
		b    []byte
		want error
	}{
		"magic":     {frame(func(b []byte) { b[0] = 'X' }), ErrProtocol},
		"version":   {frame(func(b []byte) { b[2] = 9 }), ErrVersion},
		"type":      {frame(func(b []byte) { b[3] = 99 }), ErrProtocol},
		"too large": {frame(func(b []byte) { binary.BigEndian.PutUint32(b[4:], DefaultMaxPayload+1) }), ErrTooLarge},
		"checksum":  {frame(func(b []byte) { b[len(b)-1] ^= 1 }), ErrProtocol},
		"truncated": {frame(func(b []byte) {})[:20], io.ErrUnexpectedEOF},
		"big truncated": {append(frame(func(b []byte) { binary.BigEndian.PutUint32(b[4:], eagerAlloc+10) })[:HeaderSize], 1, 2, 3),
			io.ErrUnexpectedEOF},
	} {
		if _, err := NewReader(bytes.NewReader(c.b)).ReadFrame(); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
}

// FuzzReadFrame feeds arbitrary bytes to the Reader: it must not panic,
// every error must be one of the documented kinds, frames must be valid, and
// memory allocated must stay proportional to the input (a header announcing
// a large payload that never arrives must not cost a large allocation).
func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Send(TypeHello, Hello{Version: Version, Session: "s"})
	w.WriteFrame(TypeSampleChunk, []byte("abc"))
	f.Add(buf.Bytes())
	f.Add([]byte("SM\x01\x09\x00\x10\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		r.MaxPayload = 4 << 20
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := 0; i < 64; i++ {
			fr, err := r.ReadFrame()
			if err != nil {
				if !errors.Is(err, ErrProtocol) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				break
			}
			if !fr.Type.Valid() || len(fr.Payload) > r.MaxPayload {
				t.Fatalf("bad frame %v len %d", fr.Type, len(fr.Payload))
			}
			var v map[string]any
			_ = fr.Decode(&v)
		}
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(8*len(data))+2*eagerAlloc+64<<10 {
			t.Fatalf("allocated %d bytes for %d input bytes", alloc, len(data))
		}
	})
}
