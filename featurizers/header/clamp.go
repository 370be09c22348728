package header

import (
	"slices"
	"strings"
)

// ClaMPRawColumns are the columns of shared/datasets/clamp/ClaMP_Raw-5184.csv
// in order, without "class".
var ClaMPRawColumns = strings.Split("e_magic,e_cblp,e_cp,e_crlc,e_cparhdr,e_minalloc,e_maxalloc,e_ss,e_sp,e_csum,e_ip,e_cs,e_lfarlc,e_ovno,e_res,e_oemid,e_oeminfo,e_res2,e_lfanew,"+
	"Machine,NumberOfSections,CreationYear,PointerToSymbolTable,NumberOfSymbols,SizeOfOptionalHeader,Characteristics,"+
	"Magic,MajorLinkerVersion,MinorLinkerVersion,SizeOfCode,SizeOfInitializedData,SizeOfUninitializedData,AddressOfEntryPoint,BaseOfCode,BaseOfData,ImageBase,SectionAlignment,FileAlignment,"+
	"MajorOperatingSystemVersion,MinorOperatingSystemVersion,MajorImageVersion,MinorImageVersion,MajorSubsystemVersion,MinorSubsystemVersion,SizeOfImage,SizeOfHeaders,CheckSum,Subsystem,DllCharacteristics,"+
	"SizeOfStackReserve,SizeOfStackCommit,SizeOfHeapReserve,SizeOfHeapCommit,LoaderFlags,NumberOfRvaAndSizes", ",")

// ClaMPIntegratedColumns are the columns of
// shared/datasets/clamp/ClaMP_Integrated-5184.csv in order, without "class".
var ClaMPIntegratedColumns = strings.Split("e_cblp,e_cp,e_cparhdr,e_maxalloc,e_sp,e_lfanew,NumberOfSections,CreationYear,"+
	"FH_char0,FH_char1,FH_char2,FH_char3,FH_char4,FH_char5,FH_char6,FH_char7,FH_char8,FH_char9,FH_char10,FH_char11,FH_char12,FH_char13,FH_char14,"+
	"MajorLinkerVersion,MinorLinkerVersion,SizeOfCode,SizeOfInitializedData,SizeOfUninitializedData,AddressOfEntryPoint,BaseOfCode,BaseOfData,ImageBase,SectionAlignment,FileAlignment,"+
	"MajorOperatingSystemVersion,MinorOperatingSystemVersion,MajorImageVersion,MinorImageVersion,MajorSubsystemVersion,MinorSubsystemVersion,SizeOfImage,SizeOfHeaders,CheckSum,Subsystem,"+
	"OH_DLLchar0,OH_DLLchar1,OH_DLLchar2,OH_DLLchar3,OH_DLLchar4,OH_DLLchar5,OH_DLLchar6,OH_DLLchar7,OH_DLLchar8,OH_DLLchar9,OH_DLLchar10,"+
	"SizeOfStackReserve,SizeOfStackCommit,SizeOfHeapReserve,SizeOfHeapCommit,LoaderFlags,sus_sections,non_sus_sections,packer,packer_type,E_text,E_data,filesize,E_file,fileinfo", ",")

// fileCharFlags and dllCharFlags are the FH_char* and OH_DLLchar* bits.
var (
	fileCharFlags = []uint16{0x0001, 0x0002, 0x0004, 0x0008, 0x0010, 0x0020, 0x0080, 0x0100, 0x0200, 0x0400, 0x0800, 0x1000, 0x2000, 0x4000, 0x8000}
	dllCharFlags  = []uint16{0x0040, 0x0080, 0x0100, 0x0200, 0x0400, 0x0800, 0x2000, 0x8000, 0x0020, 0x1000, 0x4000}
	benignNames   = []string{".text", ".data", ".rdata", ".idata", ".edata", ".rsrc", ".bss", ".crt", ".tls"}
)

// CreationYear is ClaMP's 1970 + floor(floor(TimeDateStamp/86400)/365).
func CreationYear(ts uint32) int { return 1970 + int(ts/86400/365) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// ClaMPRaw returns the 55 ClaMP Raw columns (ClaMPRawColumns) of f. e_res
// and e_res2, empty in the CSV, are 0; BaseOfData is 0 for PE32+.
func ClaMPRaw(f *PEFile) ([]float64, error) {
	d, h, o := &f.DOS, &f.File, &f.Optional
	v := []float64{
		float64(d.Magic), float64(d.Cblp), float64(d.Cp), float64(d.Crlc), float64(d.Cparhdr), float64(d.Minalloc), float64(d.Maxalloc),
		float64(d.Ss), float64(d.Sp), float64(d.Csum), float64(d.Ip), float64(d.Cs), float64(d.Lfarlc), float64(d.Ovno), 0,
		float64(d.Oemid), float64(d.Oeminfo), 0, float64(d.Lfanew),
		float64(h.Machine), float64(h.NumberOfSections), float64(CreationYear(h.TimeDateStamp)), float64(h.PointerToSymbolTable),
		float64(h.NumberOfSymbols), float64(h.SizeOfOptionalHeader), float64(h.Characteristics),
		float64(o.Magic), float64(o.MajorLinkerVersion), float64(o.MinorLinkerVersion), float64(o.SizeOfCode), float64(o.SizeOfInitializedData),
		float64(o.SizeOfUninitializedData), float64(o.AddressOfEntryPoint), float64(o.BaseOfCode), float64(o.BaseOfData), float64(o.ImageBase),
		float64(o.SectionAlignment), float64(o.FileAlignment), float64(o.MajorOperatingSystemVersion), float64(o.MinorOperatingSystemVersion),
		float64(o.MajorImageVersion), float64(o.MinorImageVersion), float64(o.MajorSubsystemVersion), float64(o.MinorSubsystemVersion),
		float64(o.SizeOfImage), float64(o.SizeOfHeaders), float64(o.CheckSum), float64(o.Subsystem), float64(o.DllCharacteristics),
		float64(o.SizeOfStackReserve), float64(o.SizeOfStackCommit), float64(o.SizeOfHeapReserve), float64(o.SizeOfHeapCommit),
		float64(o.LoaderFlags), float64(o.NumberOfRvaAndSizes),
	}
	return v, nil
}

// ClaMPIntegrated returns the 69 ClaMP Integrated columns
// (ClaMPIntegratedColumns) of f. packer and packer_type come from the
// stand-in detector DetectPacker; packer_type is encoded as its index in
// PackerTypes. SizeOfImage (SizeOfHeaders) is 0 when SectionAlignment
// (FileAlignment) is 0, where ClaMP's script would divide by zero.
func ClaMPIntegrated(f *PEFile) ([]float64, error) {
	d, h, o := &f.DOS, &f.File, &f.Optional
	v := make([]float64, 0, len(ClaMPIntegratedColumns))
	y := CreationYear(h.TimeDateStamp)
	v = append(v, float64(d.Cblp), float64(d.Cp), float64(d.Cparhdr), float64(d.Maxalloc), float64(d.Sp), float64(d.Lfanew),
		float64(h.NumberOfSections), b2f(y >= 1980 && y <= 2015))
	for _, fl := range fileCharFlags {
		v = append(v, b2f(h.Characteristics&fl != 0))
	}
	sa, fa := o.SectionAlignment, o.FileAlignment
	fileAlignOK := fa == sa
	if sa >= 512 {
		fileAlignOK = fa%2 == 0 && fa >= 512 && fa <= 65536
	}
	v = append(v, float64(o.MajorLinkerVersion), float64(o.MinorLinkerVersion), float64(o.SizeOfCode), float64(o.SizeOfInitializedData),
		float64(o.SizeOfUninitializedData), float64(o.AddressOfEntryPoint), float64(o.BaseOfCode), float64(o.BaseOfData),
		b2f(o.ImageBase%65536 == 0 && (o.ImageBase == 0x10000000 || o.ImageBase == 0x10000 || o.ImageBase == 0x400000)),
		b2f(sa >= fa), b2f(fileAlignOK),
		float64(o.MajorOperatingSystemVersion), float64(o.MinorOperatingSystemVersion), float64(o.MajorImageVersion), float64(o.MinorImageVersion),
		float64(o.MajorSubsystemVersion), float64(o.MinorSubsystemVersion),
		b2f(sa != 0 && o.SizeOfImage%sa == 0), b2f(fa != 0 && o.SizeOfHeaders%fa == 0),
		float64(o.CheckSum), float64(o.Subsystem))
	for _, fl := range dllCharFlags {
		v = append(v, b2f(o.DllCharacteristics&fl != 0))
	}
	v = append(v, float64(o.SizeOfStackReserve), float64(o.SizeOfStackCommit), float64(o.SizeOfHeapReserve), float64(o.SizeOfHeapCommit),
		b2f(o.LoaderFlags == 0))

	sus, nonSus := SectionCounts(f)
	p := DetectPacker(f)
	eText, eData := 0.0, 0.0
	for i := range f.Sections {
		switch f.Sections[i].NameString() {
		case ".text":
			eText = EntropyPefile(f.SectionData(&f.Sections[i]))
		case ".data":
			eData = EntropyPefile(f.SectionData(&f.Sections[i]))
		}
	}
	v = append(v, float64(sus), float64(nonSus), b2f(p.Index != 0), float64(p.Index), eText, eData,
		float64(len(f.Data)), EntropyByValue(f.Data), b2f(HasFileInfo(f)))
	return v, nil
}

// SectionCounts returns ClaMP's sus_sections and non_sus_sections: the
// number of distinct standard names (.text, .data, ...) among the section
// names, and the number of sections minus that.
func SectionCounts(f *PEFile) (sus, nonSus int) {
	seen := map[string]bool{}
	for i := range f.Sections {
		n := f.Sections[i].NameString()
		if slices.Contains(benignNames, n) {
			seen[n] = true
		}
	}
	return len(f.Sections) - len(seen), len(seen)
}

// HasFileInfo is ClaMP's fileinfo: a version resource with
// VS_FIXEDFILEINFO whose first block is a StringFileInfo whose first
// StringTable holds FileVersion, ProductVersion, ProductName and CompanyName.
func HasFileInfo(f *PEFile) bool {
	vi := f.Version
	if vi == nil || !vi.HasFixedFileInfo || !vi.HasStringTable {
		return false
	}
	for _, k := range []string{"FileVersion", "ProductVersion", "ProductName", "CompanyName"} {
		if _, ok := vi.Strings[k]; !ok {
			return false
		}
	}
	return true
}
