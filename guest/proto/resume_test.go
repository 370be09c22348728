package proto

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

// stutter hands out its bytes in the given chunk sizes, with a read timeout
// (as a deadline on a net.Conn gives) after each chunk.
type stutter struct {
	data   []byte
	chunks []int
	timed  bool // the last Read returned a timeout
}

func (s *stutter) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	if !s.timed && len(s.chunks) > 0 {
		s.timed = true
		n := min(s.chunks[0], len(p), len(s.data))
		s.chunks = s.chunks[1:]
		copy(p, s.data[:n])
		s.data = s.data[n:]
		return n, os.ErrDeadlineExceeded
	}
	s.timed = false
	if len(s.chunks) > 0 { // the next chunk comes after the next timeout
		return 0, os.ErrDeadlineExceeded
	}
	n := copy(p, s.data)
	s.data = s.data[n:]
	return n, nil
}

// A read deadline that falls inside a frame (in its header or its payload)
// must not lose the frame's start: the next ReadFrame completes it. Before,
// the stream lost alignment and the host read the payload's '{"' as a frame
// header ("bad magic 0x7b22"), failing a cold boot under load.
func TestReadFrameResumesAfterTimeout(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	long := strings.Repeat("x", 100<<10) // a payload larger than eagerAlloc
	if err := w.Send(TypeHello, Hello{Version: Version, Session: "s1", AgentVersion: long}); err != nil {
		t.Fatal(err)
	}
	if err := w.Send(TypeHello, Hello{Version: Version, Session: "s2"}); err != nil {
		t.Fatal(err)
	}
	for _, chunks := range [][]int{{3}, {HeaderSize, 10}, {HeaderSize + 5, 70 << 10, 1}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}} {
		r := NewReader(&stutter{data: bytes.Clone(buf.Bytes()), chunks: chunks})
		var got []string
		timeouts := 0
		for len(got) < 2 && timeouts < 1000 {
			f, err := r.ReadFrame()
			if err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("chunks %v: %v", chunks, err)
				}
				timeouts++
				continue
			}
			var h Hello
			if err := f.Decode(&h); err != nil {
				t.Fatalf("chunks %v: decode: %v", chunks, err)
			}
			got = append(got, h.Session)
		}
		if strings.Join(got, ",") != "s1,s2" || timeouts == 0 {
			t.Errorf("chunks %v: frames %v after %d timeouts", chunks, got, timeouts)
		}
		if _, err := r.ReadFrame(); err != io.EOF {
			t.Errorf("chunks %v: at the end %v, want io.EOF", chunks, err)
		}
	}
}

// Any other error ends the frame: a stream cut inside one is
// io.ErrUnexpectedEOF, and the reader starts afresh after it.
func TestReadFrameCutShort(t *testing.T) {
	var buf bytes.Buffer
	if err := NewWriter(&buf).Send(TypeHello, Hello{Version: Version, Session: "s1"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, HeaderSize, buf.Len() - 1} {
		r := NewReader(bytes.NewReader(buf.Bytes()[:n]))
		if _, err := r.ReadFrame(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d: %v, want io.ErrUnexpectedEOF", n, err)
		}
	}
}
