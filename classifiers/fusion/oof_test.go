package fusion

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func oofLine(key, classifier, stage, label string, scores ...any) OOFLine {
	return OOFLine{Key: strings.Repeat(key, 64/len(key)), Classifier: classifier, Stage: stage, Label: label, Scores: cs(scores...)}
}

func TestJoinOOF(t *testing.T) {
	lines := []OOFLine{
		// Dataset A (FHIDS-like): a detection forest, a sequence model and a kind model.
		oofLine("a1", "fhids-rf", StageDetection, "attack", "normal", 0.2, "attack", 0.8),
		oofLine("a1", "fhids-lstm", StageDetection, "attack", "normal", 0.4, "attack", 0.6),
		oofLine("a1", "fhids-kind", StageFamily, "SSH", "normal", 0.1, "SSH", 0.7, "FTP", 0.2),
		oofLine("a2", "fhids-rf", StageDetection, "normal", "normal", 0.9, "attack", 0.1),
		oofLine("a2", "fhids-kind", StageFamily, "normal", "normal", 0.9, "SSH", 0.05, "FTP", 0.05),
		// Only the kind model saw a3: no stage-1 vote, left out.
		oofLine("a3", "fhids-kind", StageFamily, "FTP", "normal", 0.1, "SSH", 0.1, "FTP", 0.8),
		// Dataset B (ClaMP-like): disjoint keys.
		oofLine("b1", "clamp-dnn", StageDetection, "benign", "benign", 0.7, "malware", 0.3),
		oofLine("b2", "clamp-dnn", StageDetection, "malware", "benign", 0.1, "malware", 0.9),
	}
	recs, rep, err := JoinOOF(lines)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || rep.Keys != 5 || rep.NoDetection != 1 || rep.Malicious != 2 || rep.ByVotes[1] != 3 || rep.ByVotes[2] != 1 {
		t.Fatalf("report %+v, %d records", rep, len(recs))
	}
	a1 := recs[0]
	if a1.ID != strings.Repeat("a1", 32) || !a1.Malicious || a1.Family != "SSH" || len(a1.Votes) != 3 || a1.Votes[0].Classifier != "fhids-kind" {
		t.Errorf("a1: %+v", a1)
	}
	if recs[1].Malicious || recs[1].Family != "" || recs[2].Malicious || !recs[3].Malicious {
		t.Errorf("truth: %+v", recs)
	}
	want := map[string][2]int{"clamp-dnn": {2, 0}, "fhids-kind": {3, 2}, "fhids-lstm": {1, 1}, "fhids-rf": {2, 2}}
	for _, c := range rep.Classifiers {
		if w := want[c.Name]; c.Lines != w[0] || c.Joined != w[1] {
			t.Errorf("%s: %d lines %d joined, want %v", c.Name, c.Lines, c.Joined, w)
		}
	}
	// The records fit and predict; the family stage is learnt from the kind labels.
	m, err := Fit(recs, Options{Calibration: CalibrationNone})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Detectors) != 3 || len(m.Families) != 1 || m.Families[0].Votes != 1 || m.Families[0].Hits != 1 {
		t.Errorf("model detectors %+v families %+v", m.Detectors, m.Families)
	}

	// Round trip through the file format.
	var buf bytes.Buffer
	if err := WriteOOF(&buf, lines); err != nil {
		t.Fatal(err)
	}
	back, err := ReadOOF(&buf, "x")
	if err != nil || len(back) != len(lines) || back[2].Scores[2].Class != "FTP" {
		t.Fatalf("round trip: %v %+v", err, back)
	}

	bad := []struct {
		name  string
		lines []OOFLine
		want  error
	}{
		{"truth conflict", []OOFLine{lines[0], oofLine("a1", "x", StageDetection, "normal", "normal", 0.5, "attack", 0.5)}, ErrData},
		{"family says normal", []OOFLine{lines[0], oofLine("a1", "k", StageFamily, "normal", "normal", 0.5, "SSH", 0.5)}, ErrData},
		{"two families", []OOFLine{lines[2], oofLine("a1", "k2", StageFamily, "FTP", "normal", 0.5, "FTP", 0.5)}, ErrData},
		{"stage changes", []OOFLine{lines[0], oofLine("a2", "fhids-rf", StageFamily, "SSH", "SSH", 1.0)}, ErrData},
		{"duplicate", []OOFLine{lines[0], lines[0]}, ErrData},
		{"unknown class", []OOFLine{oofLine("a1", "x", StageDetection, "attack", "normal", 0.5, "worm", 0.5)}, ErrUnknownClass},
		{"unknown label", []OOFLine{oofLine("a1", "x", StageDetection, "worm", "normal", 0.5, "attack", 0.5)}, ErrUnknownClass},
		{"bad score", []OOFLine{oofLine("a1", "x", StageDetection, "attack", "normal", 1.5, "attack", 0.5)}, ErrBadScores},
		{"bad stage", []OOFLine{oofLine("a1", "x", "triage", "attack", "normal", 0.5, "attack", 0.5)}, ErrData},
		{"family only", []OOFLine{lines[5]}, ErrData},
		{"empty", nil, ErrData},
	}
	for _, c := range bad {
		if _, _, err := JoinOOF(c.lines); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	for name, in := range map[string]string{
		"empty":     "\n\n",
		"malformed": `{"key":"` + strings.Repeat("a1", 32) + `","label":"attack",` + "\n",
		"unknown":   `{"key":"` + strings.Repeat("a1", 32) + `","label":"attack","fold":0,"classifier":"x","stage":"detection","scores":[{"class":"normal","score":0.5},{"class":"attack","score":0.5}],"extra":1}`,
	} {
		if _, err := ReadOOF(strings.NewReader(in), name); !errors.Is(err, ErrData) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
