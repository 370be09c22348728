// Package features defines what a featurizer produces: a named, versioned
// feature set of one of three kinds (a vector, a token sequence, an image),
// with the schema a classifier needs to check it was given what it expects.
package features

import (
	"errors"
	"fmt"
)

// Kind is the shape of a feature set.
type Kind string

const (
	KindVector   Kind = "vector"   // fixed-length float vector, one value per Schema column
	KindSequence Kind = "sequence" // token ids over a named vocabulary
	KindImage    Kind = "image"    // 8-bit grayscale image, row-major
)

// Set is one featurizer's output for one sample.
type Set struct {
	Name    string    `json:"name"`    // featurizer name, e.g. "clamp-raw"
	Version string    `json:"version"` // featurizer version; classifiers check it
	Kind    Kind      `json:"kind"`
	Schema  []string  `json:"schema,omitempty"` // vector: column names; sequence: vocabulary tokens by id (optional)
	Vector  []float64 `json:"vector,omitempty"`
	Tokens  []int32   `json:"tokens,omitempty"`
	Image   *Image    `json:"image,omitempty"`
	// Meta carries small facts about the extraction (e.g. "format": "PE32+",
	// "truncated": "true").
	Meta map[string]string `json:"meta,omitempty"`
}

// Image is an 8-bit grayscale image.
type Image struct {
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Pix    []byte `json:"pix"` // Width*Height bytes, row-major
}

// ErrInvalid is wrapped by Validate's errors.
var ErrInvalid = errors.New("invalid feature set")

// ErrNotApplicable is returned (wrapped) by a featurizer whose input kind does
// not apply to a sample, e.g. a PE header featurizer given an ELF file.
var ErrNotApplicable = errors.New("featurizer does not apply to this input")

// Validate checks the set is internally consistent.
func (s *Set) Validate() error {
	if s.Name == "" || s.Version == "" {
		return fmt.Errorf("%w: name and version required", ErrInvalid)
	}
	switch s.Kind {
	case KindVector:
		if len(s.Schema) != len(s.Vector) {
			return fmt.Errorf("%w: %d values for %d columns", ErrInvalid, len(s.Vector), len(s.Schema))
		}
	case KindSequence:
		if s.Tokens == nil {
			return fmt.Errorf("%w: sequence without tokens", ErrInvalid)
		}
	case KindImage:
		if s.Image == nil || s.Image.Width <= 0 || s.Image.Height <= 0 || len(s.Image.Pix) != s.Image.Width*s.Image.Height {
			return fmt.Errorf("%w: image dimensions do not match its pixels", ErrInvalid)
		}
	default:
		return fmt.Errorf("%w: kind %q", ErrInvalid, s.Kind)
	}
	return nil
}
