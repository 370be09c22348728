package sdk

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
)

// Harness runs a plugin implementation in-process behind a real gRPC
// connection (go-plugin's test connection), so a unit test exercises the
// same encoding, validation and error mapping the orchestrator sees. It
// validates Info and every vote like the host does.
type Harness struct {
	t    testing.TB
	info plugins.Info
	f    plugins.Featurizer
	c    plugins.Classifier
}

// NewFeaturizerHarness starts f behind gRPC for the duration of the test.
func NewFeaturizerHarness(t testing.TB, f plugins.Featurizer) *Harness {
	t.Helper()
	raw := dispense(t, plugins.KindFeaturizer, f, nil)
	h := &Harness{t: t, f: raw.(plugins.Featurizer)}
	h.info = h.checkInfo(h.f, plugins.KindFeaturizer)
	return h
}

// NewClassifierHarness starts c behind gRPC for the duration of the test.
func NewClassifierHarness(t testing.TB, c plugins.Classifier) *Harness {
	t.Helper()
	raw := dispense(t, plugins.KindClassifier, nil, c)
	h := &Harness{t: t, c: raw.(plugins.Classifier)}
	h.info = h.checkInfo(h.c, plugins.KindClassifier)
	return h
}

func dispense(t testing.TB, kind plugins.Kind, f plugins.Featurizer, c plugins.Classifier) any {
	t.Helper()
	tt, ok := t.(*testing.T)
	if !ok {
		t.Fatalf("sdk harness needs a *testing.T")
	}
	client, _ := plugin.TestPluginGRPCConn(tt, true, plugins.PluginMap(f, c)[plugins.APIVersion])
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(string(kind))
	if err != nil {
		t.Fatalf("dispense %s: %v", kind, err)
	}
	return raw
}

func (h *Harness) checkInfo(b plugins.Base, kind plugins.Kind) plugins.Info {
	h.t.Helper()
	info, err := b.Info(context.Background())
	if err != nil {
		h.t.Fatalf("Info: %v", err)
	}
	if err := info.Validate(); err != nil {
		h.t.Fatalf("Info does not validate: %v", err)
	}
	if info.Kind != kind {
		h.t.Fatalf("Info.Kind = %q, served as %q", info.Kind, kind)
	}
	if err := b.Configure(context.Background(), []byte("{}")); err != nil {
		h.t.Fatalf("Configure({}): %v", err)
	}
	return info
}

// Info is the plugin's validated Info.
func (h *Harness) Info() plugins.Info { return h.info }

// Configure sends a configuration through gRPC.
func (h *Harness) Configure(cfg string) error {
	if h.f != nil {
		return h.f.Configure(context.Background(), []byte(cfg))
	}
	return h.c.Configure(context.Background(), []byte(cfg))
}

// Featurize calls the featurizer through gRPC and checks every set it
// returns is valid and declared in Info.Produces.
func (h *Harness) Featurize(in plugins.FeaturizeInput) ([]*features.Set, error) {
	h.t.Helper()
	sets, err := h.f.Featurize(context.Background(), in)
	if err != nil {
		return nil, err
	}
	for _, s := range sets {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("featurizer returned an invalid set: %w", err)
		}
		if !contains(h.info.Produces, s.Name) {
			return nil, fmt.Errorf("featurizer returned set %q not declared in Info.Produces %v", s.Name, h.info.Produces)
		}
	}
	return sets, nil
}

// Classify calls the classifier through gRPC and checks the vote against
// Info as the orchestrator does.
func (h *Harness) Classify(s plugins.Sample, sets []*features.Set) (plugins.Vote, error) {
	h.t.Helper()
	v, err := h.c.Classify(context.Background(), s, sets)
	if err != nil {
		return v, err
	}
	if err := plugins.CheckVote(h.info, v); err != nil {
		return v, err
	}
	return v, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
