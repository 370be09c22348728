// Package plugins is the contract between the orchestrator and its plugins:
// featurizers (a sample and its trace in, named feature sets out) and
// classifiers (feature sets in, a vote out).
//
// Every plugin runs as its own process, started by the orchestrator through
// hashicorp/go-plugin and spoken to over gRPC (plugins/proto/plugin.proto),
// so a plugin that crashes or hangs costs one vote, never the job or the
// orchestrator. Built-in plugins use the same path: the scalemalnet binary
// re-executes itself in plugin mode.
//
// Plugin authors implement Featurizer or Classifier and call
// plugins/sdk.ServeFeaturizer or plugins/sdk.ServeClassifier; see
// docs/plugins.md. The orchestrator's side is
// plugins/host.
package plugins

import (
	"context"
	"errors"
	"fmt"
	"github.com/scalemalnet/scalemalnet/plugins/vote"
	"regexp"
	"slices"

	"github.com/hashicorp/go-plugin"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
)

// APIVersion is the plugin API version this build speaks. A plugin that
// speaks none of the host's versions is refused at the handshake.
const APIVersion = 1

// Handshake is go-plugin's handshake: the magic cookie keeps a plugin binary
// from being run by accident outside the orchestrator, and ProtocolVersion is
// the API version (go-plugin negotiates among VersionedPlugins).
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  APIVersion,
	MagicCookieKey:   "SCALEMALNET_PLUGIN",
	MagicCookieValue: "7f1c3e9a0b5d4c2e8f6a1b3c5d7e9f0a",
}

// Kind is a plugin kind; it is also the name under which go-plugin dispenses it.
type Kind string

const (
	KindFeaturizer Kind = "featurizer"
	KindClassifier Kind = "classifier"
)

// Input is an input kind a plugin needs.
type Input string

const (
	InputStatic  Input = "static"  // the sample's bytes, parsed (headers)
	InputDynamic Input = "dynamic" // the run's trace
	InputImage   Input = "image"   // the sample's bytes, as an image
)

// Stage is what a classifier decides.
type Stage string

const (
	StageDetection Stage = "detection" // malware or benign
	StageFamily    Stage = "family"    // which family or type
)

// Info describes a plugin.
type Info struct {
	Name        string   `json:"name"`
	Kind        Kind     `json:"kind"`
	Version     string   `json:"version"`
	APIVersions []uint32 `json:"api_versions"`
	Inputs      []Input  `json:"inputs"`
	Description string   `json:"description,omitempty"`
	Produces    []string `json:"produces,omitempty"` // featurizers: feature set names
	Consumes    []string `json:"consumes,omitempty"` // classifiers: feature set names
	Stage       Stage    `json:"stage,omitempty"`    // classifiers
	Classes     []string `json:"classes,omitempty"`  // classifiers, in score order
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Errors of the contract.
var (
	ErrInvalidInfo = errors.New("invalid plugin info")
	ErrAPIVersion  = errors.New("incompatible plugin API version")
	// ErrNotApplicable: the plugin's input kind does not apply to this
	// sample (a PE header featurizer given an ELF file). It is an
	// abstention, not a failure.
	ErrNotApplicable = features.ErrNotApplicable
)

// ValidName checks a plugin name: 1 to 63 lower-case letters, digits and
// dashes, not starting with a dash. The error wraps ErrInvalidInfo.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: name %q must be 1-63 lower-case letters, digits and dashes, not starting with a dash", ErrInvalidInfo, name)
	}
	return nil
}

// Validate checks Info for the kind it claims.
func (i Info) Validate() error {
	if err := ValidName(i.Name); err != nil {
		return err
	}
	if i.Version == "" {
		return fmt.Errorf("%w: %s has no version", ErrInvalidInfo, i.Name)
	}
	if !slices.Contains(i.APIVersions, APIVersion) {
		return fmt.Errorf("%w: %s speaks %v, host speaks %d", ErrAPIVersion, i.Name, i.APIVersions, APIVersion)
	}
	if len(i.Inputs) == 0 {
		return fmt.Errorf("%w: %s declares no inputs", ErrInvalidInfo, i.Name)
	}
	for _, in := range i.Inputs {
		if in != InputStatic && in != InputDynamic && in != InputImage {
			return fmt.Errorf("%w: %s: unknown input %q", ErrInvalidInfo, i.Name, in)
		}
	}
	switch i.Kind {
	case KindFeaturizer:
		if len(i.Produces) == 0 {
			return fmt.Errorf("%w: featurizer %s produces nothing", ErrInvalidInfo, i.Name)
		}
	case KindClassifier:
		if len(i.Consumes) == 0 {
			return fmt.Errorf("%w: classifier %s consumes nothing", ErrInvalidInfo, i.Name)
		}
		if i.Stage != StageDetection && i.Stage != StageFamily {
			return fmt.Errorf("%w: classifier %s: stage %q", ErrInvalidInfo, i.Name, i.Stage)
		}
		if len(i.Classes) < 2 {
			return fmt.Errorf("%w: classifier %s has %d classes", ErrInvalidInfo, i.Name, len(i.Classes))
		}
	default:
		return fmt.Errorf("%w: %s: kind %q", ErrInvalidInfo, i.Name, i.Kind)
	}
	return nil
}

// Needs reports whether the plugin declared input kind in.
func (i Info) Needs(in Input) bool { return slices.Contains(i.Inputs, in) }

// Sample identifies the sample being analysed.
type Sample struct {
	SHA256 string `json:"sha256"`
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	Type   string `json:"type"`
}

// FeaturizeInput is what a featurizer gets: the sample's bytes when it needs
// static or image input, the run's trace (gzip JSON lines) when it needs
// dynamic input. Use Trace to decode the trace.
type FeaturizeInput struct {
	Sample  Sample
	Content []byte
	TraceGz []byte
}

// ClassScore is one class's score in a vote (the project's one score
// type, plugins/vote).
type ClassScore = vote.ClassScore

// Vote is a classifier's answer.
type Vote struct {
	Scores       []ClassScore `json:"scores,omitempty"` // per Info.Classes, summing to 1
	Label        string       `json:"label,omitempty"`
	Model        string       `json:"model,omitempty"`
	ModelVersion string       `json:"model_version,omitempty"`
	Abstained    bool         `json:"abstained,omitempty"`
	Reason       string       `json:"reason,omitempty"`
	Explanation  string       `json:"explanation,omitempty"`
}

// ErrInvalidVote is wrapped when a vote does not match its classifier's Info.
var ErrInvalidVote = errors.New("invalid vote")

// CheckVote verifies a vote against the classifier's Info: one score per
// class in order, scores in [0,1] summing to 1 (within 1e-6), label the top
// class. Abstentions carry no scores.
func CheckVote(info Info, v Vote) error {
	if v.Abstained {
		if len(v.Scores) != 0 {
			return fmt.Errorf("%w: abstention with scores", ErrInvalidVote)
		}
		return nil
	}
	if len(v.Scores) != len(info.Classes) {
		return fmt.Errorf("%w: %d scores for %d classes", ErrInvalidVote, len(v.Scores), len(info.Classes))
	}
	sum, best := 0.0, 0
	for i, s := range v.Scores {
		if s.Class != info.Classes[i] {
			return fmt.Errorf("%w: score %d is for %q, want %q", ErrInvalidVote, i, s.Class, info.Classes[i])
		}
		if !(s.Score >= 0 && s.Score <= 1) {
			return fmt.Errorf("%w: score %v for %q outside [0,1]", ErrInvalidVote, s.Score, s.Class)
		}
		sum += s.Score
		if s.Score > v.Scores[best].Score {
			best = i
		}
	}
	if sum < 1-1e-6 || sum > 1+1e-6 {
		return fmt.Errorf("%w: scores sum to %v", ErrInvalidVote, sum)
	}
	if v.Label != v.Scores[best].Class {
		return fmt.Errorf("%w: label %q is not the top class %q", ErrInvalidVote, v.Label, v.Scores[best].Class)
	}
	return nil
}

// Base is what every plugin implements.
type Base interface {
	// Info describes the plugin; it must not change while the process lives.
	Info(ctx context.Context) (Info, error)
	// ConfigSchema returns a JSON Schema for Configure's input ("" if none).
	ConfigSchema(ctx context.Context) (string, error)
	// Configure applies a JSON configuration. It is called once after start
	// (with "{}" when the operator configured nothing) and may be called again.
	Configure(ctx context.Context, config []byte) error
}

// Featurizer turns a sample and its trace into feature sets. It returns an
// error wrapping ErrNotApplicable when its input kind does not apply.
type Featurizer interface {
	Base
	Featurize(ctx context.Context, in FeaturizeInput) ([]*features.Set, error)
}

// Classifier turns feature sets into a vote. It gets the sets named in
// Info.Consumes; when they are missing because their featurizer did not
// apply, the host records an abstention without calling it.
type Classifier interface {
	Base
	Classify(ctx context.Context, sample Sample, sets []*features.Set) (Vote, error)
}
