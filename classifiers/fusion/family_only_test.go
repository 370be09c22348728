package fusion

import (
	"errors"
	"slices"
	"testing"
)

// A family model trained on malware types alone (Mal-API-2019) shares no
// example with any detection model: its records have family votes only.
// JoinOOF leaves them out; JoinOOFFamilies returns them and
// AddFamilyRecords weighs the model on them, so a deployment uses its
// votes instead of listing them as ignored.
func TestFamilyOnlyRecordsWeighTheirModel(t *testing.T) {
	var lines []OOFLine
	keys := []string{"d1", "d2", "d3", "d4", "d5", "d6"}
	for i, k := range keys {
		label, p := "benign", 0.2+0.05*float64(i)
		if i%2 == 1 {
			label, p = "malware", 0.9-0.05*float64(i)
		}
		lines = append(lines, oofLine(k, "malbehavd-rf", StageDetection, label, "benign", 1-p, "malware", p))
	}
	// Mal-API-like: three examples, the model right on two.
	lines = append(lines,
		oofLine("f1", "malapi-rf", StageFamily, "Trojan", "Trojan", 0.6, "Worms", 0.4),
		oofLine("f2", "malapi-rf", StageFamily, "Worms", "Trojan", 0.3, "Worms", 0.7),
		oofLine("f3", "malapi-rf", StageFamily, "Worms", "Trojan", 0.8, "Worms", 0.2),
	)
	recs, fam, rep, err := JoinOOFFamilies(lines)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 6 || len(fam) != 3 || rep.NoDetection != 3 || !fam[0].Malicious || fam[0].Family != "Trojan" {
		t.Fatalf("join: %d records, %d family-only %+v, report %+v", len(recs), len(fam), fam, rep)
	}
	if r2, _, err := JoinOOF(lines); err != nil || len(r2) != 6 {
		t.Fatalf("JoinOOF: %v %d", err, len(r2))
	}
	m, err := Fit(recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Families) != 0 {
		t.Fatalf("Fit alone knows family models %+v", m.Families)
	}
	votes := []Vote{
		{Classifier: "malbehavd-rf", Stage: StageDetection, Scores: cs("benign", 0.01, "malware", 0.99)},
		{Classifier: "malapi-rf", Stage: StageFamily, Scores: cs("Trojan", 0.1, "Worms", 0.9)},
	}
	v, err := m.Predict(votes)
	if err != nil || !v.Malicious || v.Family != "" || !slices.Contains(v.Ignored, "malapi-rf") {
		t.Fatalf("before: %v %+v", err, v)
	}
	if err := m.AddFamilyRecords(fam); err != nil {
		t.Fatal(err)
	}
	if len(m.Families) != 1 || m.Families[0].Votes != 3 || m.Families[0].Hits != 2 || m.Families[0].Weight != 0.6 || m.NFamilyRecords != 3 {
		t.Fatalf("families %+v (%d records)", m.Families, m.NFamilyRecords)
	}
	v, err = m.Predict(votes)
	if err != nil || v.Family != "Worms" || !slices.Equal(v.FamilyVoters, []string{"malapi-rf"}) || slices.Contains(v.Ignored, "malapi-rf") {
		t.Fatalf("after: %v %+v", err, v)
	}
	if err := m.AddFamilyRecords(recs[:1]); !errors.Is(err, ErrData) {
		t.Fatalf("a record with a detection vote: %v", err)
	}
}
