// Command crash-classifier panics in Classify, taking its process down.
package main

import (
	"context"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/sdk"
)

type classifier struct{ sdk.NoConfig }

func (classifier) Info(context.Context) (plugins.Info, error) {
	return plugins.Info{Name: "crash-classifier", Kind: plugins.KindClassifier, Version: "1.0.0",
		APIVersions: []uint32{plugins.APIVersion}, Inputs: []plugins.Input{plugins.InputStatic},
		Consumes: []string{"byte-stats"}, Stage: plugins.StageDetection, Classes: []string{"benign", "malware"}}, nil
}

// Classify answers samples named "ok" and panics on every other.
func (classifier) Classify(_ context.Context, s plugins.Sample, _ []*features.Set) (plugins.Vote, error) {
	if s.Name == "ok" {
		return sdk.NewVote([]string{"benign", "malware"}, []float64{1, 0}, "crashy", "1")
	}
	panic("classifier exploded on " + s.Name)
}

func main() { sdk.ServeClassifier(classifier{}) }
