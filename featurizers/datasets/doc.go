// Package datasets turns the public behaviour data sets the project trains
// on (ADFA-LD, FHIDS, MalBehavD-V1, Mal-API-2019), Cuckoo/CAPE reports and
// the project's own guest traces into one record type, SeqRecord: an ordered
// list of call names with a label.
//
// Every loader reads the files as they are published (zip and tar.xz
// included; .tar.xz is decompressed in pure Go with github.com/ulikunitz/xz),
// bounds memory per record (Limits) and reports malformed input as an error
// wrapping ErrFormat that names the file and line. Call names are kept as the
// source spells them (ADFA-LD numbers are mapped to names); normalisation for
// learning (lower-casing) is the featurizer's job (package callseq).
//
// The data sets live outside the repository (Dir locates them); they must
// never be copied into it.
package datasets
