// Command badvote-classifier returns a vote whose scores sum to 1.4.
package main

import (
	"context"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/sdk"
)

type classifier struct{ sdk.NoConfig }

func (classifier) Info(context.Context) (plugins.Info, error) {
	return plugins.Info{Name: "badvote-classifier", Kind: plugins.KindClassifier, Version: "1.0.0",
		APIVersions: []uint32{plugins.APIVersion}, Inputs: []plugins.Input{plugins.InputStatic},
		Consumes: []string{"byte-stats"}, Stage: plugins.StageDetection, Classes: []string{"benign", "malware"}}, nil
}

func (classifier) Classify(context.Context, plugins.Sample, []*features.Set) (plugins.Vote, error) {
	return plugins.Vote{Scores: []plugins.ClassScore{{Class: "benign", Score: 0.7}, {Class: "malware", Score: 0.7}}, Label: "benign"}, nil
}

func main() { sdk.ServeClassifier(classifier{}) }
