package deep

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// DNNConfig configures the fully connected network over feature vectors
// (the paper's WSBD model).
type DNNConfig struct {
	Hidden  []int   // units per hidden layer, e.g. 256, 128, 64
	Dropout float64 // dropout after each hidden layer (training only)
}

// DefaultDNN is 256-128-64 with dropout 0.1.
func DefaultDNN() DNNConfig { return DNNConfig{Hidden: []int{256, 128, 64}, Dropout: 0.1} }

// dnnArch standardises vectors with training means and deviations and
// applies Dense-ReLU-Dropout blocks and a final Dense to class logits.
type dnnArch struct {
	Config DNNConfig
	Dim    int       // vector length, set by prep
	Mean   []float64 // per-feature training mean
	Std    []float64 // per-feature training deviation (1 where constant)
}

// NewDNN returns an untrained "dnn" model.
func NewDNN(c DNNConfig, t TrainConfig) *Model { return &Model{Train: t, arch: &dnnArch{Config: c}} }

func (a *dnnArch) name() string { return "dnn" }

func (a *dnnArch) prep(ins []ml.Input) error {
	for _, h := range a.Config.Hidden {
		if h < 1 {
			return fmt.Errorf("dnn: hidden layer of %d units", h)
		}
	}
	if a.Config.Dropout < 0 || a.Config.Dropout >= 1 {
		return fmt.Errorf("dnn: dropout %v outside [0,1)", a.Config.Dropout)
	}
	a.Dim = len(ins[0].Vector)
	if a.Dim == 0 {
		return fmt.Errorf("%w: dnn needs feature vectors", ml.ErrData)
	}
	a.Mean, a.Std = make([]float64, a.Dim), make([]float64, a.Dim)
	for i, in := range ins {
		if err := a.check(in); err != nil {
			return fmt.Errorf("training example %d: %w", i, err)
		}
		for j, v := range in.Vector {
			a.Mean[j] += v
		}
	}
	n := float64(len(ins))
	for j := range a.Mean {
		a.Mean[j] /= n
	}
	for _, in := range ins {
		for j, v := range in.Vector {
			a.Std[j] += (v - a.Mean[j]) * (v - a.Mean[j])
		}
	}
	for j := range a.Std {
		a.Std[j] = math.Sqrt(a.Std[j] / n)
		if a.Std[j] < 1e-12 {
			a.Std[j] = 1
		}
	}
	return nil
}

// check validates the length and finiteness of a vector.
func (a *dnnArch) check(in ml.Input) error {
	if len(in.Vector) != a.Dim {
		return fmt.Errorf("%w: vector of %d features, model expects %d", ml.ErrData, len(in.Vector), a.Dim)
	}
	for j, v := range in.Vector {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: feature %d is %v", ml.ErrData, j, v)
		}
	}
	return nil
}

func (a *dnnArch) encode(in ml.Input) ([]float64, error) {
	if err := a.check(in); err != nil {
		return nil, err
	}
	r := make([]float64, a.Dim)
	for j, v := range in.Vector {
		r[j] = (v - a.Mean[j]) / a.Std[j]
	}
	return r, nil
}

func (a *dnnArch) build(b *builder, classes int) (*G.Node, *G.Node, error) {
	in, err := b.input("x", G.Float64, b.batch, a.Dim)
	if err != nil {
		return nil, nil, err
	}
	h := in
	for i, units := range a.Config.Hidden {
		name := fmt.Sprintf("dense%d", i)
		if h, err = b.dense(name, h, units); err != nil {
			return nil, nil, err
		}
		if h, err = relu(h); err != nil {
			return nil, nil, err
		}
		if h, err = b.dropout(name+".drop", h, a.Config.Dropout); err != nil {
			return nil, nil, err
		}
	}
	logits, err := b.dense("out", h, classes)
	return in, logits, err
}

func (a *dnnArch) feed(in *G.Node, rows [][]float64) error { return floatRows(in, rows) }
