package deep

import "math"

// Plain-Go reference forward passes of the layers in layers.go, over flat
// row-major slices. Tests compare the gorgonia graphs against them; they
// are deliberately simple loops.

// refDense returns x (B, in) · W (in, out) + b (out).
func refDense(x []float64, B, in int, W, bias []float64, out int) []float64 {
	y := make([]float64, B*out)
	for i := 0; i < B; i++ {
		for j := 0; j < out; j++ {
			s := bias[j]
			for k := 0; k < in; k++ {
				s += x[i*in+k] * W[k*out+j]
			}
			y[i*out+j] = s
		}
	}
	return y
}

// refEmbedding returns the rows of table (vocab, dim) at ids: (len(ids), dim).
func refEmbedding(ids []int, table []float64, dim int) []float64 {
	y := make([]float64, 0, len(ids)*dim)
	for _, id := range ids {
		y = append(y, table[id*dim:(id+1)*dim]...)
	}
	return y
}

// refConv2d convolves x (B, C, H, W) with w (F, C, kh, kw), zero padding
// ph/pw, stride 1, plus bias (F): (B, F, H', W').
func refConv2d(x []float64, B, C, H, W int, w []float64, F, kh, kw, ph, pw int, bias []float64) (y []float64, Ho, Wo int) {
	Ho, Wo = H+2*ph-kh+1, W+2*pw-kw+1
	y = make([]float64, B*F*Ho*Wo)
	for b := 0; b < B; b++ {
		for f := 0; f < F; f++ {
			for i := 0; i < Ho; i++ {
				for j := 0; j < Wo; j++ {
					s := bias[f]
					for c := 0; c < C; c++ {
						for u := 0; u < kh; u++ {
							for v := 0; v < kw; v++ {
								r, q := i+u-ph, j+v-pw
								if r < 0 || r >= H || q < 0 || q >= W {
									continue
								}
								s += x[((b*C+c)*H+r)*W+q] * w[((f*C+c)*kh+u)*kw+v]
							}
						}
					}
					y[((b*F+f)*Ho+i)*Wo+j] = s
				}
			}
		}
	}
	return y, Ho, Wo
}

// refRelu returns max(x, 0) elementwise.
func refRelu(x []float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = math.Max(v, 0)
	}
	return y
}

// refMaxPool2d pools x (B, C, H, W) over non-overlapping kh x kw windows,
// dropping partial windows: (B, C, H/kh, W/kw).
func refMaxPool2d(x []float64, B, C, H, W, kh, kw int) (y []float64, Ho, Wo int) {
	Ho, Wo = H/kh, W/kw
	y = make([]float64, B*C*Ho*Wo)
	for bc := 0; bc < B*C; bc++ {
		for i := 0; i < Ho; i++ {
			for j := 0; j < Wo; j++ {
				m := math.Inf(-1)
				for u := 0; u < kh; u++ {
					for v := 0; v < kw; v++ {
						m = math.Max(m, x[(bc*H+i*kh+u)*W+j*kw+v])
					}
				}
				y[(bc*Ho+i)*Wo+j] = m
			}
		}
	}
	return y, Ho, Wo
}

// refLSTMWeights holds one LSTM's gates in the order i, f, g, o:
// Wx[k] (F, H), Wh[k] (H, H), B[k] (H).
type refLSTMWeights struct {
	Wx, Wh, B [4][]float64
}

// refLSTM runs xs (T, B, F) through an LSTM of H units from zero state and
// returns the last hidden state (B, H).
func refLSTM(xs []float64, T, B, F, H int, w refLSTMWeights) []float64 {
	h := make([]float64, B*H)
	c := make([]float64, B*H)
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	for t := 0; t < T; t++ {
		x := xs[t*B*F : (t+1)*B*F]
		var z [4][]float64
		for k := 0; k < 4; k++ {
			z[k] = refDense(x, B, F, w.Wx[k], w.B[k], H)
			hh := refDense(h, B, H, w.Wh[k], make([]float64, H), H)
			for i := range z[k] {
				z[k][i] += hh[i]
			}
		}
		for i := range h {
			ig, fg, gg, og := sig(z[0][i]), sig(z[1][i]), math.Tanh(z[2][i]), sig(z[3][i])
			c[i] = fg*c[i] + ig*gg
			h[i] = og * math.Tanh(c[i])
		}
	}
	return h
}

// softmax returns the probabilities of one row of logits (stable).
func softmax(logits []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, v)
	}
	p := make([]float64, len(logits))
	var s float64
	for i, v := range logits {
		p[i] = math.Exp(v - m)
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
	return p
}

// refXent is the mean cross-entropy of logits (B, K) against labels.
func refXent(logits []float64, K int, labels []int) float64 {
	var s float64
	for i, y := range labels {
		s -= math.Log(softmax(logits[i*K : (i+1)*K])[y])
	}
	return s / float64(len(labels))
}
