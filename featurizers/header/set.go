package header

import (
	"fmt"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
)

// Feature set names and versions. Bump a version whenever a column's
// meaning or order changes.
const (
	NameClaMPRaw        = "clamp-raw"
	NameClaMPIntegrated = "clamp-integrated"
	NameELFHeader       = "elf-header"

	VersionClaMPRaw        = "1.0.0"
	VersionClaMPIntegrated = "1.0.0" // packer columns: stand-in detector v1
	VersionELFHeader       = "1.0.0"
)

// Format is an executable format recognised by its magic.
type Format int

const (
	FormatUnknown Format = iota
	FormatPE
	FormatELF
)

// DetectFormat picks the format by magic: "MZ" for PE, "\x7fELF" for ELF.
func DetectFormat(b []byte) Format {
	switch {
	case len(b) >= 2 && b[0] == 'M' && b[1] == 'Z':
		return FormatPE
	case IsELF(b):
		return FormatELF
	}
	return FormatUnknown
}

func notApplicable(name string, b []byte) error {
	return fmt.Errorf("%s: %w (magic % x)", name, features.ErrNotApplicable, b[:min(len(b), 4)])
}

func peMeta(f *PEFile) map[string]string {
	m := map[string]string{"format": "PE32"}
	if f.Is64() {
		m["format"] = "PE32+"
	}
	return m
}

// ClaMPRawSet extracts the clamp-raw feature set. A non-PE input yields
// features.ErrNotApplicable (wrapped); a damaged PE yields the parse error.
func ClaMPRawSet(b []byte) (*features.Set, error) {
	if DetectFormat(b) != FormatPE {
		return nil, notApplicable(NameClaMPRaw, b)
	}
	f, err := ParsePE(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", NameClaMPRaw, err)
	}
	return rawSet(f)
}

func rawSet(f *PEFile) (*features.Set, error) {
	v, err := ClaMPRaw(f)
	if err != nil {
		return nil, err
	}
	return &features.Set{Name: NameClaMPRaw, Version: VersionClaMPRaw, Kind: features.KindVector,
		Schema: ClaMPRawColumns, Vector: v, Meta: peMeta(f)}, nil
}

// ClaMPIntegratedSet extracts the clamp-integrated feature set; Meta
// carries the packer_type name ("packer_type") besides its index.
func ClaMPIntegratedSet(b []byte) (*features.Set, error) {
	if DetectFormat(b) != FormatPE {
		return nil, notApplicable(NameClaMPIntegrated, b)
	}
	f, err := ParsePE(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", NameClaMPIntegrated, err)
	}
	return integratedSet(f)
}

func integratedSet(f *PEFile) (*features.Set, error) {
	v, err := ClaMPIntegrated(f)
	if err != nil {
		return nil, err
	}
	m := peMeta(f)
	m["packer_type"] = DetectPacker(f).Name
	return &features.Set{Name: NameClaMPIntegrated, Version: VersionClaMPIntegrated, Kind: features.KindVector,
		Schema: ClaMPIntegratedColumns, Vector: v, Meta: m}, nil
}

// ELFHeaderSet extracts the elf-header feature set (ELF_FEATURES.md).
func ELFHeaderSet(b []byte) (*features.Set, error) {
	if DetectFormat(b) != FormatELF {
		return nil, notApplicable(NameELFHeader, b)
	}
	f, err := ParseELF(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", NameELFHeader, err)
	}
	v, err := ELFFeatures(f)
	if err != nil {
		return nil, err
	}
	m := map[string]string{"format": "ELF32"}
	if f.is64() {
		m["format"] = "ELF64"
	}
	return &features.Set{Name: NameELFHeader, Version: VersionELFHeader, Kind: features.KindVector,
		Schema: ELFColumns, Vector: v, Meta: m}, nil
}

// Extract picks the header feature sets that apply to b by its magic: for
// PE, clamp-raw and clamp-integrated; for ELF, elf-header. Any other input
// yields features.ErrNotApplicable (wrapped).
func Extract(b []byte) ([]*features.Set, error) {
	switch DetectFormat(b) {
	case FormatPE:
		f, err := ParsePE(b)
		if err != nil {
			return nil, fmt.Errorf("header: %w", err)
		}
		raw, err := rawSet(f)
		if err != nil {
			return nil, err
		}
		integ, err := integratedSet(f)
		if err != nil {
			return nil, err
		}
		return []*features.Set{raw, integ}, nil
	case FormatELF:
		s, err := ELFHeaderSet(b)
		if err != nil {
			return nil, err
		}
		return []*features.Set{s}, nil
	}
	return nil, notApplicable("header", b)
}
