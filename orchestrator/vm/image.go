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
	KernelPackage string `json:"kernel_package"`
	KernelVersion string `json:"kernel_version"`
	KernelRelease string `json:"kernel_release"`
	Cmdline       string `json:"cmdline"`
	VmlinuxSHA256 string `json:"vmlinux_sha256"`
	InitrdSHA256  string `json:"initramfs_sha256"`
	Inputs        string `json:"inputs"`
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
	img := Image{
		Dir:           abs,
		Kernel:        filepath.Join(abs, "vmlinux"),
		Initrd:        filepath.Join(abs, "initramfs.cpio.gz"),
		Cmdline:       m.Cmdline,
		KernelRelease: m.KernelRelease,
		KernelPackage: m.KernelPackage,
	}
	if m.VmlinuxSHA256 == "" || m.InitrdSHA256 == "" {
		return Image{}, fmt.Errorf("%w: manifest.json lacks file digests", ErrImage)
	}
	img.Digest = shortDigest(m.VmlinuxSHA256 + ":" + m.InitrdSHA256 + ":" + m.Cmdline)
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
