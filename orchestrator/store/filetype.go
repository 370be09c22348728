package store

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// DetectType describes a file from its magic bytes and headers, like a small
// file(1): ELF (class, byte order, type, machine, static or dynamic linking
// and interpreter), PE32/PE32+ (machine, subsystem, DLL), MS-DOS MZ, shebang
// scripts, "empty", else "data". It reads at most a few kilobytes at bounded
// offsets and never executes or fully parses the file; any inconsistency
// (truncation, offsets past the end) is reported in the description rather
// than as an error.
func DetectType(r io.ReaderAt, size int64) string {
	if size <= 0 {
		return "empty"
	}
	head := make([]byte, min(size, 512))
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	switch {
	case len(head) >= 4 && string(head[:4]) == "\x7fELF":
		return detectELF(r, size, head)
	case len(head) >= 2 && string(head[:2]) == "MZ":
		return detectPE(r, size)
	case len(head) >= 2 && string(head[:2]) == "#!":
		return detectScript(head)
	}
	return "data"
}

// readAt reads exactly len(buf) bytes at off if they lie within size.
func readAt(r io.ReaderAt, size, off int64, buf []byte) bool {
	if off < 0 || off > size || int64(len(buf)) > size-off {
		return false
	}
	n, err := r.ReadAt(buf, off)
	return n == len(buf) && (err == nil || err == io.EOF)
}

var elfMachines = map[uint16]string{
	2: "SPARC", 3: "Intel 80386", 8: "MIPS", 20: "PowerPC", 21: "64-bit PowerPC",
	22: "IBM S/390", 40: "ARM", 43: "SPARC V9", 62: "x86-64", 183: "ARM aarch64",
	243: "RISC-V", 258: "LoongArch",
}

// ELF constants (elf(5)).
const (
	ptInterp  = 3
	maxPhnum  = 4096 // more program headers than any sane binary has
	maxInterp = 256
)

func detectELF(r io.ReaderAt, size int64, head []byte) string {
	if len(head) < 6 {
		return "ELF (truncated header)"
	}
	var b strings.Builder
	b.WriteString("ELF")
	var hdrLen int
	switch head[4] {
	case 1:
		b.WriteString(" 32-bit")
		hdrLen = 52
	case 2:
		b.WriteString(" 64-bit")
		hdrLen = 64
	default:
		return fmt.Sprintf("ELF (invalid class %d)", head[4])
	}
	var bo binary.ByteOrder
	switch head[5] {
	case 1:
		bo = binary.LittleEndian
		b.WriteString(" LSB")
	case 2:
		bo = binary.BigEndian
		b.WriteString(" MSB")
	default:
		return b.String() + " (invalid byte order)"
	}
	if len(head) < hdrLen {
		return b.String() + " (truncated header)"
	}
	etype := bo.Uint16(head[16:])
	mach := bo.Uint16(head[18:])
	machine, ok := elfMachines[mach]
	if !ok {
		machine = fmt.Sprintf("machine 0x%x", mach)
	}
	kind := ""
	switch etype {
	case 1:
		kind = "relocatable"
	case 2:
		kind = "executable"
	case 3:
		kind = "shared object"
	case 4:
		kind = "core file"
	default:
		kind = fmt.Sprintf("type 0x%x", etype)
	}
	if etype != 2 && etype != 3 {
		return b.String() + " " + kind + ", " + machine
	}
	ph, note := elfProgramHeaders(r, size, head, bo, hdrLen == 64)
	if etype == 3 && (ph.interp != "" || ph.pie) {
		kind = "pie executable"
	}
	out := b.String() + " " + kind + ", " + machine
	switch {
	case note != "":
		return out + ", " + note
	case ph.interp != "":
		return out + ", dynamic (interpreter " + ph.interp + ")"
	case etype == 2:
		return out + ", static"
	case ph.pie:
		return out + ", static-pie"
	}
	return out
}

// elfProgs is what the program headers tell about linking.
type elfProgs struct {
	interp string // PT_INTERP path, printable
	pie    bool   // DT_FLAGS_1 has DF_1_PIE
}

// ELF program header and dynamic section constants (elf(5)).
const (
	ptDynamic  = 2
	dtNull     = 0
	dtFlags1   = 0x6ffffffb
	df1PIE     = 0x08000000
	maxDynEnts = 1024
)

// elfProgramHeaders scans the program headers with bounds checks. note is
// set when they are truncated or corrupt.
func elfProgramHeaders(r io.ReaderAt, size int64, head []byte, bo binary.ByteOrder, is64 bool) (p elfProgs, note string) {
	var phoff uint64
	var phentsize, phnum, minEnt uint16
	if !is64 {
		phoff = uint64(bo.Uint32(head[28:]))
		phentsize, phnum, minEnt = bo.Uint16(head[42:]), bo.Uint16(head[44:]), 32
	} else {
		phoff = bo.Uint64(head[32:])
		phentsize, phnum, minEnt = bo.Uint16(head[54:]), bo.Uint16(head[56:]), 56
	}
	switch {
	case phnum == 0:
		return p, "no program headers"
	case phnum > maxPhnum || phentsize < minEnt:
		return p, "corrupt program headers"
	case phoff > uint64(size) || uint64(phnum)*uint64(phentsize) > uint64(size)-phoff:
		return p, "truncated (program headers past end of file)"
	}
	ph := make([]byte, phentsize)
	for i := uint64(0); i < uint64(phnum); i++ {
		if !readAt(r, size, int64(phoff+i*uint64(phentsize)), ph) {
			return p, "truncated"
		}
		var off, fsz uint64
		if !is64 {
			off, fsz = uint64(bo.Uint32(ph[4:])), uint64(bo.Uint32(ph[16:]))
		} else {
			off, fsz = bo.Uint64(ph[8:]), bo.Uint64(ph[32:])
		}
		switch bo.Uint32(ph) {
		case ptInterp:
			buf := make([]byte, min(fsz, maxInterp))
			if off > uint64(size) || !readAt(r, size, int64(off), buf) {
				return p, "dynamic (interpreter past end of file)"
			}
			if i := strings.IndexByte(string(buf), 0); i >= 0 {
				buf = buf[:i]
			}
			p.interp = printable(string(buf), maxInterp)
			if p.interp == "" {
				p.interp = "?"
			}
		case ptDynamic:
			p.pie = p.pie || elfDynPIE(r, size, bo, is64, off, fsz)
		}
	}
	return p, ""
}

// elfDynPIE reports whether the dynamic section at off has DF_1_PIE set.
func elfDynPIE(r io.ReaderAt, size int64, bo binary.ByteOrder, is64 bool, off, fsz uint64) bool {
	ent := uint64(8)
	if is64 {
		ent = 16
	}
	if off > uint64(size) {
		return false
	}
	n := min(fsz, uint64(size)-off) / ent
	buf := make([]byte, ent)
	for i := uint64(0); i < min(n, maxDynEnts); i++ {
		if !readAt(r, size, int64(off+i*ent), buf) {
			return false
		}
		var tag, val uint64
		if is64 {
			tag, val = bo.Uint64(buf), bo.Uint64(buf[8:])
		} else {
			tag, val = uint64(bo.Uint32(buf)), uint64(bo.Uint32(buf[4:]))
		}
		switch tag {
		case dtNull:
			return false
		case dtFlags1:
			return val&df1PIE != 0
		}
	}
	return false
}

var peMachines = map[uint16]string{
	0x14c: "Intel 80386", 0x8664: "x86-64", 0x1c0: "ARM", 0x1c4: "ARMv7 Thumb",
	0xaa64: "Aarch64", 0x200: "Intel Itanium",
}

var peSubsystems = map[uint16]string{
	1: "native", 2: "GUI", 3: "console", 9: "Windows CE GUI", 10: "EFI application",
	11: "EFI boot service driver", 12: "EFI runtime driver",
}

func detectPE(r io.ReaderAt, size int64) string {
	var lfa [4]byte
	if !readAt(r, size, 0x3c, lfa[:]) {
		return "MS-DOS executable"
	}
	off := int64(binary.LittleEndian.Uint32(lfa[:]))
	var hdr [24 + 70]byte // signature, COFF header, optional header through Subsystem
	if !readAt(r, size, off, hdr[:26]) || string(hdr[:4]) != "PE\x00\x00" {
		return "MS-DOS executable"
	}
	mach := binary.LittleEndian.Uint16(hdr[4:])
	chars := binary.LittleEndian.Uint16(hdr[22:])
	magic := binary.LittleEndian.Uint16(hdr[24:])
	var b strings.Builder
	switch magic {
	case 0x10b:
		b.WriteString("PE32")
	case 0x20b:
		b.WriteString("PE32+")
	default:
		return fmt.Sprintf("PE executable (unknown optional header magic 0x%x)", magic)
	}
	if chars&0x2000 != 0 {
		b.WriteString(" DLL")
	} else {
		b.WriteString(" executable")
	}
	if readAt(r, size, off, hdr[:]) {
		sub := binary.LittleEndian.Uint16(hdr[24+68:])
		if name, ok := peSubsystems[sub]; ok {
			b.WriteString(" (" + name + ")")
		}
	} else {
		b.WriteString(" (truncated)")
	}
	if name, ok := peMachines[mach]; ok {
		b.WriteString(" " + name)
	} else {
		fmt.Fprintf(&b, " machine 0x%x", mach)
	}
	return b.String()
}

func detectScript(head []byte) string {
	line := string(head[2:])
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return "script"
	}
	return "script, interpreter " + printable(line, 128)
}
