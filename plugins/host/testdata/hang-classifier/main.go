// Command hang-classifier never answers Classify for samples named "hang",
// ignoring its context like a plugin stuck in a loop would.
package main

import (
	"context"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/sdk"
)

type classifier struct{ sdk.NoConfig }

func (classifier) Info(context.Context) (plugins.Info, error) {
	return plugins.Info{Name: "hang-classifier", Kind: plugins.KindClassifier, Version: "1.0.0",
		APIVersions: []uint32{plugins.APIVersion}, Inputs: []plugins.Input{plugins.InputStatic},
		Consumes: []string{"byte-stats"}, Stage: plugins.StageDetection, Classes: []string{"benign", "malware"}}, nil
}

func (classifier) Classify(_ context.Context, s plugins.Sample, _ []*features.Set) (plugins.Vote, error) {
	if s.Name == "hang" {
		select {}
	}
	return sdk.NewVote([]string{"benign", "malware"}, []float64{0.25, 0.75}, "hangy", "1")
}

func main() { sdk.ServeClassifier(classifier{}) }
