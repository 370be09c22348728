package eval

import (
	"fmt"
	"testing"
)

func TestStratifiedGroupKFoldKeepsGroupsTogether(t *testing.T) {
	var labels []int
	var groups []string
	// 12 malicious groups of 1-6 examples, 8 benign groups of 3-9.
	for g := 0; g < 12; g++ {
		for j := 0; j <= g%6; j++ {
			labels = append(labels, 1)
			groups = append(groups, fmt.Sprintf("T%04d", g))
		}
	}
	for g := 0; g < 8; g++ {
		for j := 0; j < 3+g%7; j++ {
			labels = append(labels, 0)
			groups = append(groups, fmt.Sprintf("benign-%d", g))
		}
	}
	folds, err := StratifiedGroupKFold(labels, groups, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	where := map[string]int{}
	seen := make([]int, len(labels))
	for f, fold := range folds {
		if len(fold.Train)+len(fold.Test) != len(labels) {
			t.Fatalf("fold %d: %d train + %d test != %d", f, len(fold.Train), len(fold.Test), len(labels))
		}
		var pos int
		for _, i := range fold.Test {
			seen[i]++
			if w, ok := where[groups[i]]; ok && w != f {
				t.Fatalf("group %s in test folds %d and %d", groups[i], w, f)
			}
			where[groups[i]] = f
			pos += labels[i]
		}
		if pos == 0 || pos == len(fold.Test) {
			t.Errorf("fold %d holds one class only (%d of %d malicious)", f, pos, len(fold.Test))
		}
		for _, i := range fold.Train {
			if where[groups[i]] == f && contains(fold.Test, i) {
				t.Fatalf("example %d in train and test of fold %d", i, f)
			}
		}
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("example %d in %d test folds", i, n)
		}
	}
	again, _ := StratifiedGroupKFold(labels, groups, 4, 1)
	for f := range folds {
		if fmt.Sprint(folds[f].Test) != fmt.Sprint(again[f].Test) {
			t.Fatal("same seed gave different folds")
		}
	}
	if _, err := StratifiedGroupKFold(labels, groups, 21, 1); err == nil {
		t.Error("k above the number of groups accepted")
	}
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
