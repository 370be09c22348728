// Command good-featurizer is a well-behaved test featurizer: it produces
// "byte-stats" (size and zero-byte count) from the sample's bytes and
// abstains on an empty sample.
package main

import (
	"context"
	"fmt"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/sdk"
)

type featurizer struct{ sdk.NoConfig }

func (featurizer) Info(context.Context) (plugins.Info, error) {
	return plugins.Info{Name: "good-featurizer", Kind: plugins.KindFeaturizer, Version: "1.0.0",
		APIVersions: []uint32{plugins.APIVersion}, Inputs: []plugins.Input{plugins.InputStatic},
		Description: "test featurizer", Produces: []string{"byte-stats"}}, nil
}

func (featurizer) Featurize(_ context.Context, in plugins.FeaturizeInput) ([]*features.Set, error) {
	if len(in.Content) == 0 {
		return nil, fmt.Errorf("%w: empty sample", plugins.ErrNotApplicable)
	}
	zeros := 0
	for _, b := range in.Content {
		if b == 0 {
			zeros++
		}
	}
	return []*features.Set{{Name: "byte-stats", Version: "1", Kind: features.KindVector,
		Schema: []string{"size", "zeros"}, Vector: []float64{float64(len(in.Content)), float64(zeros)}}}, nil
}

func main() { sdk.ServeFeaturizer(featurizer{}) }
