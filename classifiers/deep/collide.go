package deep

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand"

	G "gorgonia.org/gorgonia"
)

// ErrHashCollision reports a graph whose node hashes still collided after
// every rebuild (see buildUnique).
var ErrHashCollision = errors.New("deep: gorgonia node hash collision")

// maxSalts bounds the rebuilds of one graph.
const maxSalts = 8

// hashCollisions returns the pairs of distinct nodes of g whose 32-bit
// hashes are equal.
//
// gorgonia's tape machine compiles with value numbering keyed by the hash
// alone (analysis.go, dataflow.vn: df.uniques[n.Hashcode()]), with no
// equality check, so the second node of a colliding pair is silently
// replaced by the first: its instructions read the other node's register.
// Shapes that differ fail at run time ("Shape mismatch"); equal shapes give
// wrong numbers without any error. Hashes are FNV-32 over the node's type,
// shape, op and children, so a graph of N nodes collides with probability
// about N^2/2^33: a few percent for an unrolled LSTM with its gradients.
func hashCollisions(g *G.ExprGraph) [][2]*G.Node {
	seen := make(map[uint32]*G.Node)
	var out [][2]*G.Node
	for _, n := range g.AllNodes() {
		h := n.Hashcode()
		if o, ok := seen[h]; ok && o != n {
			out = append(out, [2]*G.Node{o, n})
			continue
		}
		seen[h] = n
	}
	return out
}

// buildUnique builds a graph with build on a new builder (see newBuilder)
// under salt 0, 1, ... until it has no hash collision. A salt only renames
// the graph's inputs, parameters and constants (builder.nodeName), which
// changes every hash derived from them; weights are still bound by their
// plain names, so the network computed is the same whatever the salt.
func buildUnique(ps *paramSet, rng *rand.Rand, batch int, train bool, build func(b *builder) error) (*builder, error) {
	var last [2]*G.Node
	for salt := 0; salt < maxSalts; salt++ {
		b := newBuilder(ps, rng, batch, train)
		b.salt = salt
		if err := build(b); err != nil {
			return nil, err
		}
		c := hashCollisions(b.g)
		if len(c) == 0 {
			return b, nil
		}
		last = c[0]
		slog.Info("deep: graph node hashes collide (gorgonia would merge the nodes); rebuilding with renamed inputs",
			"salt", salt, "collisions", len(c), "first", fmt.Sprintf("%v %v / %v %v", last[0], last[0].Shape(), last[1], last[1].Shape()))
	}
	return nil, fmt.Errorf("%w: still after %d rebuilds (%v and %v)", ErrHashCollision, maxSalts, last[0], last[1])
}
