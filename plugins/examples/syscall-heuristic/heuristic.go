package main

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/sdk"
)

// Name is the plugin's name; it must match its plugins.json entry.
const Name = "syscall-heuristic"

// Version is the plugin's version, also reported as the vote's model version.
const Version = "1.0.0"

// FeatureSet is the feature set the classifier consumes: the call-sequence
// n-gram counts of featurizers/callseq (callseq.NGramName), a KindVector
// whose Schema names each column's n-gram, calls joined by "|" (a space is
// accepted too), e.g. "connect", "connect|execve".
const FeatureSet = "callseq-ngram"

// Classes are the vote's classes, in score order.
var Classes = []string{"benign", "malware"}

// Config holds the rule's weights. The rule:
//
//	score = Σ over columns c of weight(c) × min(value(c), Cap)
//	P(malware) = 1 / (1 + exp(-(score - Bias)))
//
// where weight(c) is Calls[g] for a single-call column g and Sequences[g]
// for a multi-call column (calls joined by one space). Columns with no
// weight count for nothing; capping keeps one call repeated a thousand times
// from deciding alone.
type Config struct {
	Calls     map[string]float64 `json:"calls,omitempty"`
	Sequences map[string]float64 `json:"sequences,omitempty"`
	Cap       float64            `json:"cap,omitempty"`
	Bias      float64            `json:"bias,omitempty"`
}

// DefaultConfig is the configuration before Configure, and the base that a
// configuration's weights are merged into (a weight of 0 disables one).
func DefaultConfig() Config {
	return Config{
		Calls: map[string]float64{
			"ptrace": 2, "memfd_create": 2, "init_module": 3, "finit_module": 3,
			"setuid": 1.5, "setgid": 1, "connect": 0.5, "bind": 0.5, "listen": 1,
			"dup2": 0.5, "dup3": 0.5, "kill": 0.3, "unlink": 0.2, "unlinkat": 0.2,
			"chmod": 0.3, "fchmodat": 0.3,
		},
		Sequences: map[string]float64{
			"connect execve": 3, // a network connection, then a new program: a dropper or a reverse shell
			"dup2 execve":    2, // redirected descriptors, then a program: a shell on a socket
			"dup3 execve":    2,
			"socket connect": 0.5,
			"fork ptrace":    1,
		},
		Cap:  3,
		Bias: 3,
	}
}

// configSchema is Configure's JSON Schema.
const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "syscall-heuristic configuration",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "calls": {"type": "object", "description": "weight per single system call, merged into the defaults", "additionalProperties": {"type": "number", "minimum": 0}},
    "sequences": {"type": "object", "description": "weight per call sequence (calls joined by one space), merged into the defaults", "additionalProperties": {"type": "number", "minimum": 0}},
    "cap": {"type": "number", "exclusiveMinimum": 0, "description": "largest count of one n-gram that counts (default 3)"},
    "bias": {"type": "number", "description": "score at which P(malware) = 0.5 (default 3)"}
  }
}`

// classifier is the plugin. Its configuration may be replaced while it
// classifies, hence the lock.
type classifier struct {
	mu  sync.RWMutex
	cfg Config
}

func newClassifier() *classifier { return &classifier{cfg: DefaultConfig()} }

func (c *classifier) Info(context.Context) (plugins.Info, error) {
	return plugins.Info{
		Name: Name, Kind: plugins.KindClassifier, Version: Version,
		APIVersions: []uint32{plugins.APIVersion},
		Inputs:      []plugins.Input{plugins.InputDynamic},
		Description: "weighted rule over suspicious system calls and call pairs (example plugin)",
		Consumes:    []string{FeatureSet},
		Stage:       plugins.StageDetection,
		Classes:     Classes,
	}, nil
}

func (c *classifier) ConfigSchema(context.Context) (string, error) { return configSchema, nil }

// Configure merges the given weights into the defaults.
func (c *classifier) Configure(_ context.Context, raw []byte) error {
	var in Config
	if err := sdk.DecodeConfig(raw, &in); err != nil {
		return err
	}
	cfg := DefaultConfig()
	for k, w := range in.Calls {
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("configuration: calls[%q] = %v: weights must be non-negative numbers", k, w)
		}
		cfg.Calls[strings.ToLower(k)] = w
	}
	for k, w := range in.Sequences {
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("configuration: sequences[%q] = %v: weights must be non-negative numbers", k, w)
		}
		cfg.Sequences[normGram(k)] = w
	}
	if in.Cap < 0 {
		return fmt.Errorf("configuration: cap %v must be positive", in.Cap)
	}
	if in.Cap > 0 {
		cfg.Cap = in.Cap
	}
	if in.Bias != 0 {
		cfg.Bias = in.Bias
	}
	c.mu.Lock()
	c.cfg = cfg
	c.mu.Unlock()
	return nil
}

// Classify scores the n-gram set. It abstains (plugins.ErrNotApplicable)
// when the set is missing or hashed, since hashed columns name no calls.
func (c *classifier) Classify(_ context.Context, _ plugins.Sample, sets []*features.Set) (plugins.Vote, error) {
	var set *features.Set
	for _, s := range sets {
		if s.Name == FeatureSet {
			set = s
		}
	}
	if set == nil {
		return plugins.Vote{}, fmt.Errorf("%w: no %s feature set", plugins.ErrNotApplicable, FeatureSet)
	}
	if set.Kind != features.KindVector || len(set.Schema) != len(set.Vector) {
		return plugins.Vote{}, fmt.Errorf("%s: want a vector with one schema name per value, got kind %q with %d names for %d values",
			FeatureSet, set.Kind, len(set.Schema), len(set.Vector))
	}
	c.mu.RLock()
	cfg := c.cfg
	c.mu.RUnlock()
	score, hits, named := 0.0, []hit{}, 0
	for i, col := range set.Schema {
		if strings.Contains(col, "#hash") {
			continue
		}
		named++
		g := normGram(col)
		w := cfg.Sequences[g]
		if !strings.Contains(g, " ") {
			w = cfg.Calls[g]
		}
		if w == 0 || !(set.Vector[i] > 0) {
			continue
		}
		contrib := w * math.Min(set.Vector[i], cfg.Cap)
		score += contrib
		hits = append(hits, hit{g, contrib})
	}
	if named == 0 && len(set.Schema) > 0 {
		return plugins.Vote{}, fmt.Errorf("%w: %s columns are hashed, not named calls", plugins.ErrNotApplicable, FeatureSet)
	}
	p := 1 / (1 + math.Exp(-(score - cfg.Bias)))
	v, err := sdk.NewVote(Classes, []float64{1 - p, p}, Name, Version)
	if err != nil {
		return plugins.Vote{}, err
	}
	v.Explanation = explain(score, hits)
	return v, nil
}

// hit is one column's contribution to the score.
type hit struct {
	gram    string
	contrib float64
}

// explain names the score and its three largest contributions.
func explain(score float64, hits []hit) string {
	sort.Slice(hits, func(i, j int) bool { return hits[i].contrib > hits[j].contrib })
	var parts []string
	for i, h := range hits {
		if i == 3 {
			break
		}
		parts = append(parts, fmt.Sprintf("%q +%.2f", h.gram, h.contrib))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("score %.2f: no suspicious calls", score)
	}
	return fmt.Sprintf("score %.2f: %s", score, strings.Join(parts, ", "))
}

// normGram lower-cases an n-gram name and joins its calls with one space,
// whether they were joined by "|" or by spaces.
func normGram(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == '|' || r == ' ' || r == '\t' }), " ")
}
