// Package verdict owns the conversions between the vote and verdict shapes
// of an analysis, in one place and in the direction of the layers (the
// orchestrator imports the classifiers, never the reverse):
//
//	plugins.Vote     a classifier plugin's answer (plugins.Classifier)
//	vote.Vote        that answer as the report records it, with timing and
//	                 errors (report.Vote), and as the fusion model reads it
//	                 (fusion.Vote): one type, plugins/vote  (ReportVote)
//	fusion.Verdict   what the fusion model decides
//	report.Verdict   the decision as the report records it  (FromFusion)
//	jobs.VerdictBrief the decision in job lists              (Brief)
package verdict

import (
	"slices"
	"strings"

	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/featurizers/signatures"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/plugins"
)

// ReportVote records a classifier's answer in the report's shape (the
// caller sets Duration, and Error or Abstained for calls that did not
// answer).
func ReportVote(name string, info plugins.Info, pv plugins.Vote) report.Vote {
	v := report.Vote{Classifier: name, Version: info.Version, Stage: string(info.Stage)}
	for _, in := range info.Inputs {
		v.Inputs = append(v.Inputs, string(in))
	}
	v.Label, v.Model, v.ModelVersion = pv.Label, pv.Model, pv.ModelVersion
	v.Abstained, v.Reason, v.Explanation = pv.Abstained, pv.Reason, pv.Explanation
	v.Scores = slices.Clone(pv.Scores) // plugins.ClassScore is report.ClassScore (plugins/vote)
	return v
}

// Model says which fusion model decided, for the report.
type Model struct {
	Path, SHA256 string
	Rule         string // the threshold rule in words
}

// FromFusion converts a fusion verdict to the report's.
func FromFusion(fv fusion.Verdict, m Model) *report.Verdict {
	v := &report.Verdict{
		Label: fv.Label, Probability: fv.Probability, Threshold: fv.Threshold, ThresholdRule: m.Rule,
		Method: fv.Method, Model: m.Path, ModelSHA256: m.SHA256,
		Family: fv.Family, FamilyScore: fv.FamilyScore, FamilyVoters: fv.FamilyVoters,
		Ignored: fv.Ignored, Unfitted: fv.Unfitted, Contributions: []report.Contribution{},
	}
	for _, s := range fv.Families {
		v.Families = append(v.Families, report.ClassScore{Class: s.Class, Score: s.Score})
	}
	for _, c := range fv.Contributions {
		v.Contributions = append(v.Contributions, report.Contribution{Classifier: c.Classifier, Raw: c.Raw,
			Calibrated: c.Calibrated, Weight: c.Weight, Term: c.Term, Delta: c.Delta, Prior: c.Prior})
	}
	for _, m := range fv.Missing {
		v.Missing = append(v.Missing, report.MissingVote{Classifier: m.Classifier, Stage: m.Stage, Status: m.Status, Reason: m.Reason})
	}
	return v
}

// Brief is a report verdict in brief for job lists; nil for none.
func Brief(v *report.Verdict) *jobs.VerdictBrief {
	if v == nil {
		return nil
	}
	return &jobs.VerdictBrief{Label: v.Label, Probability: v.Probability, Family: v.Family}
}

// DecisiveDefault is the severity at and above which a matched signature
// decides the verdict when the configuration does not say: critical.
const DecisiveDefault = features.SeverityMax

// ParseDecisive parses a decisive-signature setting into the lowest
// decisive severity: "critical" (also "", the default) 5, "high" 4,
// "medium" 3, "off" 0 (no signature decides); ok is false otherwise.
func ParseDecisive(s string) (min int, ok bool) {
	switch s {
	case "", "critical":
		return DecisiveDefault, true
	case "high":
		return 4, true
	case "medium":
		return 3, true
	case "off", "none":
		return 0, true
	}
	return 0, false
}

// Decide applies the decisive-signature rule to v: when a signature of
// severity min or above matched, the label is malware whatever the fused
// probability (which the report keeps), and DecidedBy names the
// signatures. min <= 0 turns the rule off. A rule is decisive because its
// author says the behaviour has no benign use in a sandbox run; the
// corpus measures that claim (`signatures eval`: critical matches on
// benign runs).
func Decide(v *report.Verdict, sigs []report.Signature, min int) {
	if v == nil || min <= 0 {
		return
	}
	for _, s := range sigs {
		if s.Severity < min {
			continue
		}
		line := s.ID + " (" + signatures.SeverityName(s.Severity)
		if len(s.Techniques) > 0 {
			line += "; " + strings.Join(s.Techniques, ", ")
		}
		v.DecidedBy = append(v.DecidedBy, line+")")
	}
	if len(v.DecidedBy) > 0 {
		v.Label, v.Error = report.VerdictMalware, ""
	}
}
