package deep

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
	"github.com/scalemalnet/scalemalnet/classifiers/modelfile"
)

// TrainConfig controls optimisation; it is shared by every deep model.
type TrainConfig struct {
	Epochs      int     // maximum passes over the training part
	BatchSize   int     // mini-batch size (capped at the training size)
	LearnRate   float64 // Adam step size
	ValFraction float64 // share of the training data held out for early stopping (0: none)
	Patience    int     // epochs without validation improvement before stopping
}

// DefaultTrain is a reasonable starting point for every model.
func DefaultTrain() TrainConfig {
	return TrainConfig{Epochs: 30, BatchSize: 32, LearnRate: 1e-3, ValFraction: 0.1, Patience: 4}
}

func (c TrainConfig) validate() error {
	if c.Epochs < 1 || c.BatchSize < 1 || !(c.LearnRate > 0) || c.ValFraction < 0 || c.ValFraction >= 0.5 || c.Patience < 1 {
		return fmt.Errorf("invalid training config %+v", c)
	}
	return nil
}

// arch is one network family: its input encoding and its graph.
type arch interface {
	// name is the model type reported by Classifier.Name.
	name() string
	// prep learns preprocessing (standardisation, vocabulary) from the
	// training inputs.
	prep(ins []ml.Input) error
	// encode turns one input into a fixed-length row; errors wrap ml.ErrData.
	encode(in ml.Input) ([]float64, error)
	// build adds the network for b.batch rows to b and returns its data
	// input node and logits (batch, classes).
	build(b *builder, classes int) (in, logits *G.Node, err error)
	// feed binds encoded rows to the input node made by build.
	feed(in *G.Node, rows [][]float64) error
}

// Model is a deep classifier: an arch plus its trained weights. It
// implements ml.Classifier. PredictProba is safe for concurrent use.
type Model struct {
	Train TrainConfig

	arch    arch
	classes []string
	ps      *paramSet

	mu    sync.Mutex
	infer *predictor // batch-1 inference graph, compiled once
}

var _ ml.Classifier = (*Model)(nil)

// Name implements ml.Classifier.
func (m *Model) Name() string { return m.arch.name() }

// Classes returns the class names of the trained model.
func (m *Model) Classes() []string { return m.classes }

// predictor is a compiled forward-only graph for a fixed batch size.
type predictor struct {
	a          arch
	b          *builder
	in, logits *G.Node
	vm         G.VM
	classes    int
}

func newPredictor(a arch, ps *paramSet, batch, classes int) (*predictor, error) {
	var in, logits *G.Node
	b, err := buildUnique(ps, nil, batch, false, func(b *builder) error {
		var err error
		if in, logits, err = a.build(b, classes); err != nil {
			return fmt.Errorf("building inference graph: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &predictor{a: a, b: b, in: in, logits: logits, vm: G.NewTapeMachine(b.g), classes: classes}, nil
}

// probs returns class probabilities for up to batch rows (padding the rest
// with copies of the first row).
func (p *predictor) probs(rows [][]float64) ([][]float64, error) {
	n := len(rows)
	if n == 0 || n > p.b.batch {
		return nil, fmt.Errorf("predictor: %d rows for batch %d", n, p.b.batch)
	}
	for len(rows) < p.b.batch {
		rows = append(rows, rows[0])
	}
	defer p.vm.Reset()
	if err := p.a.feed(p.in, rows); err != nil {
		return nil, err
	}
	if err := p.vm.RunAll(); err != nil {
		return nil, fmt.Errorf("running inference graph: %w", err)
	}
	l := p.logits.Value().Data().([]float64)
	out := make([][]float64, n)
	for i := range out {
		out[i] = softmax(l[i*p.classes : (i+1)*p.classes])
	}
	return out, nil
}

// PredictProba implements ml.Classifier using a batch-1 graph compiled on
// first use and kept for later calls.
func (m *Model) PredictProba(in ml.Input) ([]float64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ps == nil {
		return nil, errors.New("deep: model not trained")
	}
	row, err := m.arch.encode(in)
	if err != nil {
		return nil, err
	}
	if m.infer == nil {
		if m.infer, err = newPredictor(m.arch, m.ps, 1, len(m.classes)); err != nil {
			return nil, err
		}
	}
	p, err := m.infer.probs([][]float64{row})
	if err != nil {
		return nil, err
	}
	return p[0], nil
}

// saved is the gob form of a model.
type saved struct {
	Kind    string
	Classes []string
	Arch    []byte // JSON of the arch: configuration and preprocessing state
	Train   TrainConfig
	Params  []savedTensor
}

// Save implements ml.Classifier: configuration, preprocessing state and
// weights as named tensors, gob-encoded.
func (m *Model) Save(w io.Writer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ps == nil {
		return errors.New("deep: saving an untrained model")
	}
	a, err := json.Marshal(m.arch)
	if err != nil {
		return fmt.Errorf("deep: encoding %s config: %w", m.arch.name(), err)
	}
	s := saved{Kind: m.arch.name(), Classes: m.classes, Arch: a, Train: m.Train, Params: m.ps.export()}
	if err := gob.NewEncoder(w).Encode(&s); err != nil {
		return fmt.Errorf("deep: saving %s: %w", m.arch.name(), err)
	}
	return nil
}

// Load implements ml.Classifier. The saved configuration replaces the
// receiver's; the graph is rebuilt and weights bound by node name.
func (m *Model) Load(r io.Reader) error {
	var s saved
	if err := gob.NewDecoder(r).Decode(&s); err != nil {
		return fmt.Errorf("deep: loading %s: %w", m.arch.name(), err)
	}
	if s.Kind != m.arch.name() {
		return fmt.Errorf("deep: file holds a %q model, not %q", s.Kind, m.arch.name())
	}

	if err := json.NewDecoder(bytes.NewReader(s.Arch)).Decode(m.arch); err != nil {
		return fmt.Errorf("deep: decoding %s config: %w", s.Kind, err)
	}
	// Sizes in the configuration (sequence length, layer widths) are
	// bounded before a graph is built from them.
	if err := checkArch(m.arch); err != nil {
		return fmt.Errorf("deep: loading %s: %w", s.Kind, err)
	}
	ps, err := importParams(s.Params)
	if err != nil {
		return fmt.Errorf("deep: loading %s: %w", s.Kind, err)
	}
	p, err := newPredictor(m.arch, ps, 1, len(s.Classes))
	if err != nil {
		return fmt.Errorf("deep: loading %s: %w", s.Kind, err)
	}
	if len(p.b.learn) != len(ps.order) {
		return fmt.Errorf("deep: loading %s: file has %d tensors, graph uses %d", s.Kind, len(ps.order), len(p.b.learn))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Train, m.classes, m.ps, m.infer = s.Train, s.Classes, ps, p
	return nil
}

// floatRows binds rows as a (batch, len) float64 tensor of the given shape.
func floatRows(in *G.Node, rows [][]float64) error {
	shape := in.Shape().Clone()
	d := make([]float64, 0, shape.TotalSize())
	for _, r := range rows {
		d = append(d, r...)
	}
	if len(d) != shape.TotalSize() {
		return fmt.Errorf("%w: %d values for input shape %v", ml.ErrData, len(d), shape)
	}
	if err := G.Let(in, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))); err != nil {
		return fmt.Errorf("binding input: %w", err)
	}
	return nil
}

// checkArch bounds the sizes of a loaded architecture (see modelfile's
// limits): a model file is input like any other.
func checkArch(a arch) error {
	var sizes []int
	maxSeq := modelfile.MaxSeqLen
	switch a := a.(type) {
	case *seqArch:
		c := a.Config
		if c.SeqLen > maxSeq || a.Vocab > modelfile.MaxVocab || c.Vocab > modelfile.MaxVocab {
			return fmt.Errorf("sequence length %d or vocabulary %d out of bounds", c.SeqLen, max(a.Vocab, c.Vocab))
		}
		sizes = []int{c.SeqLen, c.EmbedDim, c.Units, c.Filters, c.Kernel, c.Pool}
	case *dnnArch:
		if len(a.Config.Hidden) > 64 || a.Dim > modelfile.MaxColumns || len(a.Mean) > modelfile.MaxColumns || len(a.Std) > modelfile.MaxColumns {
			return fmt.Errorf("dense network of %d layers over %d values out of bounds", len(a.Config.Hidden), a.Dim)
		}
		sizes = append([]int{}, a.Config.Hidden...)
	case *imageArch:
		c := a.Config
		if c.Size > modelfile.MaxImage || len(c.Filters) > 64 || len(c.Pools) > 64 {
			return fmt.Errorf("image size %d or %d layers out of bounds", c.Size, len(c.Filters))
		}
		sizes = append([]int{c.Size, c.Kernel, c.Hidden, c.Units}, c.Filters...)
		sizes = append(sizes, c.Pools...)
	}
	for _, n := range sizes {
		if n < 0 || n > modelfile.MaxDim {
			return fmt.Errorf("layer size %d out of bounds [0, %d]", n, modelfile.MaxDim)
		}
	}
	return nil
}
