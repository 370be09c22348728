package cuckoo

import (
	"testing"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

// Matched behaviour signatures and YARA rules appear as Cuckoo signatures:
// severity mapped to 1-3, evidence as marks, techniques as references.
func TestMatchedSignaturesInCuckooReport(t *testing.T) {
	rep := &report.Report{Signatures: []report.Signature{
		{Match: features.Match{ID: "socket-shell", Source: "signatures", Description: "d", Severity: 5, Techniques: []string{"T1059.004"},
			Evidence: []string{"pid 7 execve /bin/sh", "x"}, Count: 4}},
		{Match: features.Match{ID: "upx_packed_elf", Source: "yara", Description: "u", Severity: 2, Techniques: []string{"T1027.002"}}},
	}}
	sigs := signatures(rep)
	if len(sigs) != 2 {
		t.Fatalf("%+v", sigs)
	}
	s := sigs[0]
	if s.Name != "socket-shell" || s.Severity != 3 || s.Markcount != 4 || len(s.Marks) != 2 || s.Marks[0].Description != "pid 7 execve /bin/sh" ||
		s.References[0] != "https://attack.mitre.org/techniques/T1059/004/" {
		t.Fatalf("socket-shell: %+v", s)
	}
	if sigs[1].Severity != 1 || sigs[1].Marks == nil || sigs[1].Markcount != 0 {
		t.Fatalf("upx: %+v", sigs[1])
	}
}
