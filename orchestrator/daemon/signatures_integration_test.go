package daemon

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/internal/vmtest"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/plugins/builtin"
)

// TestSignaturesOnRealRuns: the bundled attack imitations run in a real VM
// and their reports name what they did (the reverse shell's socket on the
// shell's stdin, the account files written, the mining pool port), the
// job is searchable by those names, and the behavior-signatures
// classifier votes malware; the benign reader matches nothing of high
// severity and is voted benign.
func TestSignaturesOnRealRuns(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	td := startDaemon(t, imageDir, 1)
	cases := []struct {
		sample string
		want   []string // signature ids that must match
		label  string   // the behavior-signatures vote
	}{
		{"test-revshell", []string{"socket-shell"}, "malware"},
		{"test-adduser", []string{"account-files-written", "shadow-read"}, "malware"},
		{"test-miner", []string{"miner"}, "malware"},
		{"benign-reader", nil, "benign"},
	}
	for _, c := range cases {
		job, rep := td.analyse(t, filepath.Join(samplesDir, c.sample), jobs.Options{Timeout: 20 * time.Second, Window: time.Second})
		got := map[string]report.Signature{}
		for _, s := range rep.Signatures {
			got[s.ID] = s
			t.Logf("%s: %d %s %v %q", c.sample, s.Severity, s.ID, s.Techniques, s.Evidence)
		}
		for _, w := range c.want {
			s, ok := got[w]
			if !ok || len(s.Evidence) == 0 || s.Featurizer != builtin.SignaturesFeaturizer {
				t.Errorf("%s: signature %s missing or without evidence (matched %v)", c.sample, w, rep.Signatures)
			}
			if !slices.Contains(job.Signatures, w) {
				j, _ := td.Job(t.Context(), job.ID)
				if !slices.Contains(j.Signatures, w) {
					t.Errorf("%s: job signature names %v lack %s", c.sample, j.Signatures, w)
				}
			}
		}
		if c.want == nil {
			for _, s := range rep.Signatures {
				if s.Severity >= 4 {
					t.Errorf("%s: benign sample matched %s (severity %d): %q", c.sample, s.ID, s.Severity, s.Evidence)
				}
			}
		}
		var vote *report.Vote
		for i := range rep.Votes {
			if rep.Votes[i].Classifier == builtin.SignatureClassifier {
				vote = &rep.Votes[i]
			}
		}
		if vote == nil || vote.Label != c.label {
			t.Errorf("%s: behavior-signatures vote %+v, want %s", c.sample, vote, c.label)
		}
	}
}
