package reportvotes

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

func TestVotesMatchJSON(t *testing.T) {
	rv := []report.Vote{
		{Classifier: "clamp-dnn", Version: "1", Stage: "detection", Inputs: []string{"static"},
			Scores: []report.ClassScore{{Class: "benign", Score: 0.3}, {Class: "malware", Score: 0.7}}, Label: "malware"},
		{Classifier: "malimg-cnn", Stage: "detection", Abstained: true, Reason: "not a PE"},
		{Classifier: "fhids-lstm", Stage: "family", Error: "deadline exceeded"},
	}
	got := Votes(rv)
	// A report's votes decode straight into fusion votes with the same result.
	b, err := json.Marshal(rv)
	if err != nil {
		t.Fatal(err)
	}
	var viaJSON []fusion.Vote
	if err := json.Unmarshal(b, &viaJSON); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, viaJSON) {
		t.Errorf("Votes %+v, via JSON %+v", got, viaJSON)
	}
	if p, err := fusion.DetectionProbability(got[0].Scores); err != nil || p != 0.7 {
		t.Errorf("P(malicious) %v, %v", p, err)
	}
}
