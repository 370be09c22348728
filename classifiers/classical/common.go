package classical

import (
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
)

// ErrNotFitted is returned by PredictProba and Save before Fit or Load.
var ErrNotFitted = errors.New("model not fitted")

// ErrModelFile is wrapped by Load errors about a model file that is not a
// model of this type.
var ErrModelFile = errors.New("invalid model file")

// checkFit validates d for a vector model and returns its dimension.
func checkFit(d ml.Dataset) (int, error) {
	if err := d.Validate(); err != nil {
		return 0, err
	}
	if len(d.Inputs) == 0 {
		return 0, fmt.Errorf("%w: no examples", ml.ErrData)
	}
	dim := len(d.Inputs[0].Vector)
	if dim == 0 {
		return 0, fmt.Errorf("%w: example 0 has no feature vector", ml.ErrData)
	}
	present := map[int]bool{}
	for i, in := range d.Inputs {
		if len(in.Vector) != dim {
			return 0, fmt.Errorf("%w: example %d has %d features, example 0 has %d", ml.ErrData, i, len(in.Vector), dim)
		}
		for j, v := range in.Vector {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("%w: example %d feature %d is %v", ml.ErrData, i, j, v)
			}
		}
		present[d.Labels[i]] = true
	}
	if len(present) < 2 {
		return 0, fmt.Errorf("%w: only one class among %d examples", ml.ErrData, len(d.Inputs))
	}
	return dim, nil
}

// checkInput validates a vector to predict.
func checkInput(in ml.Input, dim int) error {
	if dim == 0 {
		return ErrNotFitted
	}
	if len(in.Vector) != dim {
		return fmt.Errorf("%w: input has %d features, model expects %d", ml.ErrData, len(in.Vector), dim)
	}
	for j, v := range in.Vector {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: feature %d is %v", ml.ErrData, j, v)
		}
	}
	return nil
}

// Scaler standardises features: (x - Mean) / Std, with Std 1 for constant
// features.
type Scaler struct {
	Mean, Std []float64
}

// fitScaler computes the means and (population) standard deviations.
func fitScaler(d ml.Dataset, dim int) Scaler {
	s := Scaler{Mean: make([]float64, dim), Std: make([]float64, dim)}
	n := float64(len(d.Inputs))
	for _, in := range d.Inputs {
		for j, v := range in.Vector {
			s.Mean[j] += v
		}
	}
	for j := range s.Mean {
		s.Mean[j] /= n
	}
	for _, in := range d.Inputs {
		for j, v := range in.Vector {
			s.Std[j] += (v - s.Mean[j]) * (v - s.Mean[j])
		}
	}
	for j := range s.Std {
		s.Std[j] = math.Sqrt(s.Std[j] / n)
		if s.Std[j] < 1e-12 || math.IsInf(s.Std[j], 0) || math.IsNaN(s.Std[j]) {
			s.Std[j] = 1
		}
	}
	return s
}

// apply writes the standardised x into dst (allocated when nil).
func (s *Scaler) apply(dst, x []float64) []float64 {
	if dst == nil {
		dst = make([]float64, len(x))
	}
	for j, v := range x {
		dst[j] = (v - s.Mean[j]) / s.Std[j]
	}
	return dst
}

// softmax turns scores into probabilities in place (max-shifted).
func softmax(z []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = max(m, v)
	}
	var sum float64
	for i, v := range z {
		z[i] = math.Exp(v - m)
		sum += z[i]
	}
	for i := range z {
		z[i] /= sum
	}
	return z
}

// newRand returns the model's generator for a seed and stream.
func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

// header starts every model file, so Load can refuse another model's file.
type header struct {
	Format  string
	Model   string
	Version int
}

const fileFormat = "scalemalnet-classical"

// save writes a header and the model state with gob.
func save(w io.Writer, model string, version int, state any) error {
	enc := gob.NewEncoder(w)
	if err := enc.Encode(header{fileFormat, model, version}); err != nil {
		return err
	}
	return enc.Encode(state)
}

// load reads what save wrote into state.
func load(r io.Reader, model string, version int, state any) error {
	dec := gob.NewDecoder(r)
	var h header
	if err := dec.Decode(&h); err != nil {
		return fmt.Errorf("%w: %v", ErrModelFile, err)
	}
	if h.Format != fileFormat || h.Model != model || h.Version != version {
		return fmt.Errorf("%w: file holds %s %s v%d, want %s v%d", ErrModelFile, h.Format, h.Model, h.Version, model, version)
	}
	if err := dec.Decode(state); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrModelFile, model, err)
	}
	return nil
}
