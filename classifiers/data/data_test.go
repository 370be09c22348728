package data

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/classifiers/ml"
	"github.com/scalemalnet/scalemalnet/featurizers/callseq"
	"github.com/scalemalnet/scalemalnet/featurizers/datasets"
)

const clampCSV = `e_magic,e_res,NumberOfSections,packer_type,class
23117,,4,NoPacker,0
23117,,5,MPRESS,1
23117,,4,NoPacker,0
23117,,6,UPXv20MarkusLaszloReiser,1
`

func TestReadClaMP(t *testing.T) {
	vs, err := ReadClaMP(strings.NewReader(clampCSV), "t.csv", ClaMPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if vs.Dedup.Before != 4 || vs.Dedup.After != 3 || vs.Dedup.Duplicates != 1 {
		t.Errorf("dedup %+v", vs.Dedup)
	}
	d := vs.Dataset
	if !reflect.DeepEqual(vs.Columns, []string{"e_magic", "e_res", "NumberOfSections", "packer_type"}) {
		t.Errorf("columns %v", vs.Columns)
	}
	if !reflect.DeepEqual(d.Inputs[1].Vector, []float64{23117, 0, 5, 40}) || d.Labels[1] != 1 || d.IDs[1] != "t.csv:3" {
		t.Errorf("row 2: %v label %d id %s", d.Inputs[1].Vector, d.Labels[1], d.IDs[1])
	}
	vs, err = ReadClaMP(strings.NewReader(clampCSV), "t.csv", ClaMPOptions{DropConstant: true, KeepDuplicates: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(vs.Columns, []string{"NumberOfSections", "packer_type"}) || !reflect.DeepEqual(vs.Dropped, []string{"e_magic", "e_res"}) || len(vs.Dataset.Inputs) != 4 {
		t.Errorf("drop constant: %v dropped %v, %d rows", vs.Columns, vs.Dropped, len(vs.Dataset.Inputs))
	}
	if got := vs.Dataset.Inputs[3].Vector; !reflect.DeepEqual(got, []float64{6, 1}) {
		t.Errorf("row 4 %v", got)
	}
}

func TestReadClaMPErrors(t *testing.T) {
	for name, csv := range map[string]string{
		"no class":  "a,b\n1,2\n",
		"bad class": "a,class\n1,2\n",
		"packer":    "packer_type,class\nSomethingNew,1\n",
		"number":    "a,class\nx,1\n",
		"ragged":    "a,b,class\n1,0\n",
		"empty":     "a,class\n",
	} {
		_, err := ReadClaMP(strings.NewReader(csv), "t.csv", ClaMPOptions{})
		if !errors.Is(err, ml.ErrData) || !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ml.ErrData and ErrFormat", name, err)
		}
	}
}

func rec(label, class string, calls ...string) datasets.SeqRecord {
	return datasets.SeqRecord{ID: strings.Join(calls, "") + label + class, Label: label, Class: class, Calls: calls}
}

func TestFromRecords(t *testing.T) {
	recs := []datasets.SeqRecord{
		rec("normal", "", "open", "read", "close"),
		rec("normal", "", "OPEN", "read", "close"), // same after normalisation
		rec("attack", "Hydra", "open", "exec"),
		rec("attack", "Web", "open", "exec"), // same sequence, same label: duplicate
		rec("normal", "", "exec"),
		rec("attack", "Web", "exec"), // conflict
		rec("normal", "", "read"),
		rec("attack", "Web", "socket", "exec"),
	}
	s, err := FromRecords(ADFA, recs)
	if err != nil {
		t.Fatal(err)
	}
	if s.Dedup.Duplicates != 2 || s.Dedup.ConflictInputs != 1 || s.Dedup.ConflictRemoved != 2 || s.Dedup.After != 4 {
		t.Errorf("dedup %+v", s.Dedup)
	}
	if !reflect.DeepEqual(s.Dataset.Classes, AttackClasses) || !reflect.DeepEqual(ClassCounts(s.Dataset), map[string]int{"normal": 2, "attack": 2}) {
		t.Errorf("classes %v counts %v", s.Dataset.Classes, ClassCounts(s.Dataset))
	}
	if got := s.Calls(s.Dataset.Inputs[0]); !reflect.DeepEqual(got, []string{"open", "read", "close"}) {
		t.Errorf("calls %v", got)
	}
	k, err := FromRecords(ADFAKind, recs)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(k.Dataset.Classes, []string{"normal", "Hydra", "Web"}) {
		t.Errorf("kind classes %v", k.Dataset.Classes)
	}
	// Under the kind task "open exec" is Hydra and Web: a conflict.
	if k.Dedup.ConflictInputs != 2 {
		t.Errorf("kind dedup %+v", k.Dedup)
	}
	if _, err := FromRecords(MalBehavD, recs); !errors.Is(err, ml.ErrData) {
		t.Errorf("normal/attack records as MalBehavD: %v", err)
	}
}

func seqSet(t *testing.T) *SeqSet {
	t.Helper()
	recs := []datasets.SeqRecord{
		rec("benign", "", "a", "b", "a"),
		rec("benign", "", "a", "a"),
		rec("malware", "", "c", "d"),
		rec("malware", "", "z", "c", "d"), // "z" only here (the test fold below)
	}
	s, err := FromRecords(MalBehavD, recs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNGramPrepareFitsOnTrainOnly(t *testing.T) {
	s := seqSet(t)
	d := s.Dataset
	train, test := d.Subset([]int{0, 1, 2}), d.Subset([]int{3})
	tr, te, err := s.NGramPrepare(NGramOptions{Ns: []int{1, 2}})(context.Background(), train, test)
	if err != nil {
		t.Fatal(err)
	}
	f, err := FitNGrams([][]string{{"a", "b", "a"}, {"a", "a"}, {"c", "d"}}, NGramOptions{Ns: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	schema := f.Schema()
	for _, g := range schema {
		if strings.Contains(g, "z") {
			t.Fatalf("test-only call in the columns: %v", schema)
		}
	}
	col := func(g string) int {
		for i, s := range schema {
			if s == g {
				return i
			}
		}
		t.Fatalf("no column %q in %v", g, schema)
		return -1
	}
	v := tr.Inputs[0].Vector
	if v[col("a")] != 2 || v[col("b")] != 1 || v[col("a|b")] != 1 || v[col("b|a")] != 1 || v[col("c")] != 0 {
		t.Errorf("train vector %v over %v", v, schema)
	}
	w := te.Inputs[0].Vector
	if len(w) != len(v) || w[col("c")] != 1 || w[col("c|d")] != 1 || w[col("a")] != 0 {
		t.Errorf("test vector %v over %v", w, schema)
	}
	if !reflect.DeepEqual(tr.Labels, train.Labels) || !reflect.DeepEqual(te.IDs, test.IDs) {
		t.Error("labels or IDs changed")
	}
	_, te, _ = s.NGramPrepare(NGramOptions{Ns: []int{1}, Log: true})(context.Background(), train, d.Subset([]int{0}))
	if got := te.Inputs[0].Vector[0]; got != math.Log1p(2) { // "a" twice
		t.Errorf("log count %v", got)
	}
}

func TestSequencePrepare(t *testing.T) {
	s := seqSet(t)
	d := s.Dataset
	tr, te, err := s.SequencePrepare(SequenceOptions{Length: 4})(context.Background(), d.Subset([]int{0, 1, 2}), d.Subset([]int{3}))
	if err != nil {
		t.Fatal(err)
	}
	// Training vocabulary: a(4) b(1) c(1) d(1) -> ids 2, 3, 4, 5.
	if got := tr.Inputs[0].Tokens; !reflect.DeepEqual(got, []int32{2, 3, 2, 0}) {
		t.Errorf("train tokens %v", got)
	}
	if got := te.Inputs[0].Tokens; !reflect.DeepEqual(got, []int32{callseq.UnknownID, 4, 5, 0}) {
		t.Errorf("test tokens %v", got)
	}
}

func TestCachePrepare(t *testing.T) {
	s := seqSet(t)
	calls := 0
	inner := s.NGramPrepare(NGramOptions{})
	p := CachePrepare(func(ctx context.Context, a, b ml.Dataset) (ml.Dataset, ml.Dataset, error) {
		calls++
		return inner(ctx, a, b)
	})
	d := s.Dataset
	for i := 0; i < 3; i++ {
		if _, _, err := p(context.Background(), d.Subset([]int{0, 2}), d.Subset([]int{1, 3})); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := p(context.Background(), d.Subset([]int{1, 2}), d.Subset([]int{0, 3})); err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Errorf("%d featurizations, want 2", calls)
	}
}
