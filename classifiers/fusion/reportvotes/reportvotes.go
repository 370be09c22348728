// Package reportvotes converts an analysis report's votes into fusion
// votes. It is apart from package fusion so that fusion does not depend on
// the orchestrator (and the report may embed a fusion.Verdict).
package reportvotes

import (
	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

// Votes returns the fusion votes of a report's votes, in order.
func Votes(vs []report.Vote) []fusion.Vote {
	out := make([]fusion.Vote, len(vs))
	for i, v := range vs {
		fv := fusion.Vote{Classifier: v.Classifier, Stage: v.Stage, Label: v.Label,
			Abstained: v.Abstained, Reason: v.Reason, Error: v.Error}
		for _, s := range v.Scores {
			fv.Scores = append(fv.Scores, fusion.ClassScore{Class: s.Class, Score: s.Score})
		}
		out[i] = fv
	}
	return out
}
