package deep

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// SeqConfig configures the token-sequence models (the paper's WDBD):
// "lstm" (Embedding + LSTM) and "cnn-lstm" (Embedding + Conv1D + ReLU +
// MaxPool + LSTM).
//
// Token id 0 is padding: sequences shorter than SeqLen are padded with 0
// at the front (so the LSTM's last state follows the real tokens) and
// longer ones keep their first SeqLen tokens. Ids at or beyond the
// vocabulary learnt in training are read as 0; negative ids are an error.
type SeqConfig struct {
	SeqLen   int     // time steps fed to the network
	Vocab    int     // table size; 0: 1 + the largest id in the training data
	EmbedDim int     // embedding size
	Units    int     // LSTM units
	Filters  int     // cnn-lstm: Conv1D filters
	Kernel   int     // cnn-lstm: Conv1D kernel (odd, same padding)
	Pool     int     // cnn-lstm: max-pool window (LSTM runs SeqLen/Pool steps)
	Dropout  float64 // dropout on the LSTM output (training only)
}

// DefaultLSTM is a 100-step, 32-dim embedding, 64-unit LSTM.
func DefaultLSTM() SeqConfig {
	return SeqConfig{SeqLen: 100, EmbedDim: 32, Units: 64, Dropout: 0.1}
}

// DefaultCNNLSTM is 400 steps, Conv1D 64x3, pool 4 (100 LSTM steps), 64 units.
func DefaultCNNLSTM() SeqConfig {
	return SeqConfig{SeqLen: 400, EmbedDim: 32, Units: 64, Filters: 64, Kernel: 3, Pool: 4, Dropout: 0.1}
}

// seqArch implements both sequence models.
type seqArch struct {
	Config SeqConfig
	Conv   bool
	Vocab  int // effective vocabulary
}

// NewLSTM returns an untrained "lstm" model.
func NewLSTM(c SeqConfig, t TrainConfig) *Model { return &Model{Train: t, arch: &seqArch{Config: c}} }

// NewCNNLSTM returns an untrained "cnn-lstm" model.
func NewCNNLSTM(c SeqConfig, t TrainConfig) *Model {
	return &Model{Train: t, arch: &seqArch{Config: c, Conv: true}}
}

func (a *seqArch) name() string {
	if a.Conv {
		return "cnn-lstm"
	}
	return "lstm"
}

func (a *seqArch) prep(ins []ml.Input) error {
	c := a.Config
	if c.SeqLen < 1 || c.EmbedDim < 1 || c.Units < 1 || c.Dropout < 0 || c.Dropout >= 1 {
		return fmt.Errorf("%s: invalid config %+v", a.name(), c)
	}
	if a.Conv && (c.Filters < 1 || c.Kernel < 1 || c.Kernel%2 == 0 || c.Pool < 1 || c.SeqLen/c.Pool < 1) {
		return fmt.Errorf("%s: invalid convolution config %+v", a.name(), c)
	}
	a.Vocab = c.Vocab
	if a.Vocab == 0 {
		for i, in := range ins {
			if len(in.Tokens) == 0 {
				return fmt.Errorf("%w: training example %d has no tokens", ml.ErrData, i)
			}
			for _, t := range in.Tokens {
				a.Vocab = max(a.Vocab, int(t)+1)
			}
		}
		a.Vocab = max(a.Vocab, 2)
	}
	return nil
}

// encode pads (front, with 0) or truncates (keeping the first SeqLen) the
// sequence; ids are stored as float64.
func (a *seqArch) encode(in ml.Input) ([]float64, error) {
	if len(in.Tokens) == 0 {
		return nil, fmt.Errorf("%w: %s needs a non-empty token sequence", ml.ErrData, a.name())
	}
	T := a.Config.SeqLen
	r := make([]float64, T)
	toks := in.Tokens
	if len(toks) > T {
		toks = toks[:T]
	}
	off := T - len(toks)
	for i, t := range toks {
		if t < 0 {
			return nil, fmt.Errorf("%w: negative token id %d at %d", ml.ErrData, t, i)
		}
		if int(t) >= a.Vocab {
			t = 0
		}
		r[off+i] = float64(t)
	}
	return r, nil
}

// feed lays the ids out time-major (lstm: row t*B+b) or batch-major
// (cnn-lstm: row b*T+t) for the embedding gather.
func (a *seqArch) feed(in *G.Node, rows [][]float64) error {
	T, B := a.Config.SeqLen, len(rows)
	ids := make([]int, T*B)
	for b, r := range rows {
		if len(r) != T {
			return fmt.Errorf("%w: row of %d steps, want %d", ml.ErrData, len(r), T)
		}
		for t, v := range r {
			if a.Conv {
				ids[b*T+t] = int(v)
			} else {
				ids[t*B+b] = int(v)
			}
		}
	}
	if err := G.Let(in, tensor.New(tensor.WithShape(T*B), tensor.WithBacking(ids))); err != nil {
		return fmt.Errorf("binding token ids: %w", err)
	}
	return nil
}

func (a *seqArch) build(b *builder, classes int) (*G.Node, *G.Node, error) {
	c, B := a.Config, b.batch
	in, err := b.input("tokens", tensor.Int, c.SeqLen*B)
	if err != nil {
		return nil, nil, err
	}
	emb, err := b.embedding("emb", in, a.Vocab, c.EmbedDim)
	if err != nil {
		return nil, nil, err
	}
	var seq *G.Node // (steps, B, features)
	if !a.Conv {
		if seq, err = G.Reshape(emb, tensor.Shape{c.SeqLen, B, c.EmbedDim}); err != nil {
			return nil, nil, fmt.Errorf("lstm: %w", err)
		}
	} else {
		x, err := seqToConv(emb, B, c.SeqLen, c.EmbedDim)
		if err != nil {
			return nil, nil, err
		}
		if x, err = b.conv1d("conv", x, c.Filters, c.Kernel, true); err != nil {
			return nil, nil, err
		}
		if x, err = relu(x); err != nil {
			return nil, nil, err
		}
		if c.Pool > 1 {
			if x, err = maxPool1d(x, c.Pool); err != nil {
				return nil, nil, err
			}
		}
		if seq, err = convToSteps(x); err != nil {
			return nil, nil, err
		}
	}
	logits, err := b.lstmHead(seq, c.Units, c.Dropout, classes)
	return in, logits, err
}

// seqToConv turns batch-major rows (B*T, E) into the conv layout (B, E, 1, T).
func seqToConv(x *G.Node, B, T, E int) (*G.Node, error) {
	y, err := G.Reshape(x, tensor.Shape{B, T, E})
	if err != nil {
		return nil, fmt.Errorf("seqToConv: %w", err)
	}
	if y, err = G.Transpose(y, 0, 2, 1); err != nil {
		return nil, fmt.Errorf("seqToConv: %w", err)
	}
	if y, err = G.Reshape(y, tensor.Shape{B, E, 1, T}); err != nil {
		return nil, fmt.Errorf("seqToConv: %w", err)
	}
	return y, nil
}

// convToSteps turns a conv output (B, C, 1, L) into LSTM input (L, B, C).
func convToSteps(x *G.Node) (*G.Node, error) {
	s := x.Shape()
	y, err := G.Reshape(x, tensor.Shape{s[0], s[1], s[3]})
	if err != nil {
		return nil, fmt.Errorf("convToSteps: %w", err)
	}
	if y, err = G.Transpose(y, 2, 0, 1); err != nil {
		return nil, fmt.Errorf("convToSteps: %w", err)
	}
	return y, nil
}

// lstmHead runs an LSTM over seq (steps, B, F), then dropout and a dense
// layer to class logits.
func (b *builder) lstmHead(seq *G.Node, units int, dropout float64, classes int) (*G.Node, error) {
	xs, err := steps(seq)
	if err != nil {
		return nil, err
	}
	h, err := b.lstm("lstm", xs, units)
	if err != nil {
		return nil, err
	}
	if h, err = b.dropout("lstm.drop", h, dropout); err != nil {
		return nil, err
	}
	return b.dense("out", h, classes)
}
