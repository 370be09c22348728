package oof

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
	"github.com/scalemalnet/scalemalnet/classifiers/train"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
)

// countFeaturizer produces "counts": the number of calls in the trace, as
// a real featurizer would from the trace it is given.
type countFeaturizer struct{}

func (countFeaturizer) Name() string { return "counter" }
func (countFeaturizer) Info() plugins.Info {
	return plugins.Info{Name: "counter", Kind: plugins.KindFeaturizer, Inputs: []plugins.Input{plugins.InputDynamic}, Produces: []string{"counts"}}
}
func (countFeaturizer) Featurize(_ context.Context, in plugins.FeaturizeInput) ([]*features.Set, error) {
	t, err := in.Trace()
	if err != nil {
		return nil, err
	}
	n := float64(len(t.Events()))
	if n == 0 {
		return nil, fmt.Errorf("%w: empty trace", plugins.ErrNotApplicable)
	}
	return []*features.Set{{Name: "counts", Version: "1", Kind: features.KindVector, Schema: []string{"calls"}, Vector: []float64{n}}}, nil
}

// lenClassifier: P(malware) grows with the number of calls.
type lenClassifier struct {
	consumes string
	classes  []string
}

func (c lenClassifier) Name() string { return "my-classifier" }
func (c lenClassifier) Info() plugins.Info {
	return plugins.Info{Name: "my-classifier", Kind: plugins.KindClassifier, Stage: plugins.StageDetection, Consumes: []string{c.consumes}, Classes: c.classes}
}
func (c lenClassifier) Classify(_ context.Context, _ plugins.Sample, sets []*features.Set) (plugins.Vote, error) {
	if len(sets) != 1 {
		return plugins.Vote{}, fmt.Errorf("got %d sets", len(sets))
	}
	p := sets[0].Vector[0] / (sets[0].Vector[0] + 3)
	return plugins.Vote{Label: "malware", Scores: []plugins.ClassScore{{Class: "benign", Score: 1 - p}, {Class: "malware", Score: p}}}, nil
}

func key(i int) string { return strings.Repeat(fmt.Sprintf("%02x", i), 32) }

func labelled() *train.Labelled {
	return &train.Labelled{Task: "adfa", Stage: "detection", FeatureSet: "callseq", InputKind: "dynamic", Records: []train.LabelledRecord{
		{Key: key(1), ID: "a", Label: "attack", Calls: []string{"open", "read", "execve", "connect", "write", "write"}},
		{Key: key(2), ID: "b", Label: "normal", Calls: []string{"read"}},
		{Key: key(3), ID: "c", Label: "normal", Calls: nil}, // the featurizer abstains
	}}
}

func TestRunWritesJoinableOOF(t *testing.T) {
	d := labelled()
	lines, rep, err := Run(context.Background(), d, lenClassifier{"counts", []string{"benign", "malware"}}, []Featurizer{countFeaturizer{}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lines != 2 || rep.Abstained != 1 || rep.Failed != 0 {
		t.Fatalf("report %+v", rep)
	}
	if lines[0].Key != key(1) || lines[0].Label != "attack" || lines[0].Stage != "detection" || lines[0].Classifier != "my-classifier" ||
		lines[0].Scores[1].Score != 6.0/9 || lines[1].Scores[1].Score != 0.25 {
		t.Fatalf("lines %+v", lines)
	}
	// The file reads back as `train fusion` reads it and joins with another
	// classifier's lines on the same keys.
	var buf bytes.Buffer
	if err := fusion.WriteOOF(&buf, lines); err != nil {
		t.Fatal(err)
	}
	back, err := fusion.ReadOOF(&buf, "my.oof.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	other := []fusion.OOFLine{
		{Key: key(1), Label: "attack", Classifier: "builtin", Stage: "detection", Scores: []fusion.ClassScore{{Class: "normal", Score: 0.4}, {Class: "attack", Score: 0.6}}},
		{Key: key(2), Label: "normal", Classifier: "builtin", Stage: "detection", Scores: []fusion.ClassScore{{Class: "normal", Score: 0.6}, {Class: "attack", Score: 0.4}}},
	}
	recs, jrep, err := fusion.JoinOOF(append(back, other...))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || jrep.ByVotes[2] != 2 {
		t.Fatalf("join: %d records, %+v", len(recs), jrep)
	}
}

func TestRunRefuses(t *testing.T) {
	d := labelled()
	for _, c := range []struct {
		clf  lenClassifier
		want string
	}{
		{lenClassifier{"other-set", []string{"benign", "malware"}}, `consumes "other-set", which no featurizer produces`},
		{lenClassifier{"counts", []string{"cat", "dog"}}, "hold no malware/attack and benign/normal"},
	} {
		_, _, err := Run(context.Background(), d, c.clf, []Featurizer{countFeaturizer{}})
		if !errors.Is(err, ErrPlugin) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v (want ErrPlugin with %q)", c.clf, err, c.want)
		}
	}
	d.Records = d.Records[2:] // only the record the featurizer abstains on
	_, rep, err := Run(context.Background(), d, lenClassifier{"counts", []string{"benign", "malware"}}, []Featurizer{countFeaturizer{}})
	if !errors.Is(err, ErrNoVotes) || rep.Abstained != 1 {
		t.Fatalf("no usable vote: %v %+v", err, rep)
	}
}

func TestLabelForDetectionPluginOnFamilyTask(t *testing.T) {
	for in, want := range map[string]string{"normal": "benign", "Adduser": "malware", "benign": "benign"} {
		if got := label(in, "family", "detection"); got != want {
			t.Errorf("label(%q) = %q, want %q", in, got, want)
		}
	}
	if got := label("Adduser", "family", "family"); got != "Adduser" {
		t.Errorf("family plugin label %q", got)
	}
}
