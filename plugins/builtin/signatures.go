package builtin

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/featurizers/signatures"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/sdk"
)

// SignatureSet is the matches set (features.MatchesSchema) of the
// signatures featurizer.
const SignatureSet = "signature-matches"

// SignaturesFeaturizer is the built-in featurizer's name.
const SignaturesFeaturizer = "signatures"

// SignatureClassifier is the name of the classifier voting from it.
const SignatureClassifier = "behavior-signatures"

// SignaturesConfig configures the signatures featurizer.
type SignaturesConfig struct {
	// RulesDir replaces the shipped rules with the *.yaml files of a
	// directory (an absolute path); empty: the shipped rules.
	RulesDir string `json:"rules_dir,omitempty"`
}

const signaturesSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "rules_dir": {"type": "string", "description": "directory of *.yaml signature rule files replacing the shipped ones (docs/signatures.md)"}
  }
}`

// sigFeaturizer matches the behaviour signatures against the run's trace.
type sigFeaturizer struct {
	mu  sync.Mutex
	set *signatures.Set
	src string
}

func newSignatures() plugins.Featurizer { return &sigFeaturizer{} }

func (s *sigFeaturizer) Info(context.Context) (plugins.Info, error) {
	return info("signatures", "behaviour signatures (ATT&CK-tagged rules over the trace; docs/signatures.md) as a matches set",
		plugins.InputDynamic, SignatureSet), nil
}

func (s *sigFeaturizer) ConfigSchema(context.Context) (string, error) { return signaturesSchema, nil }

// Configure loads the rules: a rule file that does not parse refuses the
// plugin with its file and line.
func (s *sigFeaturizer) Configure(_ context.Context, raw []byte) error {
	var cfg SignaturesConfig
	if err := sdk.DecodeConfig(raw, &cfg); err != nil {
		return err
	}
	set, src, err := LoadSignatures(cfg.RulesDir)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.set, s.src = set, src
	s.mu.Unlock()
	return nil
}

// LoadSignatures loads the rules of dir, or the shipped ones when dir is
// empty, and says where they came from.
func LoadSignatures(dir string) (*signatures.Set, string, error) {
	if dir == "" {
		set, err := signatures.Default()
		return set, "shipped", err
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, "", fmt.Errorf("%w: rules directory: %w", signatures.ErrRule, err)
	}
	if !st.IsDir() {
		return nil, "", fmt.Errorf("%w: rules directory %s is not a directory", signatures.ErrRule, dir)
	}
	set, err := signatures.Load(os.DirFS(dir))
	if err != nil {
		return nil, "", fmt.Errorf("rules directory %s: %w", dir, err)
	}
	return set, dir, nil
}

func (s *sigFeaturizer) Featurize(ctx context.Context, in plugins.FeaturizeInput) ([]*features.Set, error) {
	t, err := in.Trace()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	set, src := s.set, s.src
	s.mu.Unlock()
	if set == nil {
		if set, src, err = LoadSignatures(""); err != nil {
			return nil, err
		}
	}
	ms, err := set.Match(ctx, t)
	if err != nil {
		return nil, err
	}
	out, err := features.MatchesSet(SignatureSet, Version, ms)
	if err != nil {
		return nil, err
	}
	n := len(t.Events()) + len(t.APICalls())
	out.Meta["events"] = strconv.Itoa(n)
	out.Meta["rules"] = strconv.Itoa(len(set.Rules))
	out.Meta["rules_from"] = src
	return []*features.Set{out}, nil
}

// sigClassifier votes from the signature matches (signatures.Score).
type sigClassifier struct{ sdk.NoConfig }

func newSigClassifier() plugins.Classifier { return sigClassifier{} }

func (sigClassifier) Info(context.Context) (plugins.Info, error) {
	return plugins.Info{Name: SignatureClassifier, Kind: plugins.KindClassifier, Version: Version, APIVersions: []uint32{plugins.APIVersion},
		Inputs: []plugins.Input{plugins.InputDynamic}, Consumes: []string{SignatureSet}, Stage: plugins.StageDetection,
		Classes:     []string{"benign", "malware"},
		Description: "uncalibrated P(malware) from the matched behaviour signatures' severities (noisy-or; docs/signatures.md)"}, nil
}

func (sigClassifier) Classify(_ context.Context, _ plugins.Sample, sets []*features.Set) (plugins.Vote, error) {
	var set *features.Set
	for _, s := range sets {
		if s.Name == SignatureSet {
			set = s
		}
	}
	if set == nil {
		return plugins.Vote{}, fmt.Errorf("%w: no %s feature set", plugins.ErrNotApplicable, SignatureSet)
	}
	ms, err := features.DecodeMatches(set)
	if err != nil {
		return plugins.Vote{}, err
	}
	if len(ms) == 0 && set.Meta["events"] == "0" {
		return plugins.Vote{Abstained: true, Reason: "the run recorded no calls for the signatures to judge"}, nil
	}
	p := signatures.Score(ms)
	v, err := sdk.NewVote([]string{"benign", "malware"}, []float64{1 - p, p}, "signatures", Version)
	if err != nil {
		return v, err
	}
	if len(ms) == 0 {
		v.Explanation = fmt.Sprintf("no signature matched (%s rules); prior %.2f", set.Meta["rules"], signatures.Prior)
	} else {
		v.Explanation = fmt.Sprintf("%d signatures matched, highest severity %d (%s)", len(ms), ms[0].Severity, ms[0].ID)
	}
	return v, nil
}
