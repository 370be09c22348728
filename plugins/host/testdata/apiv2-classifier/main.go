// Command apiv2-classifier speaks only plugin API version 2, which this host
// does not: it uses go-plugin directly (the SDK always speaks the current
// version) and must be refused at the handshake.
package main

import (
	"context"

	"github.com/hashicorp/go-plugin"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/sdk"
)

type classifier struct{ sdk.NoConfig }

func (classifier) Info(context.Context) (plugins.Info, error) {
	return plugins.Info{Name: "apiv2-classifier", Kind: plugins.KindClassifier, Version: "2.0.0",
		APIVersions: []uint32{2}, Inputs: []plugins.Input{plugins.InputStatic},
		Consumes: []string{"byte-stats"}, Stage: plugins.StageDetection, Classes: []string{"benign", "malware"}}, nil
}

func (classifier) Classify(context.Context, plugins.Sample, []*features.Set) (plugins.Vote, error) {
	return sdk.NewVote([]string{"benign", "malware"}, []float64{1, 0}, "v2", "2")
}

func main() {
	hs := plugins.Handshake
	hs.ProtocolVersion = 2
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  hs,
		VersionedPlugins: map[int]plugin.PluginSet{2: plugins.PluginMap(nil, classifier{})[plugins.APIVersion]},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}
