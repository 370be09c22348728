package verdict

import (
	"bytes"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

func sig(id string, sev int, techs ...string) report.Signature {
	return report.Signature{Match: features.Match{ID: id, Severity: sev, Techniques: techs}, Featurizer: "signatures"}
}

func TestDecide(t *testing.T) {
	benign := func() *report.Verdict {
		return &report.Verdict{Label: report.VerdictBenign, Probability: 0.55, Threshold: 0.733}
	}
	sigs := []report.Signature{sig("shadow-read", 4, "T1003.008"), sig("socket-shell", 5, "T1059.004", "T1071")}

	v := benign()
	Decide(v, sigs, DecisiveDefault)
	if v.Label != report.VerdictMalware || len(v.DecidedBy) != 1 || v.DecidedBy[0] != "socket-shell (critical; T1059.004, T1071)" {
		t.Errorf("critical: %+v", v)
	}
	if v.Probability != 0.55 {
		t.Errorf("the fused probability must be kept, got %v", v.Probability)
	}

	v = benign()
	Decide(v, sigs[:1], DecisiveDefault) // a high match alone decides nothing
	if v.Label != report.VerdictBenign || v.DecidedBy != nil {
		t.Errorf("high only: %+v", v)
	}
	v = benign()
	Decide(v, sigs, 4) // "high": both decide
	if v.Label != report.VerdictMalware || len(v.DecidedBy) != 2 {
		t.Errorf("min high: %+v", v)
	}
	v = benign()
	Decide(v, sigs, 0) // off
	if v.Label != report.VerdictBenign || v.DecidedBy != nil {
		t.Errorf("off: %+v", v)
	}
	unknown := &report.Verdict{Label: report.VerdictUnknown, Error: "no usable votes"}
	Decide(unknown, sigs, DecisiveDefault)
	if unknown.Label != report.VerdictMalware || unknown.Error != "" {
		t.Errorf("unknown: %+v", unknown)
	}
	Decide(nil, sigs, DecisiveDefault) // no verdict: nothing to decide, no panic

	var buf bytes.Buffer
	v = benign()
	Decide(v, sigs, DecisiveDefault)
	if err := report.Render(&buf, &report.Report{Verdict: v}); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "VERDICT    MALWARE") || !strings.Contains(out, "decided  by signature socket-shell (critical; T1059.004, T1071)") {
		t.Errorf("render:\n%s", out)
	}
}

func TestParseDecisive(t *testing.T) {
	for in, want := range map[string]int{"": 5, "critical": 5, "high": 4, "medium": 3, "off": 0, "none": 0} {
		if got, ok := ParseDecisive(in); !ok || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, ok, want)
		}
	}
	for _, bad := range []string{"low", "5", "Critical", "severe"} {
		if _, ok := ParseDecisive(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}
