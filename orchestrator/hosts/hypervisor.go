package hosts

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// Hypervisor returns a vm.Hypervisor (and vm.HostFiles) for the slots of
// one host that always uses the host's current connection: a slot made
// once keeps working across reconnects, and every call while the host is
// down fails at once with an error wrapping vm.ErrHost (the slot goes
// broken with the host's reason; no call waits on a dead connection).
// A call that fails with vm.ErrHost asks the set to check the host now.
func (s *Set) Hypervisor(name string) vm.Hypervisor { return &hostHV{set: s, name: name} }

type hostHV struct {
	set  *Set
	name string
}

var (
	_ vm.Hypervisor = (*hostHV)(nil)
	_ vm.HostFiles  = (*hostHV)(nil)
)

func (h *hostHV) conn() (Conn, error) {
	c, _, _, err := h.set.Conn(h.name)
	return c, err
}

// do runs f on the current connection; a failure while the host's
// connection is no longer alive is reported as vm.ErrHost.
func (h *hostHV) do(ctx context.Context, f func(Conn) error) error {
	c, err := h.conn()
	if err != nil {
		return err
	}
	if err := f(c); err != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if aerr := c.Alive(actx); aerr != nil {
			h.set.Fail(h.name)
			return fmt.Errorf("%w (host %s: %w)", err, h.name, aerr)
		}
		return err
	}
	return nil
}

func (h *hostHV) Create(ctx context.Context, xml string) error {
	return h.do(ctx, func(c Conn) error { return c.Create(ctx, xml) })
}
func (h *hostHV) Save(ctx context.Context, name, path string) error {
	return h.do(ctx, func(c Conn) error { return c.Save(ctx, name, path) })
}
func (h *hostHV) Restore(ctx context.Context, path, xml string) error {
	return h.do(ctx, func(c Conn) error { return c.Restore(ctx, path, xml) })
}
func (h *hostHV) Destroy(ctx context.Context, name string) error {
	return h.do(ctx, func(c Conn) error { return c.Destroy(ctx, name) })
}
func (h *hostHV) Domains(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	err := h.do(ctx, func(c Conn) (err error) { out, err = c.Domains(ctx, prefix); return })
	return out, err
}
func (h *hostHV) Describe() string {
	if c, err := h.conn(); err == nil {
		return h.name + ": " + c.Describe()
	}
	return h.name + ": down"
}

// Close does nothing: the set owns the connections.
func (h *hostHV) Close() error { return nil }

func (h *hostHV) OpenChannel(ctx context.Context, domain, name string) (net.Conn, error) {
	var out net.Conn
	err := h.do(ctx, func(c Conn) (err error) { out, err = c.OpenChannel(ctx, domain, name); return })
	return out, err
}
func (h *hostHV) StatFile(ctx context.Context, path string) (int64, time.Time, error) {
	var size int64
	var mt time.Time
	err := h.do(ctx, func(c Conn) (err error) { size, mt, err = c.StatFile(ctx, path); return })
	return size, mt, err
}
func (h *hostHV) RemoveFile(ctx context.Context, path string) error {
	return h.do(ctx, func(c Conn) error { return c.RemoveFile(ctx, path) })
}
func (h *hostHV) TailFile(ctx context.Context, path string, n int64) ([]byte, error) {
	var out []byte
	err := h.do(ctx, func(c Conn) (err error) { out, err = c.TailFile(ctx, path, n); return })
	return out, err
}

// HostImage is the image as it is (or will be, once the host is up) on
// the host: the same files under the host's image directory, named by
// their digest. The paths do not depend on the connection, so a slot's
// spec is made once.
func (s *Set) HostImage(name string) (vm.Image, error) {
	h, err := s.host(name)
	if err != nil {
		return vm.Image{}, err
	}
	img := s.img
	for _, f := range []*string{&img.Kernel, &img.Initrd, &img.RootFS} {
		if *f == "" {
			continue
		}
		sum, err := s.sha(*f)
		if err != nil {
			return vm.Image{}, fmt.Errorf("%w: %w", vm.ErrImage, err)
		}
		*f = filepath.Join(h.cfg.ImageDir, vm.VolumeName(sum, *f))
	}
	img.Dir = h.cfg.ImageDir
	return img, nil
}
