package header

// PackerTypes is the vocabulary of ClaMP's packer_type column: index 0 is
// "NoPacker", then every signature name that occurs in
// ClaMP_Integrated-5184.csv (most frequent first), then names only the
// stand-in emits. ClaMPIntegrated encodes packer_type as an index here.
var PackerTypes = []string{
	"NoPacker",
	"UPXv20MarkusLaszloReiser", "Armadillov171", "Armadillov1xxv2xx", "NETDLLMicrosoft", "NETexecutableMicrosoft",
	"BobSoftMiniDelphiBoBBobSoft", "UPXV200V290MarkusOberhumerLaszloMolnarJohnReiser", "MinGWGCC3x", "InstallShield2000",
	"PECompactV2XBitsumTechnologies", "ProtectSharewareV11eCompservCMS", "StelthPE101BGCorp",
	"UPX290LZMAMarkusOberhumerLaszloMolnarJohnReiser", "ASProtect13321RegisteredAlexeySolodovnikov",
	"UPX293300LZMAMarkusOberhumerLaszloMolnarJohnReiser", "PureBasic4xNeilHodgson", "AHPack01FEUERRADER",
	"InstallShieldCustom", "AsCryptv01SToRM5", "UPXProtectorv10x2", "Upackv039finalDwing", "tElock09910privatetE",
	"VideoLanClient", "MicrosoftVisualCV80Debug", "MacromediaWindowsFlashProjectorPlayerv60", "WinZip32bitSFXv8xmodule",
	"MacromediaWindowsFlashProjectorPlayerv50", "WiseInstallerStub", "nSpackV2xLiuXingPing", "ASPackv212AlexeySolodovnikov",
	"PrivateexeProtector21522XSetiSoftTeam", "PECompact2xxSlimLoaderBitSumTechnologies", "CrunchPE", "D1S1Gv11betaD1N",
	"Safe20", "ASPackv10803AlexeySolodovnikov", "XtremeProtectorv105", "PECompactv2xx", "PEPaCKv10CCopyright1998byANAKiN",
	"MPRESS",
}

// Packer is the stand-in detector's verdict.
type Packer struct {
	Index int    // index in PackerTypes; 0 = NoPacker
	Name  string // PackerTypes[Index]
}

// packerBySection maps section names that packers leave behind to the
// PackerTypes name reported for them.
var packerBySection = map[string]string{
	"UPX0": "UPXv20MarkusLaszloReiser", "UPX1": "UPXv20MarkusLaszloReiser", "UPX2": "UPXv20MarkusLaszloReiser", "UPX!": "UPXv20MarkusLaszloReiser",
	".aspack": "ASPackv212AlexeySolodovnikov", ".adata": "ASPackv212AlexeySolodovnikov",
	"PEC2": "PECompactV2XBitsumTechnologies", "pec1": "PECompactV2XBitsumTechnologies", "pec2": "PECompactV2XBitsumTechnologies", "PEC2TO": "PECompactV2XBitsumTechnologies",
	".MPRESS1": "MPRESS", ".MPRESS2": "MPRESS",
	".Upack": "Upackv039finalDwing", ".ByDwing": "Upackv039finalDwing",
	".nsp0": "nSpackV2xLiuXingPing", ".nsp1": "nSpackV2xLiuXingPing", ".nsp2": "nSpackV2xLiuXingPing",
	".taz": "PEPaCKv10CCopyright1998byANAKiN",
}

// DetectPacker is a stand-in for ClaMP's PEiD-signatures-with-YARA packer
// column (the signature file is not public). It detects:
//   - packers by the section names they create: UPX (UPX0/UPX1/UPX2/UPX!),
//     ASPack (.aspack/.adata), PECompact (PEC2/pec1/pec2/PEC2TO), MPRESS
//     (.MPRESS1/.MPRESS2), Upack (.Upack/.ByDwing), nSpack (.nsp0-2),
//     PEPaCK (.taz);
//   - the UPX entry-point stub (PUSHAD; MOV ESI, imm32; LEA EDI, [ESI-imm32]);
//   - .NET images (a non-empty CLR runtime header directory), reported as
//     NETDLLMicrosoft or NETexecutableMicrosoft as PEiD does.
//
// Everything else, including the compiler signatures PEiD also carries
// (MinGW, Delphi, Visual C++), Armadillo and installers, is NoPacker.
func DetectPacker(f *PEFile) Packer {
	for i := range f.Sections {
		if n, ok := packerBySection[f.Sections[i].NameString()]; ok {
			return packerNamed(n)
		}
	}
	if ep := f.entryBytes(16); len(ep) >= 8 && ep[0] == 0x60 && ep[1] == 0xBE && ep[6] == 0x8D && ep[7] == 0xBE {
		return packerNamed("UPXv20MarkusLaszloReiser")
	}
	if len(f.DataDirs) > 14 && f.DataDirs[14].VirtualAddress != 0 && f.DataDirs[14].Size != 0 {
		if f.File.Characteristics&0x2000 != 0 {
			return packerNamed("NETDLLMicrosoft")
		}
		return packerNamed("NETexecutableMicrosoft")
	}
	return Packer{0, PackerTypes[0]}
}

func packerNamed(n string) Packer {
	for i, p := range PackerTypes {
		if p == n {
			return Packer{i, p}
		}
	}
	return Packer{0, PackerTypes[0]}
}

// entryBytes returns up to n bytes at the entry point, or nil.
func (f *PEFile) entryBytes(n uint64) []byte {
	ep := uint64(f.Optional.AddressOfEntryPoint)
	if ep == 0 {
		return nil
	}
	b, err := f.dataAtRVA(ep, n)
	if err != nil {
		return nil
	}
	return b
}
