package train

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
)

// noisyMalBehavD writes a MalBehavD-V1-format CSV of n distinct call
// sequences with labels independent of them (nothing to learn).
func noisyMalBehavD(t *testing.T, n int) string {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 6))
	apis := []string{"NtOpenFile", "NtReadFile", "NtClose", "LdrLoadDll", "RegOpenKeyExW", "CreateProcessW", "InternetOpenA", "VirtualAlloc"}
	const width = 12
	var b strings.Builder
	b.WriteString("sha256,labels")
	for i := range width {
		fmt.Fprintf(&b, ",%d", i)
	}
	b.WriteString("\n")
	for i := range n {
		fmt.Fprintf(&b, "%064x,%d", i, r.IntN(2))
		l := 4 + r.IntN(width-4)
		for j := range width {
			b.WriteString(",")
			if j < l {
				b.WriteString(apis[r.IntN(len(apis))])
			}
		}
		b.WriteString("\n")
	}
	p := filepath.Join(t.TempDir(), "MalBehavD-V1-dataset.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOOFHeldOutAndJoin: on labels that are pure noise, a random forest is
// nearly perfect on its own training data but at chance on its out-of-fold
// predictions, which therefore come from models that did not see their
// examples; every deduplicated example has exactly one, with its fold; and
// the out-of-fold files of an n-gram model and a sequence model of the same
// data join on every key.
func TestOOFHeldOutAndJoin(t *testing.T) {
	csv := noisyMalBehavD(t, 160)
	ctx := context.Background()
	rf, err := Train(ctx, Spec{Model: "random-forest", Data: csv, Seed: 1, Folds: 4})
	if err != nil {
		t.Fatal(err)
	}
	n := rf.Header.Data.Examples
	if len(rf.OOF) != n || n < 150 {
		t.Fatalf("%d OOF lines for %d examples", len(rf.OOF), n)
	}
	keys := map[string]bool{}
	correct := 0
	perFold := map[int]int{}
	for _, l := range rf.OOF {
		if keys[l.Key] || l.Classifier != "malbehavd-random-forest" || l.Stage != "detection" || len(l.Scores) != 2 {
			t.Fatalf("line %+v", l)
		}
		keys[l.Key] = true
		perFold[l.Fold]++
		pred := l.Scores[0].Class
		if l.Scores[1].Score > l.Scores[0].Score {
			pred = l.Scores[1].Class
		}
		if pred == l.Label {
			correct++
		}
	}
	if len(perFold) != 4 {
		t.Errorf("folds %v", perFold)
	}
	oofAcc := float64(correct) / float64(n)
	p := write(t, rf)
	in, _, err := Evaluate(ctx, p, csv) // the shipped model on its own training data
	if err != nil {
		t.Fatal(err)
	}
	if in.Accuracy < 0.95 || oofAcc > 0.65 {
		t.Fatalf("in-sample accuracy %.3f, out-of-fold %.3f: want memorised in sample, chance out of fold", in.Accuracy, oofAcc)
	}

	lstm, err := Train(ctx, Spec{Model: "lstm", Data: csv, Seed: 1, Folds: 4, Options: Options{Quick: true, SeqLen: 12}})
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := rf.WriteOOF(&a); err != nil {
		t.Fatal(err)
	}
	if err := lstm.WriteOOF(&b); err != nil {
		t.Fatal(err)
	}
	la, err := fusion.ReadOOF(&a, "rf")
	if err != nil {
		t.Fatal(err)
	}
	lb, err := fusion.ReadOOF(&b, "lstm")
	if err != nil {
		t.Fatal(err)
	}
	recs, rep, err := fusion.JoinOOF(append(la, lb...))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n || rep.ByVotes[2] != n || rep.Classifiers[0].Joined != n || rep.Classifiers[1].Joined != n {
		t.Fatalf("join: %d records of %d examples, %+v", len(recs), n, rep)
	}
	noCV, err := Train(ctx, Spec{Model: "naive-bayes", Data: csv, Seed: 1, Folds: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := noCV.WriteOOF(&a); err == nil {
		t.Error("OOF written without cross-validation")
	}
}
