package builtin

import (
	"context"
	"fmt"
	"sync"

	"github.com/scalemalnet/scalemalnet/featurizers/apiseq"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/sdk"
)

// apiSeqConfig configures the apiseq featurizer.
type apiSeqConfig struct {
	Length int `json:"length"` // most calls in the apiseq set (default apiseq.DefaultLength)
}

const apiSeqSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "length": {"type": "integer", "minimum": 1, "maximum": 1048576, "default": 200000}
  }
}`

// apiSeq turns the Windows API calls of a run under Wine into the inputs of
// the models trained on MalBehavD-V1 (apiseq-first) and Mal-API-2019
// (apiseq); see featurizers/apiseq. Not applicable to a trace without API
// calls.
type apiSeq struct {
	mu sync.Mutex
	f  apiseq.Featurizer
}

func newAPISeq() plugins.Featurizer { return &apiSeq{} }

func (a *apiSeq) Info(context.Context) (plugins.Info, error) {
	return info("apiseq", "Windows API calls of a run under Wine (relay channel), as Cuckoo API sequences: each name once in order of first call (MalBehavD-V1) and the whole sequence (Mal-API-2019)",
		plugins.InputDynamic, apiseq.FirstName, apiseq.SeqName), nil
}

func (a *apiSeq) ConfigSchema(context.Context) (string, error) { return apiSeqSchema, nil }

func (a *apiSeq) Configure(_ context.Context, raw []byte) error {
	var cfg apiSeqConfig
	if err := sdk.DecodeConfig(raw, &cfg); err != nil {
		return err
	}
	if cfg.Length < 0 || cfg.Length > 1<<20 {
		return fmt.Errorf("length %d out of range", cfg.Length)
	}
	a.mu.Lock()
	a.f = apiseq.Featurizer{Length: cfg.Length}
	a.mu.Unlock()
	return nil
}

func (a *apiSeq) Featurize(_ context.Context, in plugins.FeaturizeInput) ([]*features.Set, error) {
	t, err := in.Trace()
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	f := a.f
	a.mu.Unlock()
	return f.FeaturizeTrace(t)
}
