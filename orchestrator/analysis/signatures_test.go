package analysis

import (
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// A matches set's rules go to the report's signatures section (not into
// the features section's Meta), sorted by severity; a set breaking the
// bounds adds nothing and says why.
func TestMatchesSetsBecomeSignatures(t *testing.T) {
	r := &jobRun{a: New(Config{Log: slog.New(slog.DiscardHandler)}), job: jobs.Job{ID: "j1"}}
	low := features.Match{ID: "user-discovery", Source: "signatures", Description: "d", Severity: 2, Techniques: []string{"T1033"}, Evidence: []string{"pid 1 execve /usr/bin/id"}}
	crit := features.Match{ID: "socket-shell", Source: "signatures", Description: "d", Severity: 5, Techniques: []string{"T1059.004"}}
	yr := features.Match{ID: "reverse_shell_string", Source: "yara", Description: "d", Severity: 4, Techniques: []string{"T1059.004"}}
	s1, err := features.MatchesSet("signature-matches", "1", []features.Match{low, crit})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := features.MatchesSet("yara-matches", "1", []features.Match{yr})
	if err != nil {
		t.Fatal(err)
	}
	meta := r.addMatches("signatures", s1)
	if _, ok := meta[features.MetaMatches]; ok || meta[features.MetaSchema] != features.MatchesSchema {
		t.Fatalf("feature meta %v: the matches belong in the signatures section", meta)
	}
	r.addMatches("yara", s2)
	bad := *s2
	bad.Meta = map[string]string{features.MetaSchema: features.MatchesSchema, features.MetaMatches: `[{"id":"x","source":"y","severity":9}]`}
	bad.Schema, bad.Vector = []string{"x"}, []float64{9}
	if meta := r.addMatches("evil", &bad); !strings.Contains(meta["error"], "severity 9") {
		t.Fatalf("bad set meta %v", meta)
	}
	got := sortedSignatures(r.signatures)
	var ids []string
	for _, s := range got {
		ids = append(ids, s.Featurizer+"/"+s.ID)
	}
	if want := []string{"signatures/socket-shell", "yara/reverse_shell_string", "signatures/user-discovery"}; !slices.Equal(ids, want) {
		t.Fatalf("signatures %v, want %v", ids, want)
	}
	if names := signatureNames(append(got, got...)); len(names) != 3 {
		t.Fatalf("job signature names %v", names)
	}
}
