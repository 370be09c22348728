package header

import "math"

var ln2 = math.Log(2)

// log2py is Python's math.log(x, 2): log(x)/log(2).
func log2py(x float64) float64 { return math.Log(x) / ln2 }

// EntropyPefile is pefile's entropy_H: Shannon entropy in bits per byte,
// summing byte classes in order of first occurrence, as Python's Counter
// iterates them (so results match pefile to the last bit whenever the two
// log implementations agree).
func EntropyPefile(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	var count [256]int
	var order [256]byte
	k := 0
	for _, c := range b {
		if count[c] == 0 {
			order[k] = c
			k++
		}
		count[c]++
	}
	n := float64(len(b))
	e := 0.0
	for _, c := range order[:k] {
		p := float64(count[c]) / n
		e -= p * log2py(p)
	}
	return e
}

// EntropyByValue is ClaMP's file entropy: the same sum taken over byte
// values 0..255 in order.
func EntropyByValue(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	var count [256]int
	for _, c := range b {
		count[c]++
	}
	n := float64(len(b))
	e := 0.0
	for _, c := range count {
		if c > 0 {
			p := float64(c) / n
			e += -p * log2py(p)
		}
	}
	return e
}
