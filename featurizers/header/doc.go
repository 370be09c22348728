// Package header parses executable headers written for hostile input and
// turns them into fixed-length feature vectors.
//
// Two formats are understood:
//
//   - PE (Windows): ParsePE reads the DOS header, PE signature, COFF file
//     header, optional header (PE32 and PE32+), data directories, section
//     table and the resource tree (for the version resource). ClaMPRaw and
//     ClaMPIntegrated compute the columns of the ClaMP data set
//     (shared/datasets/clamp) the way the Python library pefile reads them.
//   - ELF (Linux): ParseELF reads the ELF header, program and section
//     headers, the dynamic segment and symbol tables; ELFFeatures computes the
//     "elf-header" vector documented in ELF_FEATURES.md.
//
// Every offset and count taken from the file is checked against the file's
// size before use, counts are capped (MaxSections, MaxResourceEntries, ...)
// and no allocation is sized by a header field alone. Malformed input yields
// an error wrapping one of ErrNotPE, ErrNotELF, ErrTruncated, ErrMalformed or
// ErrTooLarge; the parsers never panic.
//
// Extract picks the format by magic; the features.Set adapters (ClaMPRawSet,
// ClaMPIntegratedSet, ELFHeaderSet) return features.ErrNotApplicable
// (wrapped) for the wrong format.
package header
