package store

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"
)

// Job ids look like 20261124T014000Z-0k3f9q2w: the creation time in UTC to
// the second, then 8 characters of sortable base32 (40 bits). Within one
// second (or if the clock steps back) the suffix continues from the previous
// id plus a random increment, so ids are strictly increasing in creation
// order and byte order equals creation order, like monotonic ULIDs.
const (
	idTimeLayout = "20060102T150405Z"
	idTimeLen    = len(idTimeLayout)
	idSuffixLen  = 8
	idLen        = idTimeLen + 1 + idSuffixLen
	idAlphabet   = "0123456789abcdefghjkmnpqrstvwxyz" // Crockford base32, ASCII-sorted
	idSuffixMax  = 1<<40 - 1
)

// newID returns an id for time now that sorts after last ("" for none).
func newID(now time.Time, last string) (string, error) {
	prefix := now.UTC().Format(idTimeLayout)
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("store: random id: %w", err)
	}
	r := binary.BigEndian.Uint64(b[:])
	suffix := r & idSuffixMax
	if len(last) == idLen && prefix <= last[:idTimeLen] {
		prev, ok := decodeSuffix(last[idTimeLen+1:])
		if ok {
			prefix = last[:idTimeLen]
			suffix = prev + 1 + (r>>40)&0xffff
			if suffix > idSuffixMax {
				return "", fmt.Errorf("store: job id space for %s exhausted", prefix)
			}
		}
	}
	return prefix + "-" + encodeSuffix(suffix), nil
}

func encodeSuffix(v uint64) string {
	var out [idSuffixLen]byte
	for i := idSuffixLen - 1; i >= 0; i-- {
		out[i] = idAlphabet[v&31]
		v >>= 5
	}
	return string(out[:])
}

func decodeSuffix(s string) (uint64, bool) {
	var v uint64
	for i := 0; i < len(s); i++ {
		j := indexAlphabet(s[i])
		if j < 0 {
			return 0, false
		}
		v = v<<5 | uint64(j)
	}
	return v, true
}

func indexAlphabet(c byte) int {
	for i := 0; i < len(idAlphabet); i++ {
		if idAlphabet[i] == c {
			return i
		}
	}
	return -1
}

// ValidID reports whether id has the shape of a job id. Only such ids are
// ever used in paths (the artifacts directory).
func ValidID(id string) bool {
	if len(id) != idLen || id[idTimeLen] != '-' {
		return false
	}
	if _, err := time.Parse(idTimeLayout, id[:idTimeLen]); err != nil {
		return false
	}
	_, ok := decodeSuffix(id[idTimeLen+1:])
	return ok
}
