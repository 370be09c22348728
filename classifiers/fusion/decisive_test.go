package fusion

import (
	"fmt"
	"testing"
)

// The decisive rule turns the flagged records malware in the extra entry
// and only there: flagged malicious records become true positives, a
// flagged benign one a false positive, and the plain entry is unchanged.
func TestEvaluateDecisive(t *testing.T) {
	recs := synth(200, 11, map[string]float64{"weak": 0.3}, 0)
	for i := range recs {
		recs[i].ID = fmt.Sprint("r", i)
	}
	flag := map[string]bool{}
	var malFlagged int
	for i, r := range recs {
		if r.Malicious && i%4 == 1 { // a quarter of the malicious records
			flag[r.ID] = true
			malFlagged++
		}
	}
	benign := recs[0].ID // one benign record flagged: a false positive
	flag[benign] = true
	opt := EvalOptions{K: 4, Seed: 2, Methods: []string{MethodSoftVote}}
	plain, err := Evaluate(recs, opt)
	if err != nil {
		t.Fatal(err)
	}
	opt.Decisive = func(id string) bool { return flag[id] }
	rep, err := Evaluate(recs, opt)
	if err != nil {
		t.Fatal(err)
	}
	p, d := rep.Entry(MethodSoftVote), rep.Entry(MethodSoftVote+DecisiveSuffix)
	if p == nil || d == nil {
		t.Fatalf("entries: %+v", rep.Entries)
	}
	if q := plain.Entry(MethodSoftVote).Pooled; p.Pooled.TP != q.TP || p.Pooled.FP != q.FP || p.Pooled.TN != q.TN {
		t.Errorf("plain entry changed by the decisive option: %+v vs %+v", p.Pooled, plain.Entry(MethodSoftVote).Pooled)
	}
	if len(d.Folds) != 4 || d.Kind != KindFusion {
		t.Errorf("decisive entry: %d folds, kind %s", len(d.Folds), d.Kind)
	}
	var wantTP, wantFP int
	for _, pr := range p.Predictions {
		pred := pr.Predicted || flag[pr.ID]
		if pred && pr.Malicious {
			wantTP++
		} else if pred {
			wantFP++
		}
	}
	if d.Pooled.TP != wantTP || d.Pooled.FP != wantFP {
		t.Errorf("decisive pooled TP %d FP %d, want %d %d", d.Pooled.TP, d.Pooled.FP, wantTP, wantFP)
	}
	if d.Pooled.TP <= p.Pooled.TP {
		t.Errorf("decisive TP %d not above plain %d with %d flagged malicious", d.Pooled.TP, p.Pooled.TP, malFlagged)
	}
	for _, pr := range d.Predictions {
		if flag[pr.ID] && !pr.Predicted {
			t.Errorf("%s flagged but predicted benign", pr.ID)
		}
	}
}
