package header

import "fmt"

// adjustFileAlignment is pefile's rounding of a raw pointer: down to a
// multiple of 0x200 unless FileAlignment is below 0x200.
func adjustFileAlignment(v, fileAlign uint32) uint32 {
	if fileAlign < 0x200 {
		return v
	}
	return v / 0x200 * 0x200
}

// adjustSectionAlignment is pefile's rounding of a virtual address down to
// the section alignment (or the file alignment when it is below a page).
func adjustSectionAlignment(v, secAlign, fileAlign uint32) uint32 {
	if secAlign < 0x1000 {
		secAlign = fileAlign
	}
	if secAlign != 0 && v%secAlign != 0 {
		return secAlign * (v / secAlign)
	}
	return v
}

func (f *PEFile) ptrAdj(s *Section) uint64 {
	return uint64(adjustFileAlignment(s.PointerToRawData, f.Optional.FileAlignment))
}

func (f *PEFile) vaAdj(s *Section) uint64 {
	return uint64(adjustSectionAlignment(s.VirtualAddress, f.Optional.SectionAlignment, f.Optional.FileAlignment))
}

// containsRVA mirrors pefile's SectionStructure.contains_rva.
func (f *PEFile) containsRVA(s *Section, rva uint64) bool {
	va := f.vaAdj(s)
	var size uint64
	if int64(len(f.Data))-int64(f.ptrAdj(s)) < int64(s.SizeOfRawData) {
		size = uint64(s.VirtualSize)
	} else {
		size = uint64(max(s.SizeOfRawData, s.VirtualSize))
	}
	if s.hasNextVA && s.nextVA > s.VirtualAddress && va+size > uint64(s.nextVA) {
		size = uint64(s.nextVA) - va
	}
	return va <= rva && rva < va+size
}

func (f *PEFile) sectionByRVA(rva uint64) *Section {
	for i := range f.Sections {
		if f.containsRVA(&f.Sections[i], rva) {
			return &f.Sections[i]
		}
	}
	return nil
}

// sectionData mirrors pefile's SectionStructure.get_data: from the
// adjusted raw pointer (plus start-VA when start is given) for length bytes
// (or SizeOfRawData), never past PointerToRawData+SizeOfRawData nor the
// end of the file.
func (f *PEFile) sectionData(s *Section, start uint64, hasStart bool, length uint64, hasLength bool) []byte {
	off := f.ptrAdj(s)
	if hasStart {
		off = start - f.vaAdj(s) + off
	}
	end := off
	if hasLength {
		end = off + length
	} else {
		end = off + uint64(s.SizeOfRawData)
	}
	if lim := uint64(s.PointerToRawData) + uint64(s.SizeOfRawData); end > lim {
		end = lim
	}
	return slice(f.Data, off, end)
}

// slice is Python's data[lo:hi] for non-negative bounds.
func slice(b []byte, lo, hi uint64) []byte {
	n := uint64(len(b))
	lo, hi = min(lo, n), min(hi, n)
	if lo >= hi {
		return nil
	}
	return b[lo:hi]
}

// dataAtRVA mirrors pefile's PE.get_data(rva, length).
func (f *PEFile) dataAtRVA(rva, length uint64) ([]byte, error) {
	s := f.sectionByRVA(rva)
	if s == nil {
		end := rva + length
		if length == 0 {
			end = uint64(len(f.Data))
		}
		if rva < uint64(f.headerLen) {
			return slice(f.Data[:f.headerLen], rva, end), nil
		}
		if rva < uint64(len(f.Data)) {
			return slice(f.Data, rva, end), nil
		}
		return nil, fmt.Errorf("%w: data at RVA %#x can't be fetched", ErrTruncated, rva)
	}
	return f.sectionData(s, rva, true, length, true), nil
}

// offsetFromRVA mirrors pefile's PE.get_offset_from_rva.
func (f *PEFile) offsetFromRVA(rva uint64) (uint64, error) {
	s := f.sectionByRVA(rva)
	if s == nil {
		if rva < uint64(len(f.Data)) {
			return rva, nil
		}
		return 0, fmt.Errorf("%w: RVA %#x outside the file", ErrTruncated, rva)
	}
	return rva - f.vaAdj(s) + f.ptrAdj(s), nil
}

// SectionData returns the section's raw data as pefile's get_data() does.
func (f *PEFile) SectionData(s *Section) []byte {
	return f.sectionData(s, 0, false, 0, false)
}
