package vm

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrImage is wrapped when the guest image is missing or inconsistent.
var ErrImage = errors.New("guest image unusable")

// Image is a built guest image (see vmimages/): an uncompressed kernel booted
// directly, an initramfs whose /init is the agent and, when the image has
// one, a root filesystem (squashfs) that the agent mounts read-only under a
// tmpfs overlay and switches to.
type Image struct {
	Dir           string `json:"-"`
	Kernel        string `json:"-"` // absolute path of vmlinux
	Initrd        string `json:"-"` // absolute path of initramfs.cpio.gz
	RootFS        string `json:"-"` // absolute path of rootfs.squashfs; "" for the busybox-only guest
	RootFSSize    int64  `json:"rootfs_size,omitempty"`
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
	RootFS          *struct {
		File    string `json:"file"`
		SHA256  string `json:"sha256"`
		Cmdline string `json:"cmdline"`
	} `json:"rootfs"`
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
	if img.Cmdline == "" {
		img.Cmdline = "console=ttyS0 panic=-1 quiet"
	}
	files := []string{img.Kernel, img.Initrd}
	rootDigest := ""
	if r := m.RootFS; r != nil {
		if r.File == "" || r.File != filepath.Base(r.File) || r.SHA256 == "" {
			return Image{}, fmt.Errorf("%w: manifest.json's rootfs lacks a file name inside the image dir or its digest", ErrImage)
		}
		if r.Cmdline != "" && !strings.HasPrefix(r.Cmdline, "smn.root=") {
			return Image{}, fmt.Errorf("%w: manifest.json's rootfs cmdline %q (want smn.root=DEV)", ErrImage, r.Cmdline)
		}
		img.RootFS = filepath.Join(abs, r.File)
		img.Cmdline += " " + r.Cmdline
		rootDigest = r.SHA256
		files = append(files, img.RootFS)
	}
	img.Digest = shortDigest(m.Kernel.VmlinuxSHA256 + ":" + m.InitramfsSHA256 + ":" + img.Cmdline + ":" + rootDigest)
	for _, p := range files {
		st, err := os.Stat(p)
		if err != nil || st.Size() == 0 {
			return Image{}, fmt.Errorf("%w: %s missing or empty", ErrImage, p)
		}
		if p == img.RootFS {
			img.RootFSSize = st.Size()
		}
	}
	return img, nil
}

// Wine warm-up modes of a guest with Wine (Config.Wine, smn.wine= on the
// kernel command line).
const (
	// WineWarm: before the clean state is saved the agent starts the
	// wineserver and runs one Windows program, so Wine's services are part
	// of the clean state and a Windows sample starts at once (the default).
	WineWarm = "warm"
	// WineLazy: only the wineserver is started at boot; Wine's services
	// start with the first Windows program, inside its trace. Cold boots
	// are much faster under TCG: for test suites and Linux-only pools.
	WineLazy = "lazy"
)

// WithWine returns the image booted with the given Wine warm-up mode. Its
// digest differs for WineLazy, so saved states of one mode are never
// restored for the other.
func (img Image) WithWine(mode string) (Image, error) {
	switch mode {
	case "", WineWarm:
		return img, nil
	case WineLazy:
		if img.RootFS == "" {
			return img, nil
		}
		img.Cmdline += " smn.wine=lazy"
		img.Digest = shortDigest(img.Digest + ":wine-lazy")
		return img, nil
	}
	return img, fmt.Errorf("%w: wine warm-up %q (want warm or lazy)", ErrConfig, mode)
}

// WithoutRootFS is the same image booted as the busybox-only guest of its
// initramfs (no root filesystem disk): the baseline of the benchmarks, and
// a guest for samples that need nothing else. Its digest differs, so its
// saved states are its own.
func (img Image) WithoutRootFS() Image {
	if img.RootFS == "" {
		return img
	}
	img.RootFS, img.RootFSSize = "", 0
	var keep []string
	for _, f := range strings.Fields(img.Cmdline) {
		if !strings.HasPrefix(f, "smn.root=") && !strings.HasPrefix(f, "smn.wine=") {
			keep = append(keep, f)
		}
	}
	img.Cmdline = strings.Join(keep, " ")
	img.Digest = shortDigest(img.Digest + ":no-rootfs")
	return img
}
