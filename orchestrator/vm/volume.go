package vm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"
)

// ErrVolume is wrapped when a file on a host (a storage volume) is
// missing, cannot be transferred, or does not match its digest.
var ErrVolume = errors.New("host volume unusable")

// ErrMismatch is wrapped (with ErrVolume) when a host's copy of a file
// does not have the expected SHA-256.
var ErrMismatch = errors.New("digest mismatch")

// PoolName is the name of the libvirt storage pool the orchestrator keeps
// for a directory on a host: one dir pool per directory.
func PoolName(dir string) string { return "smn-" + shortDigest("pool:" + filepath.Clean(dir))[:12] }

// EnsureDir makes dir on the host a directory that libvirt manages as a
// "dir" storage pool (created with its parents when missing, started,
// autostarted), so files in it can be uploaded, downloaded, listed and
// deleted through libvirt alone.
func (l *Libvirt) EnsureDir(ctx context.Context, dir string) error {
	dir = filepath.Clean(dir)
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("%w: host directory %q is not absolute", ErrConfig, dir)
	}
	name := PoolName(dir)
	_, err := call(ctx, "storage pool "+dir, func() (struct{}, error) {
		p, err := l.conn.LookupStoragePoolByName(name)
		if err != nil {
			x, xerr := (&libvirtxml.StoragePool{Type: "dir", Name: name,
				Target: &libvirtxml.StoragePoolTarget{Path: dir}}).Marshal()
			if xerr != nil {
				return struct{}{}, xerr
			}
			if p, err = l.conn.StoragePoolDefineXML(x, 0); err != nil {
				return struct{}{}, err
			}
		}
		defer p.Free()
		if err := p.Build(libvirt.STORAGE_POOL_BUILD_NEW); err != nil {
			// An existing directory is fine; anything else shows below.
			_ = err
		}
		if active, _ := p.IsActive(); !active {
			if err := p.Create(0); err != nil {
				return struct{}{}, err
			}
		}
		_ = p.SetAutostart(true)
		return struct{}{}, p.Refresh(0)
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrVolume, err)
	}
	l.mu.Lock()
	l.pools[dir] = name
	l.mu.Unlock()
	return nil
}

// withVol runs f on the volume at path (in a directory made ready by
// EnsureDir), after refreshing its pool so files written by libvirtd or
// QEMU since are seen. A missing file wraps os.ErrNotExist.
func (l *Libvirt) withVol(ctx context.Context, what, path string, f func(*libvirt.StorageVol) error) error {
	dir, base := filepath.Split(path)
	l.mu.Lock()
	name, ok := l.pools[filepath.Clean(dir)]
	l.mu.Unlock()
	if !ok {
		name = PoolName(dir)
	}
	_, err := call(ctx, what+" "+path, func() (struct{}, error) {
		p, err := l.conn.LookupStoragePoolByName(name)
		if err != nil {
			return struct{}{}, fmt.Errorf("%w: directory %s is not prepared on the host: %v", ErrVolume, dir, err)
		}
		defer p.Free()
		if err := p.Refresh(0); err != nil {
			return struct{}{}, err
		}
		v, err := p.LookupStorageVolByName(base)
		if err != nil {
			var le libvirt.Error
			if errors.As(err, &le) && le.Code == libvirt.ERR_NO_STORAGE_VOL {
				return struct{}{}, fmt.Errorf("%w: %s on %s", os.ErrNotExist, path, l.uri)
			}
			return struct{}{}, err
		}
		defer v.Free()
		return struct{}{}, f(v)
	})
	return err
}

// StatFile implements HostFiles from the volume's XML (capacity, mtime).
func (l *Libvirt) StatFile(ctx context.Context, path string) (int64, time.Time, error) {
	var size int64
	var mtime time.Time
	err := l.withVol(ctx, "stat", path, func(v *libvirt.StorageVol) error {
		x, err := v.GetXMLDesc(0)
		if err != nil {
			return err
		}
		var vx libvirtxml.StorageVolume
		if err := vx.Unmarshal(x); err != nil {
			return err
		}
		if vx.Capacity != nil {
			size = int64(vx.Capacity.Value)
		}
		if vx.Target != nil && vx.Target.Timestamps != nil {
			mtime = parseVolTime(vx.Target.Timestamps.Mtime)
		}
		return nil
	})
	return size, mtime, err
}

func parseVolTime(s string) time.Time {
	sec, frac, _ := strings.Cut(s, ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}
	}
	var ns int64
	if frac != "" {
		frac = (frac + "000000000")[:9]
		ns, _ = strconv.ParseInt(frac, 10, 64)
	}
	return time.Unix(secs, ns).UTC()
}

// RemoveFile implements HostFiles.
func (l *Libvirt) RemoveFile(ctx context.Context, path string) error {
	err := l.withVol(ctx, "remove", path, func(v *libvirt.StorageVol) error { return v.Delete(0) })
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// TailFile implements HostFiles with a ranged virStorageVolDownload.
func (l *Libvirt) TailFile(ctx context.Context, path string, n int64) ([]byte, error) {
	var out []byte
	err := l.withVol(ctx, "read", path, func(v *libvirt.StorageVol) error {
		info, err := v.GetInfo()
		if err != nil {
			return err
		}
		size := int64(info.Capacity)
		off := max(size-n, 0)
		if size == 0 {
			return nil
		}
		return l.download(v, uint64(off), uint64(size-off), func(b []byte) error {
			out = append(out, b...)
			return nil
		})
	})
	return out, err
}

func (l *Libvirt) download(v *libvirt.StorageVol, off, length uint64, sink func([]byte) error) error {
	st, err := l.conn.NewStream(0)
	if err != nil {
		return err
	}
	defer st.Free()
	if err := v.Download(st, off, length, 0); err != nil {
		return err
	}
	var serr error
	if err := st.RecvAll(func(_ *libvirt.Stream, b []byte) (int, error) {
		if serr = sink(b); serr != nil {
			return 0, serr
		}
		return len(b), nil
	}); err != nil {
		_ = st.Abort()
		if serr != nil {
			return serr
		}
		return err
	}
	return st.Finish()
}

// VolumeName is the name a file is stored under on a host: its SHA-256
// and its base name, so different contents never share a volume and a
// present volume of the right name only needs its contents checked.
func VolumeName(sha256hex, localPath string) string {
	return sha256hex[:16] + "-" + filepath.Base(localPath)
}

// FileSHA256 hashes a local file.
func FileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Upload puts a local file into dir on the host (EnsureDir first) as the
// volume name, through virStorageVolUpload, unless a volume of that name
// and size is there already. It returns the file's path on the host.
// Upload does not check the contents: VerifyFile does.
func (l *Libvirt) Upload(ctx context.Context, dir, name, local string) (string, error) {
	dir = filepath.Clean(dir)
	hostPath := filepath.Join(dir, name)
	f, err := os.Open(local)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrVolume, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrVolume, err)
	}
	if size, _, err := l.StatFile(ctx, hostPath); err == nil && size == st.Size() {
		return hostPath, nil
	}
	_, err = call(ctx, "upload "+local+" to "+l.uri+":"+hostPath, func() (struct{}, error) {
		p, err := l.conn.LookupStoragePoolByName(PoolName(dir))
		if err != nil {
			return struct{}{}, err
		}
		defer p.Free()
		if v, err := p.LookupStorageVolByName(name); err == nil {
			// Wrong size: a partial upload. Replace it.
			_ = v.Delete(0)
			v.Free()
		}
		x, err := (&libvirtxml.StorageVolume{Type: "file", Name: name,
			Capacity: &libvirtxml.StorageVolumeSize{Value: uint64(st.Size()), Unit: "bytes"},
			Target:   &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: "raw"}},
		}).Marshal()
		if err != nil {
			return struct{}{}, err
		}
		v, err := p.StorageVolCreateXML(x, 0)
		if err != nil {
			return struct{}{}, err
		}
		defer v.Free()
		s, err := l.conn.NewStream(0)
		if err != nil {
			return struct{}{}, err
		}
		defer s.Free()
		if err := v.Upload(s, 0, uint64(st.Size()), 0); err != nil {
			_ = v.Delete(0)
			return struct{}{}, err
		}
		if err := s.SendAll(func(_ *libvirt.Stream, n int) ([]byte, error) {
			b := make([]byte, n)
			k, err := f.Read(b)
			if errors.Is(err, io.EOF) {
				return b[:0], nil
			}
			return b[:k], err
		}); err != nil {
			_ = s.Abort()
			_ = v.Delete(0)
			return struct{}{}, err
		}
		if err := s.Finish(); err != nil {
			_ = v.Delete(0)
			return struct{}{}, err
		}
		return struct{}{}, nil
	})
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrVolume, err)
	}
	return hostPath, nil
}

// VerifyFile downloads the host's copy of a file (virStorageVolDownload)
// and checks its SHA-256: libvirt has no checksum call, so reading it back
// is the check. A mismatch is an ErrVolume error naming both digests.
func (l *Libvirt) VerifyFile(ctx context.Context, hostPath, wantSHA256 string) error {
	h := sha256.New()
	var n int64
	err := l.withVol(ctx, "verify", hostPath, func(v *libvirt.StorageVol) error {
		return l.download(v, 0, 0, func(b []byte) error {
			n += int64(len(b))
			_, err := h.Write(b)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrVolume, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != wantSHA256 {
		return fmt.Errorf("%w: %w: %s on %s has SHA-256 %s (%d bytes), want %s", ErrVolume, ErrMismatch, hostPath, l.uri, got, n, wantSHA256)
	}
	return nil
}
