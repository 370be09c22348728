package deep

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// synthVectors: two Gaussian blobs in 12 dimensions, offset along a random
// direction, with large feature scales (standardisation must cope).
func synthVectors(n int, seed int64) ml.Dataset {
	rng := rand.New(rand.NewSource(seed))
	d := ml.Dataset{Classes: []string{"benign", "malware"}}
	for i := 0; i < n; i++ {
		y := i % 2
		v := make([]float64, 12)
		for j := range v {
			v[j] = rng.NormFloat64()
			if j < 3 {
				v[j] += 2.5 * float64(2*y-1)
			}
			v[j] *= float64(j+1) * 100
		}
		d.Inputs = append(d.Inputs, ml.Input{Vector: v})
		d.Labels = append(d.Labels, y)
	}
	return d
}

// synthTokens: random ids 1..20 of length 10..maxLen; class 1 iff token 5
// appears (inserted at a random position).
func synthTokens(n, maxLen int, seed int64) ml.Dataset {
	rng := rand.New(rand.NewSource(seed))
	d := ml.Dataset{Classes: []string{"clean", "has5"}}
	for i := 0; i < n; i++ {
		y := i % 2
		L := 10 + rng.Intn(maxLen-9)
		toks := make([]int32, L)
		for j := range toks {
			for toks[j] == 0 || toks[j] == 5 {
				toks[j] = int32(1 + rng.Intn(20))
			}
		}
		if y == 1 {
			toks[rng.Intn(L)] = 5
		}
		d.Inputs = append(d.Inputs, ml.Input{Tokens: toks})
		d.Labels = append(d.Labels, y)
	}
	return d
}

// synthImages: 16x16 textures of three families (horizontal stripes,
// vertical stripes of period 4, per-pixel random noise) with random phase
// and noise.
func synthImages(n int, seed int64) ml.Dataset {
	rng := rand.New(rand.NewSource(seed))
	d := ml.Dataset{Classes: []string{"hstripe", "vstripe", "noise"}}
	const W, H = 16, 16
	for i := 0; i < n; i++ {
		y := i % 3
		px := make([]float32, W*H)
		ph := rng.Intn(4)
		for r := 0; r < H; r++ {
			for c := 0; c < W; c++ {
				var on bool
				switch y {
				case 0:
					on = (r+ph)/2%2 == 0
				case 1:
					on = (c+ph)/2%2 == 0
				default:
					on = rng.Intn(2) == 0
				}
				v := 0.2 + 0.2*rng.Float64()
				if on {
					v += 0.5
				}
				px[r*W+c] = float32(v)
			}
		}
		d.Inputs = append(d.Inputs, ml.Input{Pixels: px, Width: W, Height: H})
		d.Labels = append(d.Labels, y)
	}
	return d
}

type modelCase struct {
	name    string
	factory ml.Factory
	data    func(n int, seed int64) ml.Dataset
	nTrain  int
	bad     []ml.Input // inputs that must be rejected with ml.ErrData
}

func quickTrain() TrainConfig {
	return TrainConfig{Epochs: 25, BatchSize: 16, LearnRate: 5e-3, ValFraction: 0.15, Patience: 5}
}

func modelCases() []modelCase {
	tok := func(n int, seed int64) ml.Dataset { return synthTokens(n, 30, seed) }
	nan := make([]float64, 12)
	nan[3] = math.NaN()
	return []modelCase{
		{"dnn", func() ml.Classifier { return NewDNN(DNNConfig{Hidden: []int{32, 16}, Dropout: 0.1}, quickTrain()) },
			synthVectors, 300, []ml.Input{{Vector: nan}, {Vector: make([]float64, 5)}, {Tokens: []int32{1}}}},
		{"lstm", func() ml.Classifier {
			return NewLSTM(SeqConfig{SeqLen: 30, EmbedDim: 8, Units: 16}, quickTrain())
		}, tok, 300, []ml.Input{{}, {Tokens: []int32{3, -1}}, {Vector: []float64{1}}}},
		{"cnn-lstm", func() ml.Classifier {
			return NewCNNLSTM(SeqConfig{SeqLen: 32, EmbedDim: 8, Units: 16, Filters: 16, Kernel: 3, Pool: 2}, quickTrain())
		}, func(n int, seed int64) ml.Dataset { return synthTokens(n, 32, seed) }, 300, []ml.Input{{Tokens: []int32{-4}}}},
		{"image-cnn", func() ml.Classifier {
			return NewImageCNN(ImageConfig{Size: 16, Filters: []int{8}, Kernel: 3, Pools: []int{2}, Hidden: 16}, quickTrain())
		}, synthImages, 150, []ml.Input{{Pixels: []float32{0.5, float32(math.NaN())}, Width: 2, Height: 1}, {Pixels: []float32{0.5}, Width: 2, Height: 2}}},
		{"image-cnn-lstm", func() ml.Classifier {
			return NewImageCNNLSTM(ImageConfig{Size: 16, Filters: []int{8, 16}, Kernel: 3, Pools: []int{4, 2}, Units: 16, Dropout: 0.1}, quickTrain())
		}, synthImages, 150, []ml.Input{{Pixels: []float32{2}, Width: 1, Height: 1}}},
	}
}

func accuracy(t *testing.T, m ml.Classifier, d ml.Dataset) float64 {
	t.Helper()
	ok := 0
	for i, in := range d.Inputs {
		p, err := m.PredictProba(in)
		if err != nil {
			t.Fatal(err)
		}
		best := 0
		for k := range p {
			if p[k] > p[best] {
				best = k
			}
		}
		if best == d.Labels[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(d.Inputs))
}

func saveBytes(t *testing.T, m ml.Classifier) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestModels(t *testing.T) {
	for _, c := range modelCases() {
		t.Run(c.name, func(t *testing.T) {
			train, test := c.data(c.nTrain, 1), c.data(90, 2)
			m := c.factory()
			if m.Name() != c.name {
				t.Fatalf("Name() = %q", m.Name())
			}
			start := time.Now()
			if err := m.Fit(context.Background(), train, 42); err != nil {
				t.Fatal(err)
			}
			acc := accuracy(t, m, test)
			t.Logf("%s: trained in %v, held-out accuracy %.3f", c.name, time.Since(start).Round(time.Millisecond), acc)
			if acc < 0.9 {
				t.Errorf("held-out accuracy %.3f < 0.9", acc)
			}

			// Save and reload: bit-identical probabilities.
			saved := saveBytes(t, m)
			m2 := c.factory()
			if err := m2.Load(bytes.NewReader(saved)); err != nil {
				t.Fatal(err)
			}
			for i, in := range test.Inputs[:20] {
				p1, _ := m.PredictProba(in)
				p2, err := m2.PredictProba(in)
				if err != nil {
					t.Fatal(err)
				}
				for k := range p1 {
					if math.Float64bits(p1[k]) != math.Float64bits(p2[k]) {
						t.Fatalf("example %d class %d: %v before save, %v after", i, k, p1[k], p2[k])
					}
				}
			}

			for i, in := range c.bad {
				if _, err := m.PredictProba(in); !errors.Is(err, ml.ErrData) {
					t.Errorf("bad input %d: error %v, want ml.ErrData", i, err)
				}
			}

			if testing.Short() {
				return
			}
			// Same seed, same weights.
			m3 := c.factory()
			if err := m3.Fit(context.Background(), train, 42); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(saved, saveBytes(t, m3)) {
				t.Error("same data and seed gave different weights")
			}
		})
	}
}
