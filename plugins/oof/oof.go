// Package oof runs a classifier plugin over a labelled dataset and turns
// its votes into out-of-fold prediction lines (fusion.OOFLine), the file
// `scalemalnet train --oof` writes, so `train fusion` can fit a fusion
// model that includes a classifier it did not train.
//
// A plugin that was not trained on the dataset has never seen any of its
// records, so every prediction is already "out of fold": the lines carry
// fold 0. A plugin that was trained on (part of) the same dataset would
// give in-sample predictions for those records, and the fusion model would
// over-trust it: run it only over data it did not learn from.
//
// Each record reaches the classifier as it would in an analysis: a
// call-sequence record becomes a one-window trace whose events carry the
// call names in order, and the featurizers (the built-in ones and
// registered ones, as plugin processes) turn it into feature sets; a ClaMP
// record is the PE-header vector set itself. The classifier gets the sets
// named in its Consumes.
package oof

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
	"github.com/scalemalnet/scalemalnet/classifiers/train"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/plugins"
)

// Errors of Run.
var (
	// ErrPlugin: the plugin cannot be run over this dataset (not a
	// classifier, classes without malware/benign for a detection plugin,
	// an input no featurizer produces from this dataset).
	ErrPlugin = errors.New("plugin cannot vote on this dataset")
	// ErrNoVotes: every record was abstained on or failed.
	ErrNoVotes = errors.New("no usable vote")
)

// Featurizer is a featurizer plugin (host.Plugin satisfies it).
type Featurizer interface {
	Name() string
	Info() plugins.Info
	Featurize(ctx context.Context, in plugins.FeaturizeInput) ([]*features.Set, error)
}

// Classifier is a classifier plugin (host.Plugin satisfies it).
type Classifier interface {
	Name() string
	Info() plugins.Info
	Classify(ctx context.Context, s plugins.Sample, sets []*features.Set) (plugins.Vote, error)
}

// Report counts what happened to the records.
type Report struct {
	Records   int      `json:"records"`
	Lines     int      `json:"lines"`     // votes written
	Abstained int      `json:"abstained"` // the plugin (or the featurizer of its input) did not apply
	Failed    int      `json:"failed"`
	Errors    []string `json:"errors,omitempty"` // the first few failures
	Stage     string   `json:"stage"`
	Task      string   `json:"task"`
}

// maxErrors bounds Report.Errors.
const maxErrors = 5

// Run asks c for a vote on every record of d, with the feature sets the
// featurizers fzs produce from it, and returns one OOF line per vote.
// Abstentions and failed calls are counted, not written; when no record
// gets a vote the error wraps ErrNoVotes.
func Run(ctx context.Context, d *train.Labelled, c Classifier, fzs []Featurizer) ([]fusion.OOFLine, Report, error) {
	info := c.Info()
	rep := Report{Records: len(d.Records), Stage: string(info.Stage), Task: d.Task}
	if info.Kind != plugins.KindClassifier {
		return nil, rep, fmt.Errorf("%w: %s is a %s, not a classifier", ErrPlugin, c.Name(), info.Kind)
	}
	if info.Stage == plugins.StageDetection && !detectionClasses(info.Classes) {
		return nil, rep, fmt.Errorf("%w: %s is a detection classifier whose classes %v hold no malware/attack and benign/normal class (what fusion reads)", ErrPlugin, c.Name(), info.Classes)
	}
	// The featurizers this classifier needs, by the sets they produce.
	var need []Featurizer
	direct := d.ClaMPSetVersion() != ""
	for _, want := range info.Consumes {
		if direct && want == d.Task {
			continue
		}
		found := false
		for _, f := range fzs {
			if slices.Contains(f.Info().Produces, want) {
				found = true
				if !slices.Contains(need, f) {
					need = append(need, f)
				}
			}
		}
		if !found {
			return nil, rep, fmt.Errorf("%w: %s consumes %q, which no featurizer produces (this dataset gives %q)", ErrPlugin, c.Name(), want, d.FeatureSet)
		}
	}
	for _, f := range need {
		if !f.Info().Needs(plugins.InputDynamic) || d.InputKind != "dynamic" {
			return nil, rep, fmt.Errorf("%w: %s needs %q from featurizer %s, which reads %v; this dataset (%s) gives %s input only",
				ErrPlugin, c.Name(), strings.Join(f.Info().Produces, ","), f.Name(), f.Info().Inputs, d.Task, d.InputKind)
		}
	}
	var out []fusion.OOFLine
	for i, r := range d.Records {
		if err := ctx.Err(); err != nil {
			return nil, rep, err
		}
		sets, err := featurize(ctx, d, r, need)
		var v plugins.Vote
		if err == nil {
			sets = pick(sets, info.Consumes)
			v, err = c.Classify(ctx, plugins.Sample{Name: r.ID, Type: d.Task}, sets)
		}
		switch {
		case errors.Is(err, plugins.ErrNotApplicable) || err == nil && v.Abstained:
			rep.Abstained++
			continue
		case err != nil:
			rep.Failed++
			if len(rep.Errors) < maxErrors {
				rep.Errors = append(rep.Errors, fmt.Sprintf("record %d (%s): %v", i, r.ID, err))
			}
			continue
		}
		l := fusion.OOFLine{Key: r.Key, ID: r.ID, Label: label(r.Label, d.Stage, string(info.Stage)), Fold: 0,
			Classifier: c.Name(), Stage: string(info.Stage)}
		for _, s := range v.Scores {
			l.Scores = append(l.Scores, fusion.ClassScore{Class: s.Class, Score: s.Score})
		}
		out = append(out, l)
	}
	rep.Lines = len(out)
	if len(out) == 0 {
		return nil, rep, fmt.Errorf("%w: %s abstained on %d and failed on %d of %d records%s", ErrNoVotes, c.Name(), rep.Abstained, rep.Failed, rep.Records, firstErr(rep.Errors))
	}
	return out, rep, nil
}

func firstErr(errs []string) string {
	if len(errs) == 0 {
		return ""
	}
	return " (first failure: " + errs[0] + ")"
}

// featurize gives one record's feature sets.
func featurize(ctx context.Context, d *train.Labelled, r train.LabelledRecord, need []Featurizer) ([]*features.Set, error) {
	var sets []*features.Set
	if v := d.ClaMPSetVersion(); v != "" {
		sets = append(sets, &features.Set{Name: d.Task, Version: v, Kind: features.KindVector, Schema: d.Columns, Vector: r.Vector})
	}
	if len(need) == 0 {
		return sets, nil
	}
	gz, err := TraceOf(r.Calls)
	if err != nil {
		return nil, err
	}
	in := plugins.FeaturizeInput{Sample: plugins.Sample{Name: r.ID, Type: d.Task}, TraceGz: gz}
	for _, f := range need {
		s, err := f.Featurize(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("featurizer %s: %w", f.Name(), err)
		}
		sets = append(sets, s...)
	}
	return sets, nil
}

// pick keeps the sets named in consumes.
func pick(sets []*features.Set, consumes []string) []*features.Set {
	var out []*features.Set
	for _, s := range sets {
		if slices.Contains(consumes, s.Name) {
			out = append(out, s)
		}
	}
	return out
}

// TraceOf wraps a call list as the trace a featurizer receives (gzip JSON
// lines): one window whose events carry the call names in order, as
// `scalemalnet features --trace-format names` does.
func TraceOf(calls []string) ([]byte, error) {
	w := trace.Window{Index: 0, Start: 0, End: int64(len(calls)) + 1, Counts: map[string]int{}}
	for i, c := range calls {
		w.Events = append(w.Events, trace.Event{T: int64(i), PID: 1, TID: 1, Name: c})
		w.Counts[c]++
	}
	t := &trace.Trace{Windows: []trace.Window{w}, Summary: trace.Summary{Outcome: trace.OutcomeExited, Events: len(calls), Kept: len(calls), Windows: 1,
		Processes: []trace.Process{{PID: 1, Threads: 1, Syscalls: len(calls)}}}}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := t.WriteJSONL(zw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// label is the OOF line's label: the dataset's class, or for a detection
// plugin over a family task, malware or benign.
func label(class, dataStage, pluginStage string) string {
	if pluginStage == dataStage || pluginStage != fusion.StageDetection {
		return class
	}
	switch strings.ToLower(class) {
	case "normal", "benign":
		return "benign"
	}
	return "malware"
}

func detectionClasses(classes []string) bool {
	mal, ben := false, false
	for _, c := range classes {
		switch strings.ToLower(c) {
		case "malware", "attack":
			mal = true
		case "benign", "normal":
			ben = true
		}
	}
	return mal && ben
}
