package header

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Caps on ELF counts; no allocation is sized by a header field beyond them.
const (
	MaxELFProgramHeaders = 4096
	MaxELFSections       = 4096
	MaxELFDynamicEntries = 1 << 16
)

// ELF constants used by the parser and the feature set.
const (
	ptLoad, ptDynamic, ptInterp, ptNote, ptTLS = 1, 2, 3, 4, 7
	ptGNUEHFrame, ptGNUStack, ptGNURelro       = 0x6474e550, 0x6474e551, 0x6474e552
	pfX, pfW                                   = 1, 2
	shtProgbits, shtSymtab, shtStrtab, shtRela = 1, 2, 3, 4
	shtDynamic, shtNote, shtNobits, shtRel     = 6, 7, 8, 9
	shtDynsym                                  = 11
	dtNeeded, dtRpath, dtRunpath, dtFlags      = 1, 15, 29, 30
	dtFlags1, dtBindNow                        = 0x6ffffffb, 24
)

// ELFProg is one program header.
type ELFProg struct {
	Type, Flags                         uint32
	Offset, Vaddr, Filesz, Memsz, Align uint64
}

// ELFSection is one section header; Name is resolved from .shstrtab.
type ELFSection struct {
	Name                               string
	Type                               uint32
	Flags, Addr, Offset, Size, Entsize uint64
	Link                               uint32
}

// ELFDyn is one dynamic-section entry.
type ELFDyn struct{ Tag, Val uint64 }

// ELFFile is a parsed ELF image.
type ELFFile struct {
	Data       []byte
	Class      uint8 // 1 = 32-bit, 2 = 64-bit
	ByteOrder  uint8 // 1 = little, 2 = big endian
	OSABI      uint8
	Type       uint16
	Machine    uint16
	Version    uint32
	Entry      uint64
	Flags      uint32
	Shstrndx   uint16
	Progs      []ELFProg
	Sections   []ELFSection
	Dynamic    []ELFDyn
	Interp     string
	ShstrndxOK bool

	bo        binary.ByteOrder
	tablesEnd uint64 // end of the program and section header tables
}

// IsELF reports whether b starts with the ELF magic.
func IsELF(b []byte) bool { return len(b) >= 4 && bytes.Equal(b[:4], []byte("\x7fELF")) }

// ParseELF parses b as an ELF file; b must not exceed DefaultMaxFileSize.
func ParseELF(b []byte) (*ELFFile, error) { return ParseELFMax(b, DefaultMaxFileSize) }

// ParseELFMax parses b as an ELF file, refusing inputs over max bytes.
func ParseELFMax(b []byte, max int) (*ELFFile, error) {
	if max > 0 && len(b) > max {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), max)
	}
	if !IsELF(b) {
		return nil, fmt.Errorf("%w: no ELF magic", ErrNotELF)
	}
	ident, err := span(b, 0, 16, "ELF ident")
	if err != nil {
		return nil, err
	}
	f := &ELFFile{Data: b, Class: ident[4], ByteOrder: ident[5], OSABI: ident[7]}
	switch f.ByteOrder {
	case 1:
		f.bo = binary.LittleEndian
	case 2:
		f.bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: byte order %d", ErrNotELF, f.ByteOrder)
	}
	var phoff, shoff uint64
	var phentsize, phnum, shentsize, shnum uint16
	switch f.Class {
	case 1:
		h, err := span(b, 0, 52, "ELF32 header")
		if err != nil {
			return nil, err
		}
		f.Type, f.Machine, f.Version = f.bo.Uint16(h[16:]), f.bo.Uint16(h[18:]), f.bo.Uint32(h[20:])
		f.Entry, phoff, shoff = uint64(f.bo.Uint32(h[24:])), uint64(f.bo.Uint32(h[28:])), uint64(f.bo.Uint32(h[32:]))
		f.Flags = f.bo.Uint32(h[36:])
		phentsize, phnum, shentsize, shnum, f.Shstrndx = f.bo.Uint16(h[42:]), f.bo.Uint16(h[44:]), f.bo.Uint16(h[46:]), f.bo.Uint16(h[48:]), f.bo.Uint16(h[50:])
	case 2:
		h, err := span(b, 0, 64, "ELF64 header")
		if err != nil {
			return nil, err
		}
		f.Type, f.Machine, f.Version = f.bo.Uint16(h[16:]), f.bo.Uint16(h[18:]), f.bo.Uint32(h[20:])
		f.Entry, phoff, shoff = f.bo.Uint64(h[24:]), f.bo.Uint64(h[32:]), f.bo.Uint64(h[40:])
		f.Flags = f.bo.Uint32(h[48:])
		phentsize, phnum, shentsize, shnum, f.Shstrndx = f.bo.Uint16(h[54:]), f.bo.Uint16(h[56:]), f.bo.Uint16(h[58:]), f.bo.Uint16(h[60:]), f.bo.Uint16(h[62:])
	default:
		return nil, fmt.Errorf("%w: class %d", ErrNotELF, f.Class)
	}
	if err := f.parseProgs(phoff, phentsize, phnum); err != nil {
		return nil, err
	}
	if err := f.parseSections(shoff, shentsize, shnum); err != nil {
		return nil, err
	}
	f.parseDynamic()
	return f, nil
}

func (f *ELFFile) is64() bool { return f.Class == 2 }

func (f *ELFFile) parseProgs(off uint64, entsize, num uint16) error {
	if num == 0 {
		return nil
	}
	minEnt := uint16(32)
	if f.is64() {
		minEnt = 56
	}
	if num == 0xffff || num > MaxELFProgramHeaders {
		return malformed("e_phnum %d over cap %d", num, MaxELFProgramHeaders)
	}
	if entsize < minEnt {
		return malformed("e_phentsize %d below %d", entsize, minEnt)
	}
	tab, err := span(f.Data, off, uint64(entsize)*uint64(num), "program header table")
	if err != nil {
		return err
	}
	f.tablesEnd = max(f.tablesEnd, off+uint64(len(tab)))
	f.Progs = make([]ELFProg, num)
	for i := range f.Progs {
		p := tab[int(entsize)*i:]
		pr := &f.Progs[i]
		if f.is64() {
			pr.Type, pr.Flags = f.bo.Uint32(p), f.bo.Uint32(p[4:])
			pr.Offset, pr.Vaddr, pr.Filesz, pr.Memsz, pr.Align = f.bo.Uint64(p[8:]), f.bo.Uint64(p[16:]), f.bo.Uint64(p[32:]), f.bo.Uint64(p[40:]), f.bo.Uint64(p[48:])
		} else {
			pr.Type, pr.Offset, pr.Vaddr = f.bo.Uint32(p), uint64(f.bo.Uint32(p[4:])), uint64(f.bo.Uint32(p[8:]))
			pr.Filesz, pr.Memsz, pr.Flags, pr.Align = uint64(f.bo.Uint32(p[16:])), uint64(f.bo.Uint32(p[20:])), f.bo.Uint32(p[24:]), uint64(f.bo.Uint32(p[28:]))
		}
		if pr.Type == ptInterp && f.Interp == "" {
			if d, err := span(f.Data, pr.Offset, min(pr.Filesz, 4096), "PT_INTERP"); err == nil {
				f.Interp = string(bytes.TrimRight(cstr(d), "\x00"))
			}
		}
	}
	return nil
}

func (f *ELFFile) parseSections(off uint64, entsize, num uint16) error {
	if num == 0 || off == 0 {
		return nil
	}
	minEnt := uint16(40)
	if f.is64() {
		minEnt = 64
	}
	if num > MaxELFSections {
		return malformed("e_shnum %d over cap %d", num, MaxELFSections)
	}
	if entsize < minEnt {
		return malformed("e_shentsize %d below %d", entsize, minEnt)
	}
	tab, err := span(f.Data, off, uint64(entsize)*uint64(num), "section header table")
	if err != nil {
		return err
	}
	f.tablesEnd = max(f.tablesEnd, off+uint64(len(tab)))
	f.Sections = make([]ELFSection, num)
	names := make([]uint32, num)
	for i := range f.Sections {
		p := tab[int(entsize)*i:]
		s := &f.Sections[i]
		names[i] = f.bo.Uint32(p)
		s.Type = f.bo.Uint32(p[4:])
		if f.is64() {
			s.Flags, s.Addr, s.Offset, s.Size = f.bo.Uint64(p[8:]), f.bo.Uint64(p[16:]), f.bo.Uint64(p[24:]), f.bo.Uint64(p[32:])
			s.Link, s.Entsize = f.bo.Uint32(p[40:]), f.bo.Uint64(p[56:])
		} else {
			s.Flags, s.Addr, s.Offset, s.Size = uint64(f.bo.Uint32(p[8:])), uint64(f.bo.Uint32(p[12:])), uint64(f.bo.Uint32(p[16:])), uint64(f.bo.Uint32(p[20:]))
			s.Link, s.Entsize = f.bo.Uint32(p[24:]), uint64(f.bo.Uint32(p[36:]))
		}
	}
	if int(f.Shstrndx) < len(f.Sections) && f.Sections[f.Shstrndx].Type == shtStrtab {
		st := &f.Sections[f.Shstrndx]
		if strs, err := span(f.Data, st.Offset, st.Size, ".shstrtab"); err == nil {
			f.ShstrndxOK = true
			for i := range f.Sections {
				if uint64(names[i]) < uint64(len(strs)) {
					f.Sections[i].Name = string(cstr(strs[names[i]:min(uint64(len(strs)), uint64(names[i])+256)]))
				}
			}
		}
	}
	return nil
}

// parseDynamic reads the PT_DYNAMIC segment's entries (up to DT_NULL, the
// segment's end, or MaxELFDynamicEntries). A damaged segment is skipped.
func (f *ELFFile) parseDynamic() {
	for _, p := range f.Progs {
		if p.Type != ptDynamic {
			continue
		}
		d, err := span(f.Data, p.Offset, p.Filesz, "PT_DYNAMIC")
		if err != nil {
			return
		}
		sz := 8
		if f.is64() {
			sz = 16
		}
		n := min(len(d)/sz, MaxELFDynamicEntries)
		f.Dynamic = make([]ELFDyn, 0, min(n, 256))
		for i := 0; i < n; i++ {
			e := d[i*sz:]
			var t, v uint64
			if f.is64() {
				t, v = f.bo.Uint64(e), f.bo.Uint64(e[8:])
			} else {
				t, v = uint64(f.bo.Uint32(e)), uint64(f.bo.Uint32(e[4:]))
			}
			if t == 0 {
				break
			}
			f.Dynamic = append(f.Dynamic, ELFDyn{t, v})
		}
		return
	}
}

// SectionData returns a section's bytes in the file (nil for NOBITS or a
// range outside the file).
func (f *ELFFile) SectionData(s *ELFSection) []byte {
	if s.Type == shtNobits {
		return nil
	}
	d, err := span(f.Data, s.Offset, s.Size, "section")
	if err != nil {
		return nil
	}
	return d
}

func cstr(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}
