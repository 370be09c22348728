package classical

import (
	"bytes"
	"context"
	"errors"
	"math"
	"testing"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// models lists every classical model with test-friendly settings.
func models() map[string]ml.Factory {
	return map[string]ml.Factory{
		"logreg": NewLogReg,
		"nb":     NewGaussianNB,
		"knn":    NewKNN(5),
		"tree":   NewDecisionTree(0, 1),
		"forest": func() ml.Classifier { return &RandomForest{NTrees: 30} },
		"svm":    NewLinearSVM,
	}
}

// blobs: three well-separated Gaussian classes in 4-D, with one noise
// feature on a large scale.
func blobs(n int, seed int64) ml.Dataset {
	r := newRand(seed, 99)
	d := ml.Dataset{Classes: []string{"a", "b", "c"}}
	for i := 0; i < n; i++ {
		y := i % 3
		v := []float64{r.NormFloat64() * 0.5, r.NormFloat64() * 0.5, r.NormFloat64() * 0.5, 1e4 * r.NormFloat64()}
		v[y] += 4
		d.Inputs = append(d.Inputs, ml.Input{Vector: v})
		d.Labels = append(d.Labels, y)
	}
	return d
}

// xor: class = sign(x0) != sign(x1), points away from the axes, plus a
// noise feature. Not linearly separable.
func xor(n int, seed int64) ml.Dataset {
	r := newRand(seed, 98)
	d := ml.Dataset{Classes: []string{"same", "different"}}
	for len(d.Inputs) < n {
		a, b := 2*r.Float64()-1, 2*r.Float64()-1
		if math.Abs(a) < 0.1 || math.Abs(b) < 0.1 {
			continue
		}
		y := 0
		if (a > 0) != (b > 0) {
			y = 1
		}
		d.Inputs = append(d.Inputs, ml.Input{Vector: []float64{a, b, r.Float64()}})
		d.Labels = append(d.Labels, y)
	}
	return d
}

func accuracy(t *testing.T, m ml.Classifier, d ml.Dataset) float64 {
	t.Helper()
	ok := 0
	for i, in := range d.Inputs {
		p, err := m.PredictProba(in)
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		best := 0
		for c, v := range p {
			s += v
			if v > p[best] {
				best = c
			}
			if v < 0 || math.IsNaN(v) {
				t.Fatalf("%s: bad probability %v", m.Name(), p)
			}
		}
		if math.Abs(s-1) > 1e-9 {
			t.Fatalf("%s: probabilities sum to %v", m.Name(), s)
		}
		if best == d.Labels[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(d.Inputs))
}

func TestSeparable(t *testing.T) {
	train, test := blobs(300, 1), blobs(150, 2)
	for name, f := range models() {
		t.Run(name, func(t *testing.T) {
			m := f()
			if err := m.Fit(context.Background(), train, 7); err != nil {
				t.Fatal(err)
			}
			if acc := accuracy(t, m, test); acc < 0.95 {
				t.Errorf("%s: accuracy %.3f on separable data", m.Name(), acc)
			}
		})
	}
}

func TestXOR(t *testing.T) {
	train, test := xor(400, 1), xor(200, 2)
	for _, name := range []string{"tree", "forest", "knn"} {
		t.Run(name, func(t *testing.T) {
			m := models()[name]()
			if err := m.Fit(context.Background(), train, 7); err != nil {
				t.Fatal(err)
			}
			if acc := accuracy(t, m, test); acc < 0.9 {
				t.Errorf("%s: accuracy %.3f on XOR", m.Name(), acc)
			}
		})
	}
	// A linear model cannot do it: a sanity check of the data.
	m := NewLogReg()
	if err := m.Fit(context.Background(), train, 7); err != nil {
		t.Fatal(err)
	}
	if acc := accuracy(t, m, test); acc > 0.75 {
		t.Errorf("logistic regression %.3f on XOR: data too easy", acc)
	}
}

func TestSaveLoadIdentical(t *testing.T) {
	train, test := xor(200, 3), xor(100, 4)
	for name, f := range models() {
		t.Run(name, func(t *testing.T) {
			m := f()
			if err := m.Fit(context.Background(), train, 11); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := m.Save(&buf); err != nil {
				t.Fatal(err)
			}
			saved := bytes.Clone(buf.Bytes())
			m2 := f()
			if err := m2.Load(&buf); err != nil {
				t.Fatal(err)
			}
			for i, in := range test.Inputs {
				p1, _ := m.PredictProba(in)
				p2, err := m2.PredictProba(in)
				if err != nil {
					t.Fatal(err)
				}
				for c := range p1 {
					if math.Float64bits(p1[c]) != math.Float64bits(p2[c]) {
						t.Fatalf("example %d class %d: %v after reload, %v before", i, c, p2[c], p1[c])
					}
				}
			}
			// Same data and seed: the same model file.
			m3 := f()
			if err := m3.Fit(context.Background(), train, 11); err != nil {
				t.Fatal(err)
			}
			var again bytes.Buffer
			if err := m3.Save(&again); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(saved, again.Bytes()) {
				t.Error("refit with the same seed gave a different model")
			}
			// Another model's file is refused.
			other := NewGaussianNB()
			if name == "nb" {
				other = NewLogReg()
			}
			if err := other.Load(bytes.NewReader(saved)); !errors.Is(err, ErrModelFile) {
				t.Errorf("loading a %s file into %s: %v", m.Name(), other.Name(), err)
			}
		})
	}
}

func TestForestWorkersIndependent(t *testing.T) {
	d := xor(150, 5)
	var files [2][]byte
	for i, w := range []int{1, 3} {
		m := &RandomForest{NTrees: 12, Workers: w}
		if err := m.Fit(context.Background(), d, 3); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := m.Save(&b); err != nil {
			t.Fatal(err)
		}
		files[i] = b.Bytes()
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Error("forest depends on the number of workers")
	}
}

func TestInvalidData(t *testing.T) {
	good := blobs(30, 1)
	v := func(xs ...float64) ml.Input { return ml.Input{Vector: xs} }
	cls := []string{"a", "b"}
	bad := map[string]ml.Dataset{
		"empty":     {Classes: cls},
		"one class": {Inputs: []ml.Input{v(1), v(2)}, Labels: []int{0, 0}, Classes: cls},
		"NaN":       {Inputs: []ml.Input{v(1), v(math.NaN())}, Labels: []int{0, 1}, Classes: cls},
		"Inf":       {Inputs: []ml.Input{v(math.Inf(1)), v(2)}, Labels: []int{0, 1}, Classes: cls},
		"ragged":    {Inputs: []ml.Input{v(1, 2), v(2)}, Labels: []int{0, 1}, Classes: cls},
		"no vector": {Inputs: []ml.Input{{Tokens: []int32{1}}, {Tokens: []int32{2}}}, Labels: []int{0, 1}, Classes: cls},
		"labels":    {Inputs: []ml.Input{v(1), v(2)}, Labels: []int{0, 2}, Classes: cls},
	}
	for name, f := range models() {
		for what, d := range bad {
			if err := f().Fit(context.Background(), d, 1); !errors.Is(err, ml.ErrData) {
				t.Errorf("%s, %s: %v, want ml.ErrData", name, what, err)
			}
		}
		m := f()
		if _, err := m.PredictProba(v(1, 2, 3, 4)); !errors.Is(err, ErrNotFitted) {
			t.Errorf("%s before fit: %v", name, err)
		}
		if err := m.Save(&bytes.Buffer{}); !errors.Is(err, ErrNotFitted) {
			t.Errorf("%s save before fit: %v", name, err)
		}
		if err := m.Fit(context.Background(), good, 1); err != nil {
			t.Fatal(err)
		}
		for what, in := range map[string]ml.Input{"short": v(1, 2), "long": v(1, 2, 3, 4, 5), "NaN": v(1, 2, 3, math.NaN())} {
			if _, err := m.PredictProba(in); !errors.Is(err, ml.ErrData) {
				t.Errorf("%s predict %s: %v, want ml.ErrData", name, what, err)
			}
		}
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d := blobs(60, 1)
	for _, name := range []string{"logreg", "forest", "svm", "tree"} {
		if err := models()[name]().Fit(ctx, d, 1); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", name, err)
		}
	}
}
