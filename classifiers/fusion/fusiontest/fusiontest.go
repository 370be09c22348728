// Package fusiontest makes fusion model files for tests: a soft-vote model
// fitted on synthetic votes, written to a test's temporary directory.
package fusiontest

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
)

// ModelFile fits a soft-vote model on a separating detection
// classifier good, barely separating ones weak and a family classifier fam.
func ModelFile(t *testing.T, good string, weak []string, fam string) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var recs []fusion.Record
	for i := 0; i < 400; i++ {
		mal := i%2 == 0
		pg, pw := 0.2+0.2*rng.Float64(), 0.3+0.3*rng.Float64()
		if mal {
			pg, pw = 0.6+0.3*rng.Float64(), 0.4+0.3*rng.Float64()
		}
		r := fusion.Record{Malicious: mal, Votes: []fusion.Vote{
			{Classifier: good, Stage: "detection", Scores: []fusion.ClassScore{{Class: "benign", Score: 1 - pg}, {Class: "malware", Score: pg}}},
		}}
		for _, w := range weak {
			r.Votes = append(r.Votes, fusion.Vote{Classifier: w, Stage: "detection", Scores: []fusion.ClassScore{{Class: "normal", Score: 1 - pw}, {Class: "attack", Score: pw}}})
		}
		if mal && fam != "" {
			r.Family = "SSH"
			r.Votes = append(r.Votes, fusion.Vote{Classifier: fam, Stage: "family",
				Scores: []fusion.ClassScore{{Class: "normal", Score: 0.1}, {Class: "SSH", Score: 0.8}, {Class: "FTP", Score: 0.1}}})
		}
		recs = append(recs, r)
	}
	m, err := fusion.Fit(recs, fusion.Options{Method: fusion.MethodSoftVote})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fusion.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}
