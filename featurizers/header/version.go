package header

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// VersionInfo is what the parser keeps of a version resource (RT_VERSION):
// whether VS_FIXEDFILEINFO was read, the key of the first
// StringFileInfo/VarFileInfo block, and the entries of the first
// StringTable of that block when it is a StringFileInfo.
type VersionInfo struct {
	HasFixedFileInfo bool
	FirstBlockKey    string
	// HasStringTable is true when the first block is a StringFileInfo
	// that holds at least one StringTable.
	HasStringTable bool
	// Strings are the first StringTable's key/value pairs (at most
	// maxVersionStrings of them).
	Strings map[string]string
}

const (
	maxVersionBlocks  = 1024
	maxVersionStrings = 1024
)

// dwordAlign is pefile's dword_align, including its 32-bit mask.
func dwordAlign(off, base uint64) uint64 {
	return ((off + base + 3) & 0xFFFFFFFC) - (base & 0xFFFFFFFC)
}

// parseVersion mirrors pefile's parse_version_information far enough to
// decide ClaMP's fileinfo column. ok reports whether pefile would append
// this resource to its FileInfo list.
func (f *PEFile) parseVersion(d *resData) (vi *VersionInfo, ok bool) {
	base := uint64(d.OffsetToData)
	start, err := f.offsetFromRVA(base)
	if err != nil {
		return nil, false
	}
	raw := slice(f.Data, start, start+uint64(d.Size))
	if len(raw) < 6 {
		return nil, false
	}
	viLen := uint64(le16(raw, 0))
	ustr := base + 6
	maxLen := uint64(1 << 16)
	if s := f.sectionByRVA(ustr); s != nil {
		end := uint64(s.VirtualAddress) + uint64(max(s.SizeOfRawData, s.VirtualSize))
		if end < ustr {
			return nil, false
		}
		maxLen = (end - ustr) >> 1
	}
	key, err := f.readUTF16(ustr, maxLen)
	if err != nil || pyEncode(key, true) != "VS_VERSION_INFO" {
		return nil, false
	}
	fixedOff := dwordAlign(6+2*(15+1), base)
	if uint64(len(raw)) < fixedOff || uint64(len(raw))-fixedOff < 52 {
		return nil, false
	}
	vi = &VersionInfo{HasFixedFileInfo: true}
	off := dwordAlign(fixedOff+52, base)
	for i := 0; i < maxVersionBlocks; i++ {
		if off > uint64(len(raw)) || uint64(len(raw))-off < 6 {
			return vi, false // pefile returns without recording FileInfo
		}
		bLen, bValLen, bType := uint64(le16(raw, int(off))), le16(raw, int(off)+2), le16(raw, int(off)+4)
		units, err := f.readUTF16(base+off+6, 1<<16)
		if err != nil {
			break
		}
		if i == 0 {
			k := pyEncode(units, false)
			vi.FirstBlockKey = k
			if strings.HasPrefix(k, "StringFileInfo") && bType <= 1 && bValLen == 0 {
				f.firstStringTable(vi, raw, base, off, bLen, k)
			}
		}
		off = dwordAlign(bLen+off, base)
		if bLen == 0 || off >= viLen {
			break
		}
	}
	return vi, true
}

// firstStringTable reads the first StringTable of a StringFileInfo block
// at sfiOff into vi.
func (f *PEFile) firstStringTable(vi *VersionInfo, raw []byte, base, sfiOff, sfiLen uint64, key string) {
	st := dwordAlign(sfiOff+6+2*uint64(len(key)+1), base)
	if st > uint64(len(raw)) || uint64(len(raw))-st < 6 {
		return
	}
	stLen := uint64(le16(raw, int(st)))
	lang, err := f.readUTF16(base+st+6, 1<<16)
	if err != nil {
		return
	}
	vi.HasStringTable = true
	vi.Strings = map[string]string{}
	ent := dwordAlign(st+6+2*uint64(len(pyEncode(lang, false))+1), base)
	for n := 0; ent < st+stLen && n < maxVersionStrings; n++ {
		if ent > uint64(len(raw)) || uint64(len(raw))-ent < 6 {
			break
		}
		sLen, sValLen := uint64(le16(raw, int(ent))), uint64(le16(raw, int(ent)+2))
		k, err := f.readUTF16(base+ent+6, 1<<16)
		if err != nil {
			break
		}
		ks := pyEncode(k, false)
		valOff := dwordAlign(2*uint64(len(ks)+1)+ent+6, base)
		v, err := f.readUTF16(base+valOff, sValLen)
		if err != nil {
			break
		}
		if sLen == 0 {
			ent = st + stLen
		} else {
			ent = dwordAlign(sLen+ent, base)
		}
		vi.Strings[ks] = pyEncode(v, false)
	}
}

// readUTF16 mirrors pefile's get_string_u_at_rva: up to maxChars UTF-16
// code units at rva, ending at the first NUL unit.
func (f *PEFile) readUTF16(rva, maxChars uint64) ([]uint16, error) {
	if maxChars == 0 {
		return nil, nil
	}
	if _, err := f.dataAtRVA(rva, 2); err != nil {
		return nil, err
	}
	maxBytes := maxChars * 2
	requested := min(maxBytes, 256)
	data, err := f.dataAtRVA(rva, requested)
	if err != nil {
		return nil, err
	}
	n, ok := nulUnit(data)
	if !ok {
		if uint64(len(data)) < requested || uint64(len(data)) == maxBytes {
			n = len(data) >> 1
		} else {
			more, err := f.dataAtRVA(rva+uint64(len(data)), maxBytes-uint64(len(data)))
			if err != nil {
				return nil, err
			}
			data = append(append([]byte(nil), data...), more...)
			if n, ok = nulUnit(data); !ok {
				n = len(data) >> 1
			}
		}
	}
	u := make([]uint16, n)
	for i := range u {
		u[i] = le16(data, 2*i)
	}
	return u, nil
}

func nulUnit(b []byte) (int, bool) {
	for i := 0; i+1 < len(b); i += 2 {
		if b[i] == 0 && b[i+1] == 0 {
			return i / 2, true
		}
	}
	return 0, false
}

// pyEncode renders code units the way pefile does: each unit becomes one
// character, encoded as UTF-8 (or ASCII) with Python's backslashreplace.
func pyEncode(u []uint16, ascii bool) string {
	var sb strings.Builder
	for _, c := range u {
		switch {
		case c < 0x80:
			sb.WriteByte(byte(c))
		case ascii && c < 0x100:
			fmt.Fprintf(&sb, `\x%02x`, c)
		case ascii || (c >= 0xd800 && c <= 0xdfff):
			fmt.Fprintf(&sb, `\u%04x`, c)
		default:
			var buf [4]byte
			sb.Write(buf[:utf8.EncodeRune(buf[:], rune(c))])
		}
	}
	return sb.String()
}
