// Command good-classifier is a well-behaved test classifier: it consumes
// "byte-stats" and calls a sample malware when more than half its bytes are
// zero.
package main

import (
	"context"
	"fmt"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/sdk"
)

var classes = []string{"benign", "malware"}

type classifier struct{ sdk.NoConfig }

func (classifier) Info(context.Context) (plugins.Info, error) {
	return plugins.Info{Name: "good-classifier", Kind: plugins.KindClassifier, Version: "1.0.0",
		APIVersions: []uint32{plugins.APIVersion}, Inputs: []plugins.Input{plugins.InputStatic},
		Consumes: []string{"byte-stats"}, Stage: plugins.StageDetection, Classes: classes}, nil
}

func (classifier) Classify(_ context.Context, _ plugins.Sample, sets []*features.Set) (plugins.Vote, error) {
	if len(sets) != 1 || len(sets[0].Vector) != 2 || sets[0].Vector[0] == 0 {
		return plugins.Vote{}, fmt.Errorf("want one byte-stats set, got %d sets", len(sets))
	}
	zeroFrac := sets[0].Vector[1] / sets[0].Vector[0]
	return sdk.NewVote(classes, []float64{1 - zeroFrac + 1e-9, zeroFrac + 1e-9}, "zero-fraction", "1")
}

func main() { sdk.ServeClassifier(classifier{}) }
