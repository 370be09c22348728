package header

import (
	"slices"
	"strings"
)

// ELFColumns are the "elf-header" feature columns, documented in
// ELF_FEATURES.md.
var ELFColumns = []string{
	"class64", "big_endian", "osabi", "e_type", "e_machine", "e_version", "e_flags",
	"e_phnum", "e_shnum", "shstrndx_valid",
	"pt_load", "pt_dynamic", "pt_interp", "pt_note", "pt_tls", "pt_gnu_eh_frame", "pt_gnu_relro", "pt_other",
	"segments_wx", "stack_exec", "has_gnu_stack", "entry_in_exec_segment",
	"sht_progbits", "sht_symtab", "sht_dynsym", "sht_strtab", "sht_rel", "sht_nobits", "sht_note", "sht_dynamic", "sht_other",
	"sections_wx", "nonstandard_sections", "empty_section_names",
	"dynamic", "has_interp", "pie", "stripped", "dynsym_count", "symtab_count", "needed_count",
	"has_rpath", "has_runpath", "bind_now",
	"E_text", "E_data", "E_rodata", "E_max_section", "filesize", "E_file", "overlay_size",
}

// standardELFSections are section names toolchains commonly emit.
var standardELFSections = []string{"", ".interp", ".note.gnu.property", ".note.gnu.build-id", ".note.ABI-tag",
	".gnu.hash", ".hash", ".dynsym", ".dynstr", ".gnu.version", ".gnu.version_r", ".gnu.version_d", ".rela.dyn",
	".rela.plt", ".rel.dyn", ".rel.plt", ".init", ".plt", ".plt.got", ".plt.sec", ".text", ".fini", ".rodata",
	".eh_frame_hdr", ".eh_frame", ".gcc_except_table", ".tdata", ".tbss", ".init_array", ".fini_array",
	".data.rel.ro", ".dynamic", ".got", ".got.plt", ".data", ".bss", ".comment", ".symtab", ".strtab",
	".shstrtab", ".gnu_debuglink", ".gnu_debugaltlink", ".note.go.buildid", ".go.buildinfo", ".noptrdata",
	".typelink", ".itablink", ".gosymtab", ".gopclntab", ".noptrbss", ".note.stapsdt", ".stapsdt.base",
	".debug_info", ".debug_abbrev", ".debug_line", ".debug_str", ".debug_aranges", ".debug_ranges",
	".debug_loc", ".debug_frame", ".debug_line_str", ".debug_loclists", ".debug_rnglists", ".ctors", ".dtors", ".jcr"}

// ELFFeatures returns the elf-header vector (ELFColumns) of f.
func ELFFeatures(f *ELFFile) ([]float64, error) {
	v := make([]float64, 0, len(ELFColumns))
	v = append(v, b2f(f.is64()), b2f(f.ByteOrder == 2), float64(f.OSABI), float64(f.Type), float64(f.Machine),
		float64(f.Version), float64(f.Flags), float64(len(f.Progs)), float64(len(f.Sections)), b2f(f.ShstrndxOK))

	var pt [8]int // load, dynamic, interp, note, tls, eh_frame, relro, other
	wx, stackExec, gnuStack, entryExec := 0, false, false, false
	for _, p := range f.Progs {
		switch p.Type {
		case ptLoad:
			pt[0]++
			if p.Flags&(pfW|pfX) == pfW|pfX {
				wx++
			}
			if p.Flags&pfX != 0 && f.Entry >= p.Vaddr && f.Entry-p.Vaddr < p.Memsz {
				entryExec = true
			}
		case ptDynamic:
			pt[1]++
		case ptInterp:
			pt[2]++
		case ptNote:
			pt[3]++
		case ptTLS:
			pt[4]++
		case ptGNUEHFrame:
			pt[5]++
		case ptGNURelro:
			pt[6]++
		case ptGNUStack:
			gnuStack = true
			stackExec = p.Flags&pfX != 0
		default:
			pt[7]++
		}
	}
	for _, n := range pt {
		v = append(v, float64(n))
	}
	v = append(v, float64(wx), b2f(stackExec), b2f(gnuStack), b2f(entryExec))

	var st [9]int // progbits, symtab, dynsym, strtab, rel(a), nobits, note, dynamic, other
	secWX, nonstd, emptyNames := 0, 0, 0
	dynsymN, symtabN := 0.0, 0.0
	eText, eData, eRodata, eMax := 0.0, 0.0, 0.0, 0.0
	for i := range f.Sections {
		s := &f.Sections[i]
		switch s.Type {
		case shtProgbits:
			st[0]++
		case shtSymtab:
			st[1]++
			symtabN += symCount(f, s)
		case shtDynsym:
			st[2]++
			dynsymN += symCount(f, s)
		case shtStrtab:
			st[3]++
		case shtRel, shtRela:
			st[4]++
		case shtNobits:
			st[5]++
		case shtNote:
			st[6]++
		case shtDynamic:
			st[7]++
		default:
			if s.Type != 0 {
				st[8]++
			}
		}
		if s.Flags&0x5 == 0x5 { // SHF_WRITE|SHF_EXECINSTR
			secWX++
		}
		if i > 0 && s.Name == "" {
			emptyNames++
		} else if !slices.Contains(standardELFSections, s.Name) && !strings.HasPrefix(s.Name, ".note.") &&
			!strings.HasPrefix(s.Name, ".debug_") && !strings.HasPrefix(s.Name, ".rodata.") && !strings.HasPrefix(s.Name, ".data.") {
			nonstd++
		}
		if s.Type == shtNobits || s.Size == 0 {
			continue
		}
		e := EntropyPefile(f.SectionData(s))
		eMax = max(eMax, e)
		switch s.Name {
		case ".text":
			eText = e
		case ".data":
			eData = e
		case ".rodata":
			eRodata = e
		}
	}
	for _, n := range st {
		v = append(v, float64(n))
	}
	needed, rpath, runpath, bindNow := 0, false, false, false
	for _, d := range f.Dynamic {
		switch d.Tag {
		case dtNeeded:
			needed++
		case dtRpath:
			rpath = true
		case dtRunpath:
			runpath = true
		case dtBindNow:
			bindNow = true
		case dtFlags:
			bindNow = bindNow || d.Val&0x8 != 0 // DF_BIND_NOW
		case dtFlags1:
			bindNow = bindNow || d.Val&0x1 != 0 // DF_1_NOW
		}
	}
	dynamic := pt[1] > 0
	v = append(v, float64(secWX), float64(nonstd), float64(emptyNames),
		b2f(dynamic), b2f(f.Interp != ""), b2f(f.Type == 3 && f.Interp != ""), b2f(st[1] == 0),
		dynsymN, symtabN, float64(needed), b2f(rpath), b2f(runpath), b2f(bindNow),
		eText, eData, eRodata, eMax, float64(len(f.Data)), EntropyPefile(f.Data), float64(f.overlaySize()))
	return v, nil
}

// symCount is a symbol table's entry count (size / entry size), 0 when
// the entry size is implausible.
func symCount(f *ELFFile, s *ELFSection) float64 {
	want := uint64(16)
	if f.is64() {
		want = 24
	}
	if s.Entsize != want {
		return 0
	}
	return float64(s.Size / s.Entsize)
}

// overlaySize is the number of bytes after the furthest end of any
// segment, section or the section header table.
func (f *ELFFile) overlaySize() int {
	end := f.tablesEnd
	for _, p := range f.Progs {
		end = max(end, p.Offset+p.Filesz)
	}
	for _, s := range f.Sections {
		if s.Type != shtNobits {
			end = max(end, s.Offset+s.Size)
		}
	}
	n := uint64(len(f.Data))
	if end >= n {
		return 0
	}
	return int(n - end)
}
