package agentclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/proto"
)

// PushSample sends size bytes from r as the sample, in proto.ChunkSize
// chunks, and waits for the agent to acknowledge the verified SHA-256 (hex).
// name is for display only. r must yield exactly size bytes.
func (s *Session) PushSample(ctx context.Context, name string, r io.Reader, size int64, sha256 string) error {
	if err := s.usable(); err != nil {
		return err
	}
	if size <= 0 {
		return fmt.Errorf("push sample: size %d must be positive", size)
	}
	_, stop := guard(ctx, s.conn, s.opts.callTimeout+time.Duration(size>>20)*time.Second, time.Time{})
	defer stop()
	if err := s.w.Send(proto.TypeSampleBegin, proto.SampleBegin{Name: name, Size: size, SHA256: sha256}); err != nil {
		return s.fail(ioErr(ctx, "send sample-begin", err))
	}
	buf := make([]byte, proto.ChunkSize)
	var sent int64
	for sent < size {
		n := int64(len(buf))
		if left := size - sent; left < n {
			n = left
		}
		got, err := io.ReadFull(r, buf[:n])
		if err != nil {
			// The agent is mid-upload: the session cannot continue.
			return s.fail(fmt.Errorf("push sample: read after %d of %d bytes: %w", sent+int64(got), size, err))
		}
		if err := s.w.WriteFrame(proto.TypeSampleChunk, buf[:got]); err != nil {
			return s.fail(ioErr(ctx, "send sample-chunk", err))
		}
		sent += int64(got)
	}
	var extra [1]byte
	if n, _ := r.Read(extra[:]); n > 0 {
		return s.fail(errors.New("push sample: reader has more than the declared size"))
	}
	if err := s.w.WriteFrame(proto.TypeSampleEnd, nil); err != nil {
		return s.fail(ioErr(ctx, "send sample-end", err))
	}
	_, err := s.expectAck(ctx, proto.TypeSampleEnd)
	return err
}
