package eval

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// DedupOptions tunes Dedup.
type DedupOptions struct {
	// KeepConflicts keeps one example per (input, label) of inputs that
	// occur under more than one label; by default every example of such an
	// input is removed (no model can get all of them right, and keeping them
	// puts the same input on both sides of a split).
	KeepConflicts bool
}

// DedupReport says what Dedup removed.
type DedupReport struct {
	Before     int `json:"before"`
	After      int `json:"after"`
	Duplicates int `json:"duplicates"` // exact (input, label) repeats removed
	// ConflictInputs is the number of distinct inputs seen under more than
	// one label; ConflictRemoved the examples removed for it (0 with
	// KeepConflicts).
	ConflictInputs  int `json:"conflict_inputs"`
	ConflictRemoved int `json:"conflict_removed"`
}

// String is a one-line summary.
func (r DedupReport) String() string {
	return fmt.Sprintf("%d -> %d examples (%d duplicates, %d conflicting inputs, %d conflicting examples removed)",
		r.Before, r.After, r.Duplicates, r.ConflictInputs, r.ConflictRemoved)
}

// InputKey is a digest of an input's content: every representation (vector
// bits, tokens, pixels and size) goes in, so equal keys mean equal inputs.
// -0 and +0 differ, as do NaNs with different bits.
func InputKey(in ml.Input) [32]byte {
	h := sha256.New()
	var b [8]byte
	put := func(v uint64) {
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	put(uint64(len(in.Vector)))
	for _, v := range in.Vector {
		put(math.Float64bits(v))
	}
	put(uint64(len(in.Tokens)))
	buf := make([]byte, 0, 4*len(in.Tokens))
	for _, t := range in.Tokens {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(t))
	}
	h.Write(buf)
	put(uint64(len(in.Pixels)))
	buf = buf[:0]
	for _, p := range in.Pixels {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(p))
	}
	h.Write(buf)
	put(uint64(in.Width))
	put(uint64(in.Height))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// Dedup returns d without exact duplicate examples (same input, same label;
// the first is kept, order preserved) and, unless opt.KeepConflicts, without
// any example whose input also occurs under another label. Inputs, IDs and
// Classes are shared with d.
func Dedup(d ml.Dataset, opt DedupOptions) (ml.Dataset, DedupReport, error) {
	if err := d.Validate(); err != nil {
		return ml.Dataset{}, DedupReport{}, err
	}
	rep := DedupReport{Before: len(d.Inputs)}
	keys := make([][32]byte, len(d.Inputs))
	labels := map[[32]byte]int{} // first label, or -1 once conflicting
	type pair struct {
		k [32]byte
		y int
	}
	seen := map[pair]bool{}
	var keep []int
	for i, in := range d.Inputs {
		k := InputKey(in)
		keys[i] = k
		y := d.Labels[i]
		if l, ok := labels[k]; !ok {
			labels[k] = y
		} else if l != y && l != -1 {
			labels[k] = -1
			rep.ConflictInputs++
		}
		if seen[pair{k, y}] {
			rep.Duplicates++
			continue
		}
		seen[pair{k, y}] = true
		keep = append(keep, i)
	}
	if !opt.KeepConflicts && rep.ConflictInputs > 0 {
		kept := keep[:0]
		for _, i := range keep {
			if labels[keys[i]] == -1 {
				rep.ConflictRemoved++
				continue
			}
			kept = append(kept, i)
		}
		keep = kept
	}
	out := d.Subset(keep)
	rep.After = len(out.Inputs)
	return out, rep, nil
}
