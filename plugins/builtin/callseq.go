package builtin

import (
	"context"
	"fmt"
	"sync"

	"github.com/scalemalnet/scalemalnet/featurizers/callseq"
	"github.com/scalemalnet/scalemalnet/featurizers/datasets"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/sdk"
)

// callSeqConfig configures the callseq featurizer.
type callSeqConfig struct {
	Length  int    `json:"length"`  // tokens per sequence (default 1000)
	Keep    string `json:"keep"`    // "head" (default) or "tail" of a longer run
	NGram   int    `json:"ngram"`   // n of the n-gram counts (default 1)
	Buckets int    `json:"buckets"` // hashed columns for n > 1 (default 4096)
	TFIDF   bool   `json:"tfidf"`   // not available without a fitted corpus: refused
}

const callSeqSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "length":  {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1000},
    "keep":    {"enum": ["head", "tail"], "default": "head"},
    "ngram":   {"type": "integer", "minimum": 1, "maximum": 5, "default": 1},
    "buckets": {"type": "integer", "minimum": 16, "maximum": 1048576, "default": 4096}
  }
}`

// callSeq turns the project's own trace into a call-id sequence over the
// x86-64 system call table (ids 0 and 1: padding, unknown) and n-gram
// counts. The vocabulary is fixed (every syscall name, sorted), so ids are
// stable without training; the Schema of the sequence set carries it, so a
// classifier trained on another vocabulary remaps by name.
type callSeq struct {
	mu  sync.Mutex
	seq *callseq.Sequence
	ng  *callseq.NGrams
}

func newCallSeq() plugins.Featurizer {
	c := &callSeq{}
	if err := c.apply(callSeqConfig{}); err != nil {
		panic(err) // the defaults are valid
	}
	return c
}

func (c *callSeq) Info(context.Context) (plugins.Info, error) {
	return info("callseq", "system call id sequence (fixed x86-64 vocabulary) and n-gram counts of the run's trace",
		plugins.InputDynamic, callseq.SequenceName, callseq.NGramName), nil
}

func (c *callSeq) ConfigSchema(context.Context) (string, error) { return callSeqSchema, nil }

func (c *callSeq) Configure(_ context.Context, raw []byte) error {
	var cfg callSeqConfig
	if err := sdk.DecodeConfig(raw, &cfg); err != nil {
		return err
	}
	return c.apply(cfg)
}

func (c *callSeq) apply(cfg callSeqConfig) error {
	if cfg.Length == 0 {
		cfg.Length = 1000
	}
	if cfg.NGram == 0 {
		cfg.NGram = 1
	}
	if cfg.Buckets == 0 {
		cfg.Buckets = 4096
	}
	if cfg.TFIDF {
		return fmt.Errorf("tfidf needs a fitted corpus; it is available to trained models, not to this featurizer")
	}
	keep := callseq.KeepHead
	switch cfg.Keep {
	case "", "head":
	case "tail":
		keep = callseq.KeepTail
	default:
		return fmt.Errorf("keep %q: want head or tail", cfg.Keep)
	}
	if cfg.Length < 1 || cfg.NGram < 1 || cfg.NGram > 5 {
		return fmt.Errorf("length %d / ngram %d out of range", cfg.Length, cfg.NGram)
	}
	sys, err := syscallNames()
	if err != nil {
		return err
	}
	names := [][]string{sys}
	vocab := callseq.BuildVocabulary(names, callseq.VocabOptions{})
	opt := callseq.NGramOptions{N: 1}
	if cfg.NGram > 1 {
		opt = callseq.NGramOptions{N: cfg.NGram, Buckets: cfg.Buckets}
	}
	model, err := callseq.FitNGrams(names, opt)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq = &callseq.Sequence{Vocab: vocab, Length: cfg.Length, Keep: keep, Pad: callseq.PadEnd, WithSchema: true}
	c.ng = &callseq.NGrams{Model: model}
	return nil
}

func (c *callSeq) Featurize(_ context.Context, in plugins.FeaturizeInput) ([]*features.Set, error) {
	t, err := in.Trace()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	seq, ng := c.seq, c.ng
	c.mu.Unlock()
	a, err := seq.FeaturizeTrace(t, datasets.SplitWhole)
	if err != nil {
		return nil, err
	}
	b, err := ng.FeaturizeTrace(t, datasets.SplitWhole)
	if err != nil {
		return nil, err
	}
	return append(a, b...), nil
}
