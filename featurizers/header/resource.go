package header

// resEntry is one parsed resource directory entry.
type resEntry struct {
	name uint32 // raw Name field
	dir  *resDir
	data *resData
}

type resDir struct{ entries []resEntry }

// resData is IMAGE_RESOURCE_DATA_ENTRY.
type resData struct{ OffsetToData, Size uint32 }

const rtVersion = 16

// resWalker holds the state of one resource tree walk.
type resWalker struct {
	f     *PEFile
	total int // entries read so far, capped by MaxResourceEntries
	found bool
}

// parseResources walks the resource tree the way pefile does and records
// the first version resource pefile would put in FileInfo[0]. Any damage
// only stops the walk; it never fails the parse.
func (f *PEFile) parseResources() {
	// pefile processes the import, export and resource directories in
	// that order and stops at the first missing one.
	if len(f.DataDirs) < 3 || f.DataDirs[2].VirtualAddress == 0 {
		return
	}
	rva := uint64(f.DataDirs[2].VirtualAddress)
	w := &resWalker{f: f}
	w.dir(rva, rva, 0, []uint64{rva})
}

func (w *resWalker) dir(rva, base uint64, level int, dirs []uint64) *resDir {
	if level > MaxResourceDepth {
		return nil
	}
	hdr, err := w.f.dataAtRVA(rva, 16)
	if err != nil || len(hdr) < 16 {
		return nil
	}
	n := int(le16(hdr, 12)) + int(le16(hdr, 14))
	if n > MaxResourceDirEntries {
		return nil
	}
	w.total += n
	if w.total > MaxResourceEntries {
		return nil
	}
	rva += 16
	d := &resDir{entries: make([]resEntry, 0, min(n, 64))}
	for i := 0; i < n; i++ {
		e, err := w.f.dataAtRVA(rva, 8)
		if err != nil || len(e) < 8 {
			break
		}
		name, off := le32(e, 0), le32(e, 4)
		target := base + uint64(off&0x7fffffff)
		if off&0x80000000 != 0 {
			if contains(dirs, target) {
				break
			}
			next := append(dirs[:len(dirs):len(dirs)], target)
			sub := w.dir(target, base, level+1, next)
			if sub == nil {
				break
			}
			d.entries = append(d.entries, resEntry{name: name, dir: sub})
		} else {
			de, err := w.f.dataAtRVA(target, 16)
			if err != nil || len(de) < 16 {
				break
			}
			d.entries = append(d.entries, resEntry{name: name, data: &resData{le32(de, 0), le32(de, 4)}})
		}
		if level == 0 && name&0xffff == rtVersion {
			w.version(d.entries[len(d.entries)-1])
		}
		rva += 8
	}
	return d
}

// version parses the language entries under the first name of an
// RT_VERSION type entry, as pefile does.
func (w *resWalker) version(e resEntry) {
	if e.dir == nil || len(e.dir.entries) == 0 || e.dir.entries[0].dir == nil {
		return
	}
	for _, lang := range e.dir.entries[0].dir.entries {
		if lang.data == nil {
			continue
		}
		vi, ok := w.f.parseVersion(lang.data)
		if ok && !w.found {
			w.found = true
			w.f.Version = vi
		}
	}
}

func contains(s []uint64, v uint64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
