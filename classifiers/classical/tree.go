package classical

import (
	"context"
	"io"
	"math/rand/v2"
	"slices"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// Trees are implemented here rather than taken from a library: golearn's
// tree and forest panic when predicting on these machines and the module
// proxy refused the random-forest modules tried (see the project GUIDE).

// DecisionTree is a CART classification tree: binary splits "x[f] <= t"
// chosen to minimise the weighted Gini impurity of the children (any valid
// split, even one with no impurity decrease, is taken, so XOR-like data can
// be split), grown until a node is pure, reaches MaxDepth, has fewer than
// 2*MinLeaf examples or no feature varies. Leaves predict their class
// frequencies. With MaxFeatures > 0, each node tries features in a seeded
// random order until MaxFeatures varying ones were tried (as in a random
// forest); otherwise all features, in order, and the seed is unused.
// Ties between equally good splits go to the first found.
type DecisionTree struct {
	MaxDepth    int // 0: unlimited
	MinLeaf     int // minimum examples per leaf; 0 means 1
	MaxFeatures int // features tried per split; 0: all

	st treeState
}

// treeNode is a split (Feature >= 0) or a leaf (Feature -1, Proba set).
type treeNode struct {
	Feature     int32
	Left, Right int32
	Threshold   float64
	Proba       []float64
}

type treeState struct {
	Nodes []treeNode
	Dim   int
	K     int
}

// NewDecisionTree returns a factory for trees of the given depth limit (0:
// unlimited) and minimum leaf size (0: 1).
func NewDecisionTree(maxDepth, minLeaf int) ml.Factory {
	return func() ml.Classifier { return &DecisionTree{MaxDepth: maxDepth, MinLeaf: minLeaf} }
}

// Name implements ml.Classifier.
func (m *DecisionTree) Name() string { return "decision-tree" }

// Fit implements ml.Classifier.
func (m *DecisionTree) Fit(ctx context.Context, d ml.Dataset, seed int64) error {
	if _, err := checkFit(d); err != nil {
		return err
	}
	x := make([][]float64, len(d.Inputs))
	for i, in := range d.Inputs {
		x[i] = in.Vector
	}
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	st, err := growTree(ctx, x, d.Labels, idx, len(d.Classes), treeParams{m.MaxDepth, m.MinLeaf, m.MaxFeatures}, newRand(seed, 0x7eee))
	if err != nil {
		return err
	}
	m.st = st
	return nil
}

// PredictProba implements ml.Classifier.
func (m *DecisionTree) PredictProba(in ml.Input) ([]float64, error) {
	if err := checkInput(in, m.st.Dim); err != nil {
		return nil, err
	}
	return slices.Clone(m.st.leaf(in.Vector)), nil
}

// Save implements ml.Classifier.
func (m *DecisionTree) Save(w io.Writer) error {
	if m.st.Dim == 0 {
		return ErrNotFitted
	}
	return save(w, m.Name(), 1, &m.st)
}

// Load implements ml.Classifier.
func (m *DecisionTree) Load(r io.Reader) error { return load(r, m.Name(), 1, &m.st) }

// leaf returns the class frequencies of the leaf x falls in (shared).
func (t *treeState) leaf(x []float64) []float64 {
	n := &t.Nodes[0]
	for n.Feature >= 0 {
		if x[n.Feature] <= n.Threshold {
			n = &t.Nodes[n.Left]
		} else {
			n = &t.Nodes[n.Right]
		}
	}
	return n.Proba
}

// valIdx is a feature value and its example.
type valIdx struct {
	v float64
	i int
}

type treeParams struct{ maxDepth, minLeaf, maxFeatures int }

// grower holds one tree's working state.
type grower struct {
	ctx    context.Context
	x      [][]float64
	y      []int
	k      int
	p      treeParams
	rng    *rand.Rand
	perm   []int // feature order, permuted in place per node
	buf    []int
	sorted []valIdx
	left   []int // class counts
	nodes  []treeNode
}

// growTree grows a tree on the examples idx (repeats allowed: a bootstrap
// sample) of x, y.
func growTree(ctx context.Context, x [][]float64, y []int, idx []int, k int, p treeParams, rng *rand.Rand) (treeState, error) {
	if p.minLeaf <= 0 {
		p.minLeaf = 1
	}
	dim := len(x[0])
	if p.maxFeatures <= 0 || p.maxFeatures > dim {
		p.maxFeatures = dim
	}
	g := &grower{ctx: ctx, x: x, y: y, k: k, p: p, rng: rng, perm: make([]int, dim), buf: make([]int, len(idx)), sorted: make([]valIdx, len(idx)), left: make([]int, k)}
	for i := range g.perm {
		g.perm[i] = i
	}
	if _, err := g.grow(slices.Clone(idx), 0); err != nil {
		return treeState{}, err
	}
	return treeState{Nodes: g.nodes, Dim: dim, K: k}, nil
}

// grow adds the subtree of idx and returns its node index. idx is
// reordered in place.
func (g *grower) grow(idx []int, depth int) (int32, error) {
	if len(g.nodes)%256 == 0 {
		if err := g.ctx.Err(); err != nil {
			return 0, err
		}
	}
	counts := make([]int, g.k)
	for _, i := range idx {
		counts[g.y[i]]++
	}
	self := int32(len(g.nodes))
	g.nodes = append(g.nodes, treeNode{Feature: -1})
	pure := slices.Max(counts) == len(idx)
	if pure || (g.p.maxDepth > 0 && depth >= g.p.maxDepth) || len(idx) < 2*g.p.minLeaf {
		g.nodes[self].Proba = freq(counts, len(idx))
		return self, nil
	}
	f, thr, ok := g.bestSplit(idx, counts)
	if !ok {
		g.nodes[self].Proba = freq(counts, len(idx))
		return self, nil
	}
	// Partition idx: <= thr first, keeping relative order.
	lo := g.buf[:0]
	var hi []int
	for _, i := range idx {
		if g.x[i][f] <= thr {
			lo = append(lo, i)
		} else {
			hi = append(hi, i)
		}
	}
	nl := len(lo)
	copy(idx, lo)
	copy(idx[nl:], hi)
	l, err := g.grow(idx[:nl], depth+1)
	if err != nil {
		return 0, err
	}
	r, err := g.grow(idx[nl:], depth+1)
	if err != nil {
		return 0, err
	}
	g.nodes[self] = treeNode{Feature: int32(f), Threshold: thr, Left: l, Right: r}
	return self, nil
}

func freq(counts []int, n int) []float64 {
	p := make([]float64, len(counts))
	for c, v := range counts {
		p[c] = float64(v) / float64(n)
	}
	return p
}

// bestSplit returns the feature and threshold maximising
// sum_c L_c^2/|L| + sum_c R_c^2/|R| (minimising weighted Gini).
func (g *grower) bestSplit(idx []int, counts []int) (int, float64, bool) {
	n := len(idx)
	dim := len(g.perm)
	best, bestF, bestT, found := -1.0, -1, 0.0, false
	sorted := g.sorted[:n]
	tried := 0
	for t := 0; t < dim && (tried < g.p.maxFeatures || !found); t++ {
		if g.p.maxFeatures < dim {
			j := t + g.rng.IntN(dim-t)
			g.perm[t], g.perm[j] = g.perm[j], g.perm[t]
		}
		f := g.perm[t]
		lo, hi := g.x[idx[0]][f], g.x[idx[0]][f]
		for _, i := range idx {
			lo, hi = min(lo, g.x[i][f]), max(hi, g.x[i][f])
		}
		if lo == hi {
			continue
		}
		tried++
		// Sort (value, example) pairs; the order among equal values does
		// not matter: splits are only scored between distinct values.
		for p, i := range idx {
			sorted[p] = valIdx{g.x[i][f], i}
		}
		slices.SortFunc(sorted, func(a, b valIdx) int {
			switch {
			case a.v < b.v:
				return -1
			case a.v > b.v:
				return 1
			}
			return a.i - b.i
		})
		clear(g.left)
		var sqL, sqR float64
		right := make([]int, g.k)
		copy(right, counts)
		for _, c := range right {
			sqR += float64(c * c)
		}
		for pos := 0; pos < n-1; pos++ {
			c := g.y[sorted[pos].i]
			sqL += float64(2*g.left[c] + 1)
			sqR -= float64(2*right[c] - 1)
			g.left[c]++
			right[c]--
			nl := pos + 1
			a, b := sorted[pos].v, sorted[pos+1].v
			if a == b || nl < g.p.minLeaf || n-nl < g.p.minLeaf {
				continue
			}
			score := sqL/float64(nl) + sqR/float64(n-nl)
			if score > best {
				thr := a + (b-a)/2
				if thr >= b {
					thr = a
				}
				best, bestF, bestT, found = score, f, thr, true
			}
		}
	}
	return bestF, bestT, found
}
