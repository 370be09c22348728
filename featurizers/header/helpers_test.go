package header

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// installedPEFiles lists the PE files (MZ magic) installed by the wine and
// mingw-w64 Debian packages, as scripts/pefile-parity.py finds them.
func installedPEFiles(t testing.TB) []string {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Package}\n").Output()
	if err != nil {
		return nil
	}
	re := regexp.MustCompile(`wine|mingw-w64`)
	seen := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		if !re.MatchString(p) {
			continue
		}
		l, err := exec.Command("dpkg", "-L", p).Output()
		if err != nil {
			continue
		}
		for _, f := range strings.Split(string(l), "\n") {
			if st, err := os.Lstat(f); err == nil && st.Mode().IsRegular() && st.Size() >= 2 {
				seen[f] = true
			}
		}
	}
	var files []string
	for f := range seen {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		var m [2]byte
		if _, err := fh.Read(m[:]); err == nil && string(m[:]) == "MZ" {
			files = append(files, f)
		}
		fh.Close()
	}
	sort.Strings(files)
	return files
}

// smallFiles returns up to n of paths no larger than maxSize bytes.
func smallFiles(paths []string, n int, maxSize int64) []string {
	var out []string
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.Size() <= maxSize {
			out = append(out, p)
			if len(out) == n {
				break
			}
		}
	}
	return out
}

// peSpec describes a synthetic PE32 image built by buildPE.
type peSpec struct {
	sections     int
	numSections  uint16 // header count; 0 means sections
	rawPtr       uint32 // PointerToRawData of the first section
	rawSize      uint32
	pe64         bool
	sizeOptional uint16
}

// buildPE returns a minimal valid PE (one .text section of 0x200 bytes
// unless spec says otherwise).
func buildPE(s peSpec) []byte {
	if s.sections == 0 {
		s.sections = 1
	}
	if s.numSections == 0 {
		s.numSections = uint16(s.sections)
	}
	if s.rawPtr == 0 {
		s.rawPtr = 0x200
	}
	if s.rawSize == 0 {
		s.rawSize = 0x200
	}
	ohSize := uint16(224)
	if s.pe64 {
		ohSize = 240
	}
	if s.sizeOptional == 0 {
		s.sizeOptional = ohSize
	}
	b := make([]byte, 0x400)
	le := binary.LittleEndian
	copy(b, "MZ")
	le.PutUint16(b[2:], 0x90)
	le.PutUint32(b[60:], 0x40)
	copy(b[0x40:], "PE\x00\x00")
	fh := b[0x44:]
	le.PutUint16(fh[0:], 0x14c)
	le.PutUint16(fh[2:], s.numSections)
	le.PutUint32(fh[4:], 0x50000000)
	le.PutUint16(fh[16:], s.sizeOptional)
	le.PutUint16(fh[18:], 0x0102)
	oh := b[0x58:]
	if s.pe64 {
		le.PutUint16(oh[0:], MagicPE32Plus)
		le.PutUint64(oh[24:], 0x140000000)
		le.PutUint32(oh[108:], 16)
	} else {
		le.PutUint16(oh[0:], MagicPE32)
		le.PutUint32(oh[28:], 0x400000)
		le.PutUint32(oh[92:], 16)
	}
	le.PutUint32(oh[16:], 0x1000) // entry point
	le.PutUint32(oh[32:], 0x1000) // SectionAlignment
	le.PutUint32(oh[36:], 0x200)  // FileAlignment
	le.PutUint32(oh[56:], 0x2000) // SizeOfImage
	le.PutUint32(oh[60:], 0x200)  // SizeOfHeaders
	sec := 0x58 + int(ohSize)
	for i := 0; i < s.sections && sec+40*(i+1) <= 0x200; i++ {
		sh := b[sec+40*i:]
		copy(sh, ".text")
		if i > 0 {
			copy(sh, ".data\x00")
		}
		le.PutUint32(sh[8:], 0x200)
		le.PutUint32(sh[12:], uint32(0x1000*(i+1)))
		le.PutUint32(sh[16:], s.rawSize)
		le.PutUint32(sh[20:], s.rawPtr)
		le.PutUint32(sh[36:], 0x60000020)
	}
	for i := 0x200; i < 0x400; i++ {
		b[i] = byte(i * 7)
	}
	return b
}

// wrapsSentinel reports whether err wraps one of the package's sentinels.
func wrapsSentinel(err error) bool {
	for _, s := range []error{ErrNotPE, ErrNotELF, ErrTruncated, ErrMalformed, ErrTooLarge} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
