// Package callseq is the call-sequence featurizer: it turns an ordered list
// of call names (Linux system calls from the project's guest agent, FHIDS or
// ADFA-LD; Windows API calls from MalBehavD-V1, Mal-API-2019 or Cuckoo) into
// features a classifier reads:
//
//   - a token-id sequence over a Vocabulary (id 0 padding, id 1 unknown),
//     truncated or padded to a fixed length (features.KindSequence);
//   - n-gram counts, vocabulary-indexed or hashed, optionally TF-IDF
//     weighted (features.KindVector).
//
// Names are normalised (trimmed, lower-cased) before lookup, so "NtClose"
// and "ntclose" are the same token. Vocabularies and n-gram models are fitted
// on training records only and serialise to JSON with a digest that becomes
// part of the featurizer version, so a classifier can check it is given the
// encoding it was trained with.
package callseq
