package deep

import (
	"math"
	"math/rand"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// randSlice returns n values uniform in [-1, 1).
func randSlice(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 2*rng.Float64() - 1
	}
	return v
}

// data returns a parameter's values.
func data(b *builder, name string) []float64 { return b.ps.vals[name].Data().([]float64) }

// forward runs the graph once and returns out's values.
func forward(t *testing.T, b *builder, out *G.Node) []float64 {
	t.Helper()
	vm := G.NewTapeMachine(b.g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	return append([]float64(nil), out.Value().Data().([]float64)...)
}

// assertClose fails unless got and want agree to tol.
func assertClose(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol {
			t.Fatalf("%s[%d] = %g, reference %g", what, i, got[i], want[i])
		}
	}
}

// gradCheck compares gorgonia's symbolic gradients of sum(out ⊙ R), R
// random, with central differences for up to samples entries of each
// parameter, and returns the largest relative error.
func gradCheck(t *testing.T, b *builder, out *G.Node, samples int, rng *rand.Rand) float64 {
	return gradCheckFrom(t, b, out, samples, rng, nil)
}

// gradCheckFrom is gradCheck where from[name] restricts the sampled entries
// of that parameter to indices >= from[name].
func gradCheckFrom(t *testing.T, b *builder, out *G.Node, samples int, rng *rand.Rand, from map[string]int) float64 {
	t.Helper()
	r, err := b.input("gradcheck.R", G.Float64, out.Shape().Clone()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := G.Let(r, tensor.New(tensor.WithShape(out.Shape().Clone()...), tensor.WithBacking(randSlice(rng, out.Shape().TotalSize())))); err != nil {
		t.Fatal(err)
	}
	prod, err := G.HadamardProd(out, r)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := G.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	return gradCheckLoss(t, b, loss, samples, rng, from)
}

// gradCheckLoss is gradCheck for a scalar loss node.
func gradCheckLoss(t *testing.T, b *builder, loss *G.Node, samples int, rng *rand.Rand, from map[string]int) float64 {
	t.Helper()
	if _, err := G.Grad(loss, b.learn...); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(b.g, G.BindDualValues(b.learn...))
	defer vm.Close()
	run := func() float64 {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return loss.Value().Data().(float64)
	}
	run()
	analytic := map[string][]float64{}
	for _, n := range b.learn {
		g, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		analytic[n.Name()] = append([]float64(nil), g.Data().([]float64)...)
	}
	const eps = 1e-6
	worst := 0.0
	for _, n := range b.learn {
		w := data(b, n.Name())
		lo := from[n.Name()]
		idx := rng.Perm(len(w) - lo)
		for k := range idx {
			idx[k] += lo
		}
		if len(idx) > samples {
			idx = idx[:samples]
		}
		for _, i := range idx {
			orig := w[i]
			w[i] = orig + eps
			up := run()
			w[i] = orig - eps
			down := run()
			w[i] = orig
			num := (up - down) / (2 * eps)
			a := analytic[n.Name()][i]
			den := math.Max(math.Abs(a), math.Abs(num))
			if den < 1e-7 {
				continue // both ~0: nothing to compare
			}
			if rel := math.Abs(a-num) / den; rel > worst {
				worst = rel
				if rel > 1e-4 {
					t.Errorf("%s[%d]: analytic %g, numerical %g (rel %.2e)", n.Name(), i, a, num, rel)
				}
			}
		}
	}
	return worst
}

func TestDense(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	b := newBuilder(newParamSet(), rng, 3, false)
	x, _ := b.param("x", []int{3, 5}, initGlorot, 1, 1)
	y, err := b.dense("d", x, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := refDense(data(b, "x"), 3, 5, data(b, "d.W"), randBias(b, rng, "d.b"), 4)
	assertClose(t, "dense", forward(t, b, y), want, 1e-12)
	t.Logf("dense: max relative gradient error %.2e", gradCheck(t, b, y, 20, rng))
}

// randBias fills a (zero-initialised) bias with random values and returns it.
func randBias(b *builder, rng *rand.Rand, name string) []float64 {
	d := data(b, name)
	copy(d, randSlice(rng, len(d)))
	return d
}

func TestEmbedding(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	b := newBuilder(newParamSet(), rng, 1, false)
	ids := []int{3, 0, 9, 3, 3, 7, 1}
	in, _ := b.input("ids", tensor.Int, len(ids))
	if err := G.Let(in, tensor.New(tensor.WithShape(len(ids)), tensor.WithBacking(append([]int(nil), ids...)))); err != nil {
		t.Fatal(err)
	}
	y, err := b.embedding("emb", in, 10, 4)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "embedding", forward(t, b, y), refEmbedding(ids, data(b, "emb.E"), 4), 0)
	t.Logf("embedding: max relative gradient error %.2e", gradCheck(t, b, y, 40, rng))
}

func testConv(t *testing.T, B, C, H, W, F, kh, kw int, same bool) {
	rng := rand.New(rand.NewSource(3))
	b := newBuilder(newParamSet(), rng, B, false)
	x, _ := b.param("x", []int{B, C, H, W}, initGlorot, 1, 1)
	copy(data(b, "x"), randSlice(rng, B*C*H*W))
	y, err := b.conv2d("conv", x, F, kh, kw, same)
	if err != nil {
		t.Fatal(err)
	}
	bias := randBias(b, rng, "conv.b")
	want, Ho, Wo := refConv2d(data(b, "x"), B, C, H, W, data(b, "conv.W"), F, kh, kw, padFor(kh, same), padFor(kw, same), bias)
	if got := y.Shape(); !got.Eq(tensor.Shape{B, F, Ho, Wo}) {
		t.Fatalf("conv shape %v, want %v", got, []int{B, F, Ho, Wo})
	}
	assertClose(t, "conv", forward(t, b, y), want, 1e-12)
	t.Logf("conv %dx%d same=%v: max relative gradient error %.2e", kh, kw, same, gradCheck(t, b, y, 30, rng))
}

func TestConv1DSame(t *testing.T)  { testConv(t, 2, 3, 1, 9, 4, 1, 3, true) }
func TestConv1DValid(t *testing.T) { testConv(t, 2, 3, 1, 9, 4, 1, 3, false) }
func TestConv2D(t *testing.T)      { testConv(t, 2, 2, 6, 6, 3, 3, 3, true) }

func TestConvReluForward(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	b := newBuilder(newParamSet(), rng, 2, false)
	x, _ := b.param("x", []int{2, 1, 1, 300}, initGlorot, 1, 1)
	copy(data(b, "x"), randSlice(rng, 600))
	y, err := b.conv1d("conv", x, 5, 3, true)
	if err != nil {
		t.Fatal(err)
	}
	r, err := relu(y)
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := refConv2d(data(b, "x"), 2, 1, 1, 300, data(b, "conv.W"), 5, 1, 3, 0, 1, data(b, "conv.b"))
	assertClose(t, "conv+relu", forward(t, b, r), refRelu(want), 1e-12)
}

func testPool(t *testing.T, B, C, H, W, kh, kw int) {
	rng := rand.New(rand.NewSource(5))
	b := newBuilder(newParamSet(), rng, B, false)
	x, _ := b.param("x", []int{B, C, H, W}, initGlorot, 1, 1)
	copy(data(b, "x"), randSlice(rng, B*C*H*W))
	var y *G.Node
	var err error
	if kh == 1 {
		y, err = maxPool1d(x, kw)
	} else {
		y, err = maxPool2d(x, kh)
	}
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := refMaxPool2d(data(b, "x"), B, C, H, W, kh, kw)
	assertClose(t, "maxpool", forward(t, b, y), want, 0)
	t.Logf("maxpool %dx%d: max relative gradient error %.2e", kh, kw, gradCheck(t, b, y, 40, rng))
}

func TestMaxPool1D(t *testing.T) { testPool(t, 2, 3, 1, 8, 1, 2) }
func TestMaxPool2D(t *testing.T) { testPool(t, 2, 2, 6, 6, 2, 2) }

// lstmCase builds x (T, B, F) -> steps -> LSTM(H).
func lstmCase(t *testing.T, T, B, F, H int, seed int64) (*builder, *G.Node, *rand.Rand) {
	rng := rand.New(rand.NewSource(seed))
	b := newBuilder(newParamSet(), rng, B, false)
	x, _ := b.param("x", []int{T, B, F}, initGlorot, 1, 1)
	copy(data(b, "x"), randSlice(rng, T*B*F))
	xs, err := steps(x)
	if err != nil {
		t.Fatal(err)
	}
	h, err := b.lstm("lstm", xs, H)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"i", "f", "g", "o"} {
		randBias(b, rng, "lstm.b"+g)
	}
	return b, h, rng
}

func refLSTMOf(b *builder, T, B, F, H int) []float64 {
	var w refLSTMWeights
	for k, g := range []string{"i", "f", "g", "o"} {
		w.Wx[k], w.Wh[k], w.B[k] = data(b, "lstm.Wx"+g), data(b, "lstm.Wh"+g), data(b, "lstm.b"+g)
	}
	return refLSTM(data(b, "x"), T, B, F, H, w)
}

func TestLSTMShort(t *testing.T) {
	b, h, rng := lstmCase(t, 5, 3, 4, 6, 6)
	assertClose(t, "lstm", forward(t, b, h), refLSTMOf(b, 5, 3, 4, 6), 1e-12)
	t.Logf("lstm 5 steps: max relative gradient error %.2e", gradCheck(t, b, h, 15, rng))
}

// TestLSTMLong crosses gorgonia's 256-index slice-hash trap: with plain
// one-level slicing x[256..299] would be merged with x[0..43].
func TestLSTMLong(t *testing.T) {
	const T, B, F, H = 300, 2, 3, 4
	b, h, rng := lstmCase(t, T, B, F, H, 7)
	assertClose(t, "lstm", forward(t, b, h), refLSTMOf(b, T, B, F, H), 1e-12)
	if testing.Short() {
		return // the gradient graph takes ~25 s to compile
	}
	// Sample input entries only from steps >= 256 (the ones the trap broke).
	worst := gradCheckFrom(t, b, h, 4, rng, map[string]int{"x": 256 * B * F})
	t.Logf("lstm %d steps: max relative gradient error %.2e", T, worst)
}

// TestStepsPast256 checks the step slicer alone: row t must be x[t].
func TestStepsPast256(t *testing.T) {
	const T = 600
	b := newBuilder(newParamSet(), rand.New(rand.NewSource(8)), 1, false)
	x, _ := b.param("x", []int{T, 1, 2}, initGlorot, 1, 1)
	xs, err := steps(x)
	if err != nil {
		t.Fatal(err)
	}
	all, err := G.Concat(0, xs...)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "steps", forward(t, b, all), data(b, "x"), 0)
}

func TestSoftmaxXent(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	b := newBuilder(newParamSet(), rng, 4, false)
	logits, _ := b.param("logits", []int{4, 3}, initGlorot, 1, 1)
	copy(data(b, "logits"), randSlice(rng, 12))
	labels := []int{0, 2, 1, 2}
	oh, _ := b.input("onehot", G.Float64, 4, 3)
	ohv := make([]float64, 12)
	for i, y := range labels {
		ohv[i*3+y] = 1
	}
	if err := G.Let(oh, tensor.New(tensor.WithShape(4, 3), tensor.WithBacking(ohv))); err != nil {
		t.Fatal(err)
	}
	loss, err := b.softmaxXent(logits, oh)
	if err != nil {
		t.Fatal(err)
	}
	want := refXent(data(b, "logits"), 3, labels)
	vm := G.NewTapeMachine(b.g)
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	if got := loss.Value().Data().(float64); math.Abs(got-want) > 1e-12 {
		t.Fatalf("xent %g, reference %g", got, want)
	}
	vm.Close()
	t.Logf("softmax xent: max relative gradient error %.2e", gradCheckLoss(t, b, loss, 12, rng, nil))
}

// TestGorgoniaSliceHashTrap documents the upstream bug the step slicer
// works around: slicing x at 256 returns the node of x[0].
func TestGorgoniaSliceHashTrap(t *testing.T) {
	b := newBuilder(newParamSet(), rand.New(rand.NewSource(10)), 1, false)
	x, _ := b.param("x", []int{300, 2}, initGlorot, 1, 1)
	s0, err := G.Slice(x, G.S(0))
	if err != nil {
		t.Fatal(err)
	}
	s256, err := G.Slice(x, G.S(256))
	if err != nil {
		t.Fatal(err)
	}
	if s0 != s256 {
		t.Log("gorgonia no longer merges x[0] and x[256]; the two-level slicing in steps may be unnecessary")
	}
}

// TestGorgoniaSoftmaxHashTrap documents why graphs here never hold both
// SoftMax and LogSoftMax of one node: they are merged into one.
func TestGorgoniaSoftmaxHashTrap(t *testing.T) {
	b := newBuilder(newParamSet(), rand.New(rand.NewSource(11)), 1, false)
	x, _ := b.param("x", []int{2, 3}, initGlorot, 1, 1)
	p, err := G.SoftMax(x)
	if err != nil {
		t.Fatal(err)
	}
	lp, err := G.LogSoftMax(x)
	if err != nil {
		t.Fatal(err)
	}
	if p != lp {
		t.Log("gorgonia no longer merges SoftMax and LogSoftMax")
	}
}
