// Package sdk is what a plugin author imports: Serve runs a featurizer or
// classifier as a ScaleMalNet plugin process, and Harness (harness.go) runs
// one in-process over real gRPC for unit tests, without an orchestrator.
//
// A minimal classifier plugin:
//
//	type myClassifier struct{ sdk.NoConfig }
//
//	func (myClassifier) Info(context.Context) (plugins.Info, error) { ... }
//	func (myClassifier) Classify(ctx context.Context, s plugins.Sample, sets []*features.Set) (plugins.Vote, error) { ... }
//
//	func main() { sdk.ServeClassifier(myClassifier{}) }
//
// See docs/plugins.md.
package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/scalemalnet/scalemalnet/plugins"
)

func serve(f plugins.Featurizer, c plugins.Classifier) {
	if os.Getenv(plugins.Handshake.MagicCookieKey) != plugins.Handshake.MagicCookieValue {
		fmt.Fprintln(os.Stderr, "This is a ScaleMalNet plugin: the orchestrator starts it; it is not meant to be run by hand.\n"+
			"Test it in-process with sdk.NewClassifierHarness or sdk.NewFeaturizerHarness (github.com/scalemalnet/scalemalnet/plugins/sdk),\n"+
			"or load it with `scalemalnet plugins register` and `scalemalnet plugins reload`.")
		os.Exit(1)
	}
	go exitWhenOrphaned(time.Second)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  plugins.Handshake,
		VersionedPlugins: plugins.PluginMap(f, c),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(plugins.GRPCServerOptions(opts)...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: os.Stderr, JSONFormat: true}),
	})
}

// ServeFeaturizer runs f as a plugin process; it returns when the host ends
// the plugin.
func ServeFeaturizer(f plugins.Featurizer) { serve(f, nil) }

// ServeClassifier runs c as a plugin process.
func ServeClassifier(c plugins.Classifier) { serve(nil, c) }

// NoConfig can be embedded by plugins that take no configuration.
type NoConfig struct{}

func (NoConfig) ConfigSchema(context.Context) (string, error) { return "", nil }

// Configure accepts only an empty configuration.
func (NoConfig) Configure(_ context.Context, cfg []byte) error {
	s := strings.TrimSpace(string(cfg))
	if s == "" || s == "{}" || s == "null" {
		return nil
	}
	return fmt.Errorf("this plugin takes no configuration, got %s", s)
}

// DecodeConfig unmarshals a JSON configuration strictly (unknown fields are
// errors), for plugins that take one.
func DecodeConfig(cfg []byte, v any) error {
	if len(strings.TrimSpace(string(cfg))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(cfg)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return nil
}

// NewVote builds a vote from per-class scores (in the classifier's class
// order), normalising them to sum to 1 and setting the label to the top class.
func NewVote(classes []string, scores []float64, model, version string) (plugins.Vote, error) {
	if len(classes) != len(scores) || len(classes) == 0 {
		return plugins.Vote{}, fmt.Errorf("%d scores for %d classes", len(scores), len(classes))
	}
	sum := 0.0
	for _, s := range scores {
		if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
			return plugins.Vote{}, fmt.Errorf("score %v is not a non-negative number", s)
		}
		sum += s
	}
	if sum == 0 {
		return plugins.Vote{}, fmt.Errorf("all scores are zero")
	}
	v := plugins.Vote{Model: model, ModelVersion: version}
	best := 0
	for i, s := range scores {
		v.Scores = append(v.Scores, plugins.ClassScore{Class: classes[i], Score: s / sum})
		if s > scores[best] {
			best = i
		}
	}
	v.Label = classes[best]
	return v, nil
}
