package deep

import (
	"fmt"
	"math"
	"math/rand"

	"gorgonia.org/tensor"
)

// paramSet is the canonical store of a model's learnable tensors, keyed by
// node name. Graphs built for training, validation and inference bind
// their parameter nodes to copies of these values by name.
type paramSet struct {
	order []string
	vals  map[string]*tensor.Dense
}

func newParamSet() *paramSet { return &paramSet{vals: map[string]*tensor.Dense{}} }

// initKind selects how a new parameter is drawn.
type initKind int

const (
	initGlorot initKind = iota // uniform(-a, a), a = sqrt(6/(fanIn+fanOut))
	initZero
	initOne
	initNormal01 // N(0, 0.1^2), used for embeddings
)

// get returns the tensor called name, creating it with the given shape and
// initialiser (drawing from rng) if it does not exist yet.
func (p *paramSet) get(name string, shape []int, kind initKind, fanIn, fanOut int, rng *rand.Rand) (*tensor.Dense, error) {
	if t, ok := p.vals[name]; ok {
		if !t.Shape().Eq(tensor.Shape(shape)) {
			return nil, fmt.Errorf("parameter %s has shape %v, graph wants %v", name, t.Shape(), shape)
		}
		return t, nil
	}
	if rng == nil {
		return nil, fmt.Errorf("parameter %s missing and no generator to initialise it", name)
	}
	n := 1
	for _, s := range shape {
		n *= s
	}
	data := make([]float64, n)
	switch kind {
	case initGlorot:
		a := math.Sqrt(6 / float64(fanIn+fanOut))
		for i := range data {
			data[i] = (2*rng.Float64() - 1) * a
		}
	case initOne:
		for i := range data {
			data[i] = 1
		}
	case initNormal01:
		for i := range data {
			data[i] = 0.1 * rng.NormFloat64()
		}
	}
	t := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
	p.vals[name] = t
	p.order = append(p.order, name)
	return t, nil
}

// clone deep-copies the set (used to keep the best weights seen while
// early stopping).
func (p *paramSet) clone() *paramSet {
	q := newParamSet()
	for _, name := range p.order {
		q.order = append(q.order, name)
		q.vals[name] = p.vals[name].Clone().(*tensor.Dense)
	}
	return q
}

// copyFrom overwrites this set's values in place with src's (same names and
// shapes), so graphs bound to these tensors see the new weights.
func (p *paramSet) copyFrom(src *paramSet) error {
	for _, name := range p.order {
		s, ok := src.vals[name]
		if !ok {
			return fmt.Errorf("parameter %s missing from source", name)
		}
		d := p.vals[name]
		if !d.Shape().Eq(s.Shape()) {
			return fmt.Errorf("parameter %s: shape %v, source %v", name, d.Shape(), s.Shape())
		}
		copy(d.Data().([]float64), s.Data().([]float64))
	}
	return nil
}

// savedTensor is the gob form of one named tensor.
type savedTensor struct {
	Name  string
	Shape []int
	Data  []float64
}

func (p *paramSet) export() []savedTensor {
	out := make([]savedTensor, 0, len(p.order))
	for _, name := range p.order {
		t := p.vals[name]
		out = append(out, savedTensor{Name: name, Shape: []int(t.Shape().Clone()), Data: append([]float64(nil), t.Data().([]float64)...)})
	}
	return out
}

// Bounds on saved tensors, checked before anything is allocated from a
// shape: a model file is input like any other.
const (
	MaxTensorDims  = 8
	MaxTensorElems = 1 << 26 // per tensor
	MaxParamElems  = 1 << 27 // all tensors of a model
)

func importParams(ts []savedTensor) (*paramSet, error) {
	p := newParamSet()
	total := 0
	for _, s := range ts {
		if len(s.Shape) == 0 || len(s.Shape) > MaxTensorDims {
			return nil, fmt.Errorf("tensor %s: %d dimensions", s.Name, len(s.Shape))
		}
		n := 1
		for _, d := range s.Shape {
			if d <= 0 || d > MaxTensorElems || n > MaxTensorElems/d {
				return nil, fmt.Errorf("tensor %s: shape %v out of bounds (at most %d values)", s.Name, s.Shape, MaxTensorElems)
			}
			n *= d
		}
		if total += n; total > MaxParamElems {
			return nil, fmt.Errorf("tensors hold more than %d values", MaxParamElems)
		}
		if n != len(s.Data) {
			return nil, fmt.Errorf("tensor %s: shape %v but %d values", s.Name, s.Shape, len(s.Data))
		}
		if _, dup := p.vals[s.Name]; dup {
			return nil, fmt.Errorf("tensor %s saved twice", s.Name)
		}
		p.order = append(p.order, s.Name)
		p.vals[s.Name] = tensor.New(tensor.WithShape(s.Shape...), tensor.WithBacking(append([]float64(nil), s.Data...)))
	}
	return p, nil
}
