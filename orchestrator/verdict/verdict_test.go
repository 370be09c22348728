package verdict

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/plugins"
)

// A report's votes are the fusion model's input as they are (one type) and
// keep their JSON through a round trip.
func TestVotesMatchJSON(t *testing.T) {
	rv := []report.Vote{
		{Classifier: "clamp-dnn", Version: "1", Stage: "detection", Inputs: []string{"static"},
			Scores: []report.ClassScore{{Class: "benign", Score: 0.3}, {Class: "malware", Score: 0.7}}, Label: "malware"},
		{Classifier: "malimg-cnn", Stage: "detection", Abstained: true, Reason: "not a PE"},
		{Classifier: "fhids-lstm", Stage: "family", Error: "deadline exceeded"},
	}
	var got []fusion.Vote = rv
	b, err := json.Marshal(rv)
	if err != nil {
		t.Fatal(err)
	}
	var viaJSON []fusion.Vote
	if err := json.Unmarshal(b, &viaJSON); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, viaJSON) {
		t.Errorf("votes %+v, via JSON %+v", got, viaJSON)
	}
	if p, err := fusion.DetectionProbability(got[0].Scores); err != nil || p != 0.7 {
		t.Errorf("P(malicious) %v, %v", p, err)
	}
}

func TestReportVoteAndBrief(t *testing.T) {
	info := plugins.Info{Version: "2", Stage: plugins.StageDetection, Inputs: []plugins.Input{plugins.InputStatic}}
	pv := plugins.Vote{Label: "malware", Model: "m", Scores: []plugins.ClassScore{{Class: "malware", Score: 0.9}, {Class: "benign", Score: 0.1}}}
	v := ReportVote("c", info, pv)
	if v.Classifier != "c" || v.Version != "2" || v.Stage != string(plugins.StageDetection) || len(v.Inputs) != 1 ||
		v.Label != "malware" || v.Model != "m" || len(v.Scores) != 2 || v.Scores[0].Score != 0.9 {
		t.Fatalf("report vote %+v", v)
	}
	if Brief(nil) != nil {
		t.Fatal("brief of no verdict")
	}
	b := Brief(&report.Verdict{Label: "malware", Probability: 0.8, Family: "miner"})
	if b == nil || b.Label != "malware" || b.Probability != 0.8 || b.Family != "miner" {
		t.Fatalf("brief %+v", b)
	}
}
