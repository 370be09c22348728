package vm

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrImage is wrapped when the guest image is missing or inconsistent.
var ErrImage = errors.New("guest image unusable")

// Image is a built guest image (see vmimages/): an uncompressed kernel booted
// directly and an initramfs whose /init is the agent.
type Image struct {
	Dir           string `json:"-"`
	Kernel        string `json:"-"` // absolute path of vmlinux
	Initrd        string `json:"-"` // absolute path of initramfs.cpio.gz
	Cmdline       string `json:"cmdline"`
	KernelRelease string `json:"kernel_release"`
	KernelPackage string `json:"kernel_package"`
	Digest        string `json:"digest"` // identifies the image; saved states of another digest are stale
}

// manifest mirrors the fields of vmimages' manifest.json that the
// orchestrator uses; unknown fields are ignored.
type manifest struct {
	Schema int `json:"schema"`
	Kernel struct {
		Package       string `json:"package"`
		Version       string `json:"version"`
		Release       string `json:"release"`
		Vmlinux       string `json:"vmlinux"`
		VmlinuxSHA256 string `json:"vmlinux_sha256"`
	} `json:"kernel"`
	Initramfs       string `json:"initramfs"`
	InitramfsSHA256 string `json:"initramfs_sha256"`
	Cmdline         string `json:"cmdline"`
}

// LoadImage reads dir/manifest.json and checks the files it names exist.
func LoadImage(dir string) (Image, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Image{}, fmt.Errorf("%w: %v", ErrImage, err)
	}
	b, err := os.ReadFile(filepath.Join(abs, "manifest.json"))
	if err != nil {
		return Image{}, fmt.Errorf("%w: %v (build it with `make image`)", ErrImage, err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Image{}, fmt.Errorf("%w: manifest.json: %v", ErrImage, err)
	}
	if m.Schema != 1 {
		return Image{}, fmt.Errorf("%w: manifest.json schema %d, this build reads 1", ErrImage, m.Schema)
	}
	if m.Kernel.VmlinuxSHA256 == "" || m.InitramfsSHA256 == "" || m.Kernel.Vmlinux == "" || m.Initramfs == "" {
		return Image{}, fmt.Errorf("%w: manifest.json lacks file names or digests", ErrImage)
	}
	for _, name := range []string{m.Kernel.Vmlinux, m.Initramfs} {
		if name != filepath.Base(name) {
			return Image{}, fmt.Errorf("%w: manifest names a file outside the image dir: %q", ErrImage, name)
		}
	}
	img := Image{
		Dir:           abs,
		Kernel:        filepath.Join(abs, m.Kernel.Vmlinux),
		Initrd:        filepath.Join(abs, m.Initramfs),
		Cmdline:       m.Cmdline,
		KernelRelease: m.Kernel.Release,
		KernelPackage: m.Kernel.Package + " " + m.Kernel.Version,
	}
	img.Digest = shortDigest(m.Kernel.VmlinuxSHA256 + ":" + m.InitramfsSHA256 + ":" + m.Cmdline)
	for _, p := range []string{img.Kernel, img.Initrd} {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			return Image{}, fmt.Errorf("%w: %s missing or empty", ErrImage, p)
		}
	}
	if img.Cmdline == "" {
		img.Cmdline = "console=ttyS0 panic=-1 quiet"
	}
	return img, nil
}
