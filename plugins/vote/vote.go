// Package vote is the one vote vocabulary of ScaleMalNet: a classifier's
// vote on one sample as the orchestrator records it in reports
// (orchestrator/report.Vote) and the fusion model reads it
// (classifiers/fusion.Vote), and the per-class score that plugins answer
// with (plugins.ClassScore). It imports nothing of the project, so every
// layer can use it; classifiers, featurizers and plugins never import the
// orchestrator.
package vote

import "time"

// ClassScore is one class's score in a vote.
type ClassScore struct {
	Class string  `json:"class"`
	Score float64 `json:"score"`
}

// Vote is one classifier's vote on one sample.
type Vote struct {
	Classifier   string        `json:"classifier"`
	Version      string        `json:"version,omitempty"`
	Stage        string        `json:"stage,omitempty"`  // detection or family; fusion infers it from the classes when empty
	Inputs       []string      `json:"inputs,omitempty"` // input kinds it used: static, dynamic, image
	Scores       []ClassScore  `json:"scores,omitempty"`
	Label        string        `json:"label,omitempty"`
	Model        string        `json:"model,omitempty"`
	ModelVersion string        `json:"model_version,omitempty"`
	Abstained    bool          `json:"abstained,omitempty"` // its input kind does not apply
	Reason       string        `json:"reason,omitempty"`    // why it abstained
	Error        string        `json:"error,omitempty"`     // why it failed (crash, deadline, bad vote)
	Explanation  string        `json:"explanation,omitempty"`
	Duration     time.Duration `json:"duration_ns"`
}
