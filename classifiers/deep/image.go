package deep

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// ImageConfig configures the byte-image models (the paper's DIMG).
// Images are resized (area average) to Size x Size grayscale.
//
// "image-cnn" applies, per entry of Filters, a Conv2D (Kernel x Kernel,
// same padding) + ReLU + MaxPool (Pools[i] x Pools[i]), then Dense(Hidden)
// + ReLU + Dropout and a Dense to the classes.
//
// "image-cnn-lstm" reads the image as a Size*Size-long sequence (the
// paper's best model) and applies per entry of Filters a Conv1D (Kernel,
// same) + ReLU + MaxPool1D(Pools[i]), then an LSTM of Units, Dropout and a
// Dense. Pool enough that the LSTM runs few steps: gorgonia's compile time
// grows with the square of the unrolled length.
type ImageConfig struct {
	Size    int
	Filters []int
	Kernel  int
	Pools   []int
	Hidden  int // image-cnn dense layer
	Units   int // image-cnn-lstm LSTM units
	Dropout float64
}

// DefaultImageCNN is 32x32, Conv2D 16 and 32 filters 3x3, pools 2, dense 64.
func DefaultImageCNN() ImageConfig {
	return ImageConfig{Size: 32, Filters: []int{16, 32}, Kernel: 3, Pools: []int{2, 2}, Hidden: 64, Dropout: 0.25}
}

// DefaultImageCNNLSTM is the paper's best DIMG model: 32x32 as a 1,024
// sequence, Conv1D 64 then 128 filters of 3, pools of 4 (64 LSTM steps),
// LSTM 70, dropout 0.2.
func DefaultImageCNNLSTM() ImageConfig {
	return ImageConfig{Size: 32, Filters: []int{64, 128}, Kernel: 3, Pools: []int{4, 4}, Units: 70, Dropout: 0.2}
}

// imageArch implements both image models.
type imageArch struct {
	Config ImageConfig
	LSTM   bool
}

// NewImageCNN returns an untrained "image-cnn" model.
func NewImageCNN(c ImageConfig, t TrainConfig) *Model {
	return &Model{Train: t, arch: &imageArch{Config: c}}
}

// NewImageCNNLSTM returns an untrained "image-cnn-lstm" model.
func NewImageCNNLSTM(c ImageConfig, t TrainConfig) *Model {
	return &Model{Train: t, arch: &imageArch{Config: c, LSTM: true}}
}

func (a *imageArch) name() string {
	if a.LSTM {
		return "image-cnn-lstm"
	}
	return "image-cnn"
}

func (a *imageArch) prep([]ml.Input) error {
	c := a.Config
	ok := c.Size > 0 && len(c.Filters) > 0 && len(c.Filters) == len(c.Pools) && c.Kernel > 0 && c.Kernel%2 == 1 &&
		c.Dropout >= 0 && c.Dropout < 1 && (a.LSTM && c.Units > 0 || !a.LSTM && c.Hidden > 0)
	// Remaining extent after pooling must stay positive.
	n := c.Size
	if a.LSTM {
		n = c.Size * c.Size
	}
	for i, p := range c.Pools {
		ok = ok && p >= 1 && c.Filters[i] > 0
		if p > 0 {
			n /= p
		}
	}
	if !ok || n < 1 {
		return fmt.Errorf("%s: invalid config %+v", a.name(), c)
	}
	return nil
}

func (a *imageArch) encode(in ml.Input) ([]float64, error) {
	if in.Width <= 0 || in.Height <= 0 || len(in.Pixels) != in.Width*in.Height {
		return nil, fmt.Errorf("%w: image %dx%d with %d pixels", ml.ErrData, in.Width, in.Height, len(in.Pixels))
	}
	for i, v := range in.Pixels {
		if math.IsNaN(float64(v)) || v < 0 || v > 1 {
			return nil, fmt.Errorf("%w: pixel %d is %v, want [0,1]", ml.ErrData, i, v)
		}
	}
	return resize(in.Pixels, in.Width, in.Height, a.Config.Size), nil
}

// resize averages the source pixels falling in each of the S x S target
// cells (nearest pixel when a cell is smaller than a source pixel).
func resize(px []float32, W, H, S int) []float64 {
	out := make([]float64, S*S)
	for i := 0; i < S; i++ {
		r0, r1 := i*H/S, (i+1)*H/S
		if r1 <= r0 {
			r1 = r0 + 1
		}
		for j := 0; j < S; j++ {
			c0, c1 := j*W/S, (j+1)*W/S
			if c1 <= c0 {
				c1 = c0 + 1
			}
			var s float64
			for r := r0; r < r1; r++ {
				for c := c0; c < c1; c++ {
					s += float64(px[r*W+c])
				}
			}
			out[i*S+j] = s / float64((r1-r0)*(c1-c0))
		}
	}
	return out
}

func (a *imageArch) feed(in *G.Node, rows [][]float64) error { return floatRows(in, rows) }

func (a *imageArch) build(b *builder, classes int) (*G.Node, *G.Node, error) {
	c, S := a.Config, a.Config.Size
	shape := []int{b.batch, 1, S, S}
	if a.LSTM {
		shape = []int{b.batch, 1, 1, S * S}
	}
	in, err := b.input("image", G.Float64, shape...)
	if err != nil {
		return nil, nil, err
	}
	x := in
	for i, f := range c.Filters {
		name := fmt.Sprintf("conv%d", i)
		if a.LSTM {
			x, err = b.conv1d(name, x, f, c.Kernel, true)
		} else {
			x, err = b.conv2d(name, x, f, c.Kernel, c.Kernel, true)
		}
		if err != nil {
			return nil, nil, err
		}
		if x, err = relu(x); err != nil {
			return nil, nil, err
		}
		if p := c.Pools[i]; p > 1 {
			if a.LSTM {
				x, err = maxPool1d(x, p)
			} else {
				x, err = maxPool2d(x, p)
			}
			if err != nil {
				return nil, nil, err
			}
		}
	}
	if a.LSTM {
		seq, err := convToSteps(x)
		if err != nil {
			return nil, nil, err
		}
		logits, err := b.lstmHead(seq, c.Units, c.Dropout, classes)
		return in, logits, err
	}
	s := x.Shape()
	if x, err = G.Reshape(x, tensor.Shape{s[0], s[1] * s[2] * s[3]}); err != nil {
		return nil, nil, fmt.Errorf("image-cnn flatten: %w", err)
	}
	if x, err = b.dense("hidden", x, c.Hidden); err != nil {
		return nil, nil, err
	}
	if x, err = relu(x); err != nil {
		return nil, nil, err
	}
	if x, err = b.dropout("hidden.drop", x, c.Dropout); err != nil {
		return nil, nil, err
	}
	logits, err := b.dense("out", x, classes)
	return in, logits, err
}
