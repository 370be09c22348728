package deep

import (
	"math/rand"
	"testing"
)

// TestLayouts checks the reshapes/transposes between sequence, conv and
// step layouts against explicit index arithmetic.
func TestLayouts(t *testing.T) {
	const B, T, E = 3, 7, 4
	b := newBuilder(newParamSet(), rand.New(rand.NewSource(12)), B, false)
	x, _ := b.param("x", []int{B * T, E}, initGlorot, 1, 1)
	xv := data(b, "x")
	conv, err := seqToConv(x, B, T, E)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, B*E*T) // (B, E, 1, T)[b][e][t] = x[b*T+t][e]
	for bb := 0; bb < B; bb++ {
		for e := 0; e < E; e++ {
			for tt := 0; tt < T; tt++ {
				want[(bb*E+e)*T+tt] = xv[(bb*T+tt)*E+e]
			}
		}
	}
	assertClose(t, "seqToConv", forward(t, b, conv), want, 0)

	st, err := convToSteps(conv) // (T, B, E)[t][b][e] = x[b*T+t][e]
	if err != nil {
		t.Fatal(err)
	}
	xs, err := steps(st)
	if err != nil {
		t.Fatal(err)
	}
	for tt := 0; tt < T; tt++ {
		got := forward(t, b, xs[tt])
		for bb := 0; bb < B; bb++ {
			assertClose(t, "convToSteps", got[bb*E:(bb+1)*E], xv[(bb*T+tt)*E:(bb*T+tt+1)*E], 0)
		}
	}
}
