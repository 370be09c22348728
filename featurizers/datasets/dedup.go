package datasets

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

// Digest identifies a call sequence: equal sequences have equal digests.
// Names are length-prefixed, so ["ab","c"] and ["a","bc"] differ.
func Digest(calls []string) [32]byte {
	h := sha256.New()
	writeCalls(h, calls)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

func writeCalls(h hash.Hash, calls []string) {
	buf := make([]byte, 0, 8<<10)
	for _, c := range calls {
		if len(buf)+len(c)+binary.MaxVarintLen64 > cap(buf) {
			h.Write(buf)
			buf = buf[:0]
		}
		buf = binary.AppendUvarint(buf, uint64(len(c)))
		buf = append(buf, c...)
	}
	h.Write(buf)
}

// Dedup returns the records with exact duplicates of (call sequence, label)
// removed, keeping the first occurrence and the input order, and how many
// were removed. Deduplicate before splitting into training and test sets,
// or the same sequence ends up on both sides.
func Dedup(records []SeqRecord) ([]SeqRecord, int) {
	seen := make(map[[32]byte]struct{}, len(records))
	out := make([]SeqRecord, 0, len(records))
	for _, r := range records {
		h := sha256.New()
		h.Write([]byte(r.Label))
		h.Write([]byte{0})
		writeCalls(h, r.Calls)
		var k [32]byte
		h.Sum(k[:0])
		if _, ok := seen[k]; ok {
			continue
		}
		seen[k] = struct{}{}
		out = append(out, r)
	}
	return out, len(records) - len(out)
}

// Conflicts counts the distinct call sequences that occur under more than
// one label: no classifier can get all their records right.
func Conflicts(records []SeqRecord) int {
	labels := make(map[[32]byte]string, len(records))
	conflict := make(map[[32]byte]bool)
	for _, r := range records {
		k := Digest(r.Calls)
		if l, ok := labels[k]; !ok {
			labels[k] = r.Label
		} else if l != r.Label {
			conflict[k] = true
		}
	}
	return len(conflict)
}

// Counts tallies records by label and by "label/class".
func Counts(records []SeqRecord) map[string]int {
	m := make(map[string]int)
	for _, r := range records {
		m[r.Label]++
		if r.Class != "" {
			m[r.Label+"/"+r.Class]++
		}
	}
	return m
}

// Calls returns the records' call lists (shared, not copied), e.g. to fit a
// vocabulary or an n-gram model.
func Calls(records []SeqRecord) [][]string {
	out := make([][]string, len(records))
	for i := range records {
		out[i] = records[i].Calls
	}
	return out
}
