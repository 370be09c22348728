package deep

import (
	"fmt"
	"math/rand"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// builder assembles one gorgonia graph (training, validation or inference)
// for a fixed batch size. Parameter nodes are bound by name to the tensors
// of a shared paramSet, so every graph of a model sees the same weights.
type builder struct {
	g     *G.ExprGraph
	ps    *paramSet
	rng   *rand.Rand // initialises missing parameters; nil when loading
	batch int
	train bool // dropout active
	salt  int  // > 0: node names carry a "salt~" prefix (see buildUnique)

	learn []*G.Node   // parameter nodes in creation order
	masks []*dropMask // dropout masks refilled before each training batch
	names map[string]bool
}

// dropMask is a dropout mask fed as an input node (gorgonia's own Dropout
// seeds from the clock, which would make training irreproducible).
type dropMask struct {
	node *G.Node
	keep float64 // 1 - drop probability
	data []float64
}

func newBuilder(ps *paramSet, rng *rand.Rand, batch int, train bool) *builder {
	return &builder{g: G.NewGraph(), ps: ps, rng: rng, batch: batch, train: train, names: map[string]bool{}}
}

// claim reserves a node name; reusing a name would silently merge nodes.
func (b *builder) claim(name string) error {
	if b.names[name] {
		return fmt.Errorf("node name %q used twice", name)
	}
	b.names[name] = true
	return nil
}

// nodeName is the graph name of a node called name: name itself, or
// salt~name in a graph rebuilt to escape a hash collision. The salt is a
// prefix: FNV hashes that collide still collide after a common suffix.
func (b *builder) nodeName(name string) string {
	if b.salt == 0 {
		return name
	}
	return fmt.Sprintf("%d~%s", b.salt, name)
}

// param returns a learnable node named name bound to the paramSet tensor.
func (b *builder) param(name string, shape []int, kind initKind, fanIn, fanOut int) (*G.Node, error) {
	if err := b.claim(name); err != nil {
		return nil, err
	}
	t, err := b.ps.get(name, shape, kind, fanIn, fanOut, b.rng)
	if err != nil {
		return nil, err
	}
	n := G.NewTensor(b.g, G.Float64, len(shape), G.WithShape(shape...), G.WithName(b.nodeName(name)), G.WithValue(t))
	b.learn = append(b.learn, n)
	return n, nil
}

// input returns a named data input node.
func (b *builder) input(name string, dt tensor.Dtype, shape ...int) (*G.Node, error) {
	if err := b.claim(name); err != nil {
		return nil, err
	}
	return G.NewTensor(b.g, dt, len(shape), G.WithShape(shape...), G.WithName(b.nodeName(name))), nil
}

// constant returns a named scalar constant (gorgonia merges constants by
// name, so names must be unique).
func (b *builder) constant(name string, v float64) (*G.Node, error) {
	if err := b.claim(name); err != nil {
		return nil, err
	}
	return G.NewConstant(v, G.WithName(b.nodeName(name))), nil
}

// refillMasks draws new dropout masks from rng.
func (b *builder) refillMasks(rng *rand.Rand) error {
	for _, m := range b.masks {
		for i := range m.data {
			if rng.Float64() < m.keep {
				m.data[i] = 1 / m.keep
			} else {
				m.data[i] = 0
			}
		}
		if err := G.Let(m.node, tensor.New(tensor.WithShape(m.node.Shape().Clone()...), tensor.WithBacking(m.data))); err != nil {
			return fmt.Errorf("binding dropout mask: %w", err)
		}
	}
	return nil
}
