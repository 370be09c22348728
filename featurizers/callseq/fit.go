package callseq

// Truncate says which end of a long sequence to keep.
type Truncate int

const (
	KeepHead Truncate = iota // keep the first calls (default)
	KeepTail                 // keep the last calls
)

// PadSide says where padding goes in a short sequence.
type PadSide int

const (
	PadEnd   PadSide = iota // padding after the calls (default)
	PadStart                // padding before the calls
)

// Fit returns ids cut or padded with PadID to exactly length, in a new
// slice. length <= 0 returns a copy of ids unchanged.
func Fit(ids []int32, length int, keep Truncate, pad PadSide) []int32 {
	if length <= 0 {
		return append([]int32{}, ids...)
	}
	out := make([]int32, length)
	if len(ids) >= length {
		if keep == KeepTail {
			copy(out, ids[len(ids)-length:])
		} else {
			copy(out, ids[:length])
		}
		return out
	}
	if pad == PadStart {
		copy(out[length-len(ids):], ids)
	} else {
		copy(out, ids)
	}
	return out
}
