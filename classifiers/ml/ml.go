// Package ml is the contract shared by ScaleMalNet's models: an example
// (Input), a labelled Dataset, and the Classifier interface every model
// (classical baselines and deep models) implements, so evaluation, cross-
// validation, model files and the classifier plugins treat them alike.
package ml

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Input is one example. Exactly one representation is set, matching the
// model's input kind: a feature vector, a token-id sequence, or an image.
type Input struct {
	Vector []float64 `json:"vector,omitempty"`
	Tokens []int32   `json:"tokens,omitempty"`
	Pixels []float32 `json:"pixels,omitempty"` // row-major, values in [0,1]
	Width  int       `json:"width,omitempty"`
	Height int       `json:"height,omitempty"`
}

// Dataset is a set of labelled examples. Labels index Classes.
type Dataset struct {
	Inputs  []Input
	Labels  []int
	Classes []string
	IDs     []string // optional, for reporting
	// Groups, when set, names each example's group (an ATT&CK technique,
	// a program): cross-validation then keeps a group's examples on one
	// side of every split (eval.StratifiedGroupKFold).
	Groups []string
}

// ErrData is wrapped by errors about a dataset's shape or content.
var ErrData = errors.New("invalid dataset")

// Validate checks lengths and label ranges.
func (d *Dataset) Validate() error {
	if len(d.Inputs) != len(d.Labels) {
		return fmt.Errorf("%w: %d inputs, %d labels", ErrData, len(d.Inputs), len(d.Labels))
	}
	if len(d.Classes) < 2 {
		return fmt.Errorf("%w: %d classes", ErrData, len(d.Classes))
	}
	if d.Groups != nil && len(d.Groups) != len(d.Labels) {
		return fmt.Errorf("%w: %d groups, %d labels", ErrData, len(d.Groups), len(d.Labels))
	}
	for i, y := range d.Labels {
		if y < 0 || y >= len(d.Classes) {
			return fmt.Errorf("%w: label %d of example %d outside [0,%d)", ErrData, y, i, len(d.Classes))
		}
	}
	return nil
}

// Subset returns the examples at idx (sharing their inputs).
func (d *Dataset) Subset(idx []int) Dataset {
	s := Dataset{Classes: d.Classes}
	for _, i := range idx {
		s.Inputs = append(s.Inputs, d.Inputs[i])
		s.Labels = append(s.Labels, d.Labels[i])
		if d.IDs != nil {
			s.IDs = append(s.IDs, d.IDs[i])
		}
		if d.Groups != nil {
			s.Groups = append(s.Groups, d.Groups[i])
		}
	}
	return s
}

// Classifier is a trainable model.
type Classifier interface {
	// Name identifies the model type, e.g. "random-forest", "lstm".
	Name() string
	// Fit trains on d. The same data and seed must give the same model.
	Fit(ctx context.Context, d Dataset, seed int64) error
	// PredictProba returns one probability per class, summing to 1.
	PredictProba(in Input) ([]float64, error)
	// Save writes the trained parameters; Load reads them back into a
	// Classifier of the same type and configuration, giving bit-identical
	// predictions.
	Save(w io.Writer) error
	Load(r io.Reader) error
}

// Factory makes an untrained classifier (cross-validation trains one per fold).
type Factory func() Classifier
