package header

import (
	"bytes"
	"fmt"
	"sort"
)

// Caps on counts read from PE headers. They bound every allocation the
// parser makes; pefile uses the same values where it has one.
const (
	// MaxSections is the largest NumberOfSections accepted (pefile stops
	// reading at the same number; the Windows loader accepts 96).
	MaxSections = 0x800
	// MaxDataDirectories is the number of data directories read at most.
	MaxDataDirectories = 16
	// MaxResourceEntries caps the resource entries read in the whole tree.
	MaxResourceEntries = 0x8000
	// MaxResourceDirEntries caps the entries of one resource directory.
	MaxResourceDirEntries = 4096
	// MaxResourceDepth caps the nesting of resource directories.
	MaxResourceDepth = 32
)

// PE optional header magics.
const (
	MagicPE32     = 0x10b
	MagicPE32Plus = 0x20b
)

// DOSHeader is IMAGE_DOS_HEADER as read.
type DOSHeader struct {
	Magic, Cblp, Cp, Crlc, Cparhdr, Minalloc, Maxalloc, Ss, Sp, Csum, Ip, Cs, Lfarlc, Ovno uint16
	Res                                                                                    [4]uint16
	Oemid, Oeminfo                                                                         uint16
	Res2                                                                                   [10]uint16
	Lfanew                                                                                 uint32
}

// FileHeader is the COFF IMAGE_FILE_HEADER.
type FileHeader struct {
	Machine              uint16
	NumberOfSections     uint16
	TimeDateStamp        uint32
	PointerToSymbolTable uint32
	NumberOfSymbols      uint32
	SizeOfOptionalHeader uint16
	Characteristics      uint16
}

// OptionalHeader holds the PE32 and PE32+ optional header fields; for PE32+
// BaseOfData is 0 (the field does not exist) and the 64-bit fields are full
// width.
type OptionalHeader struct {
	Magic                                                                      uint16
	MajorLinkerVersion, MinorLinkerVersion                                     uint8
	SizeOfCode, SizeOfInitializedData, SizeOfUninitializedData                 uint32
	AddressOfEntryPoint, BaseOfCode, BaseOfData                                uint32
	ImageBase                                                                  uint64
	SectionAlignment, FileAlignment                                            uint32
	MajorOperatingSystemVersion, MinorOperatingSystemVersion                   uint16
	MajorImageVersion, MinorImageVersion                                       uint16
	MajorSubsystemVersion, MinorSubsystemVersion                               uint16
	Win32VersionValue, SizeOfImage, SizeOfHeaders, CheckSum                    uint32
	Subsystem, DllCharacteristics                                              uint16
	SizeOfStackReserve, SizeOfStackCommit, SizeOfHeapReserve, SizeOfHeapCommit uint64
	LoaderFlags, NumberOfRvaAndSizes                                           uint32
}

// DataDirectory is one IMAGE_DATA_DIRECTORY entry.
type DataDirectory struct {
	VirtualAddress, Size uint32
}

// Section is one IMAGE_SECTION_HEADER.
type Section struct {
	Name                 [8]byte
	VirtualSize          uint32
	VirtualAddress       uint32
	SizeOfRawData        uint32
	PointerToRawData     uint32
	PointerToRelocations uint32
	PointerToLinenumbers uint32
	NumberOfRelocations  uint16
	NumberOfLinenumbers  uint16
	Characteristics      uint32

	nextVA    uint32 // VirtualAddress of the next section in VA order
	hasNextVA bool
}

// NameString returns the section name cut at the first NUL.
func (s *Section) NameString() string {
	if i := bytes.IndexByte(s.Name[:], 0); i >= 0 {
		return string(s.Name[:i])
	}
	return string(s.Name[:])
}

// PEFile is a parsed PE image. Sections are kept in the order pefile keeps
// them: sorted by VirtualAddress, after dropping entries pefile drops.
type PEFile struct {
	Data     []byte
	DOS      DOSHeader
	File     FileHeader
	Optional OptionalHeader
	// DataDirs holds at most MaxDataDirectories entries.
	DataDirs []DataDirectory
	Sections []Section
	// Version is the first version resource pefile would record, or nil.
	Version *VersionInfo
	// Warnings lists oddities that did not stop parsing.
	Warnings []string

	headerLen int // length of pefile's "header" slice, used for RVA lookups
}

// Is64 reports whether the optional header is PE32+.
func (f *PEFile) Is64() bool { return f.Optional.Magic == MagicPE32Plus }

// ParsePE parses b as a PE file; b must not exceed DefaultMaxFileSize.
func ParsePE(b []byte) (*PEFile, error) { return ParsePEMax(b, DefaultMaxFileSize) }

// ParsePEMax parses b as a PE file, refusing inputs larger than max bytes.
func ParsePEMax(b []byte, max int) (*PEFile, error) {
	if max > 0 && len(b) > max {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), max)
	}
	f := &PEFile{Data: b}
	if err := f.parseHeaders(); err != nil {
		return nil, err
	}
	if err := f.parseSections(); err != nil {
		return nil, err
	}
	f.parseResources()
	return f, nil
}

func (f *PEFile) warn(format string, args ...any) {
	if len(f.Warnings) < 64 {
		f.Warnings = append(f.Warnings, fmt.Sprintf(format, args...))
	}
}

func (f *PEFile) parseHeaders() error {
	b := f.Data
	if len(b) == 0 {
		return fmt.Errorf("%w: empty input", ErrNotPE)
	}
	dos, err := span(b, 0, 64, "DOS header")
	if err != nil {
		return err
	}
	d := &f.DOS
	w := func(i int) uint16 { return le16(dos, 2*i) }
	d.Magic, d.Cblp, d.Cp, d.Crlc, d.Cparhdr, d.Minalloc, d.Maxalloc = w(0), w(1), w(2), w(3), w(4), w(5), w(6)
	d.Ss, d.Sp, d.Csum, d.Ip, d.Cs, d.Lfarlc, d.Ovno = w(7), w(8), w(9), w(10), w(11), w(12), w(13)
	for i := range d.Res {
		d.Res[i] = w(14 + i)
	}
	d.Oemid, d.Oeminfo = w(18), w(19)
	for i := range d.Res2 {
		d.Res2[i] = w(20 + i)
	}
	d.Lfanew = le32(dos, 60)
	if d.Magic != 0x5a4d { // "MZ"
		return fmt.Errorf("%w: DOS magic %#04x", ErrNotPE, d.Magic)
	}
	if uint64(d.Lfanew) > uint64(len(b)) {
		return fmt.Errorf("%w: e_lfanew %#x past end of %d-byte file", ErrNotPE, d.Lfanew, len(b))
	}
	nt := uint64(d.Lfanew)
	sig, err := span(b, nt, 4, "PE signature")
	if err != nil {
		return err
	}
	if !bytes.Equal(sig, []byte("PE\x00\x00")) {
		return fmt.Errorf("%w: signature %q at %#x", ErrNotPE, sig, nt)
	}
	fh, err := span(b, nt+4, 20, "file header")
	if err != nil {
		return err
	}
	f.File = FileHeader{le16(fh, 0), le16(fh, 2), le32(fh, 4), le32(fh, 8), le32(fh, 12), le16(fh, 16), le16(fh, 18)}
	if f.File.NumberOfSections > MaxSections {
		return malformed("NumberOfSections %d over cap %d", f.File.NumberOfSections, MaxSections)
	}
	return f.parseOptional(nt + 24)
}

// parseOptional reads the optional header at off the way pefile does: a
// header cut short is zero-padded when at least 69 (PE32) or 73 (PE32+)
// bytes are present.
func (f *PEFile) parseOptional(off uint64) error {
	avail := uint64(len(f.Data)) - off
	if avail < 69 {
		return truncated("optional header", off, 69, len(f.Data))
	}
	var oh [0x200 + 128]byte
	copy(oh[:], f.Data[off:min(off+0x200, uint64(len(f.Data)))])
	o := &f.Optional
	o.Magic = le16(oh[:], 0)
	o.MajorLinkerVersion, o.MinorLinkerVersion = oh[2], oh[3]
	o.SizeOfCode, o.SizeOfInitializedData, o.SizeOfUninitializedData = le32(oh[:], 4), le32(oh[:], 8), le32(oh[:], 12)
	o.AddressOfEntryPoint, o.BaseOfCode = le32(oh[:], 16), le32(oh[:], 20)
	size := uint64(96)
	var p int // offset of SectionAlignment
	if o.Magic == MagicPE32Plus {
		if avail < 73 {
			return truncated("PE32+ optional header", off, 73, len(f.Data))
		}
		size = 112
		o.ImageBase = le64(oh[:], 24)
		p = 32
	} else {
		if o.Magic != MagicPE32 {
			f.warn("invalid optional header magic %#04x", o.Magic)
		}
		o.BaseOfData = le32(oh[:], 24)
		o.ImageBase = uint64(le32(oh[:], 28))
		p = 32
	}
	o.SectionAlignment, o.FileAlignment = le32(oh[:], p), le32(oh[:], p+4)
	o.MajorOperatingSystemVersion, o.MinorOperatingSystemVersion = le16(oh[:], p+8), le16(oh[:], p+10)
	o.MajorImageVersion, o.MinorImageVersion = le16(oh[:], p+12), le16(oh[:], p+14)
	o.MajorSubsystemVersion, o.MinorSubsystemVersion = le16(oh[:], p+16), le16(oh[:], p+18)
	o.Win32VersionValue, o.SizeOfImage, o.SizeOfHeaders, o.CheckSum = le32(oh[:], p+20), le32(oh[:], p+24), le32(oh[:], p+28), le32(oh[:], p+32)
	o.Subsystem, o.DllCharacteristics = le16(oh[:], p+36), le16(oh[:], p+38)
	q := p + 40
	if o.Magic == MagicPE32Plus {
		o.SizeOfStackReserve, o.SizeOfStackCommit = le64(oh[:], q), le64(oh[:], q+8)
		o.SizeOfHeapReserve, o.SizeOfHeapCommit = le64(oh[:], q+16), le64(oh[:], q+24)
		q += 32
	} else {
		o.SizeOfStackReserve, o.SizeOfStackCommit = uint64(le32(oh[:], q)), uint64(le32(oh[:], q+4))
		o.SizeOfHeapReserve, o.SizeOfHeapCommit = uint64(le32(oh[:], q+8)), uint64(le32(oh[:], q+12))
		q += 16
	}
	o.LoaderFlags, o.NumberOfRvaAndSizes = le32(oh[:], q), le32(oh[:], q+4)

	// Data directories: at most 16, stopping at the end of the file; a
	// last entry cut short is zero-padded (as pefile does).
	n := min(uint64(o.NumberOfRvaAndSizes&0x7fffffff), MaxDataDirectories)
	dd := off + size
	f.DataDirs = make([]DataDirectory, 0, n)
	for i := uint64(0); i < n; i++ {
		at := dd + 8*i
		if at >= uint64(len(f.Data)) {
			break
		}
		var e [8]byte
		copy(e[:], f.Data[at:])
		f.DataDirs = append(f.DataDirs, DataDirectory{le32(e[:], 0), le32(e[:], 4)})
	}
	return nil
}

// parseSections reads the section table the way pefile does: it stops at
// an all-zero entry or the end of the file, drops an entry with three or
// more impossible values (and stops there), then sorts by VirtualAddress.
func (f *PEFile) parseSections() error {
	b := f.Data
	o := &f.Optional
	off := uint64(f.DOS.Lfanew) + 24 + uint64(f.File.SizeOfOptionalHeader)
	n := int(f.File.NumberOfSections)
	room := 0
	if off < uint64(len(b)) {
		room = int((uint64(len(b))-off)/40) + 1
	}
	f.Sections = make([]Section, 0, min(n, room))
	for i := 0; i < n; i++ {
		at := off + 40*uint64(i)
		if at >= uint64(len(b)) {
			f.warn("section %d: no data in the file", i)
			break
		}
		raw, err := span(b, at, 40, "section header")
		if err != nil {
			return err
		}
		if allZero(raw) {
			f.warn("section %d: all zero", i)
			break
		}
		var s Section
		copy(s.Name[:], raw[:8])
		s.VirtualSize, s.VirtualAddress, s.SizeOfRawData, s.PointerToRawData = le32(raw, 8), le32(raw, 12), le32(raw, 16), le32(raw, 20)
		s.PointerToRelocations, s.PointerToLinenumbers = le32(raw, 24), le32(raw, 28)
		s.NumberOfRelocations, s.NumberOfLinenumbers, s.Characteristics = le16(raw, 32), le16(raw, 34), le32(raw, 36)
		errs := 0
		if uint64(s.SizeOfRawData)+uint64(s.PointerToRawData) > uint64(len(b)) {
			errs++
		}
		if uint64(adjustFileAlignment(s.PointerToRawData, o.FileAlignment)) > uint64(len(b)) {
			errs++
		}
		if s.VirtualSize > 0x10000000 {
			errs++
		}
		if adjustSectionAlignment(s.VirtualAddress, o.SectionAlignment, o.FileAlignment) > 0x10000000 {
			errs++
		}
		if o.FileAlignment != 0 && s.PointerToRawData%o.FileAlignment != 0 {
			errs++
		}
		if errs >= 3 {
			f.warn("section %d: too many errors, stopped", i)
			break
		}
		f.Sections = append(f.Sections, s)
	}
	sort.SliceStable(f.Sections, func(i, j int) bool { return f.Sections[i].VirtualAddress < f.Sections[j].VirtualAddress })
	for i := range f.Sections {
		if i+1 < len(f.Sections) {
			f.Sections[i].nextVA, f.Sections[i].hasNextVA = f.Sections[i+1].VirtualAddress, true
		}
	}
	// pefile's "header": the bytes before the lowest section data, or
	// before the end of the section table.
	end := off
	if n > 0 && len(f.Sections) > 0 {
		end = off + 40*uint64(n)
	}
	lowest, found := uint64(0), false
	for _, s := range f.Sections {
		if s.PointerToRawData > 0 {
			p := uint64(adjustFileAlignment(s.PointerToRawData, o.FileAlignment))
			if !found || p < lowest {
				lowest, found = p, true
			}
		}
	}
	if lowest == 0 || lowest < end {
		f.headerLen = int(min(end, uint64(len(b))))
	} else {
		f.headerLen = int(min(lowest, uint64(len(b))))
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
