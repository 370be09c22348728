package argfeat

import (
	"errors"
	"slices"
	"testing"

	"github.com/scalemalnet/scalemalnet/classifiers/data"
	"github.com/scalemalnet/scalemalnet/guest/trace"
)

func TestBuilder(t *testing.T) {
	evil := func() *trace.Trace { return tr(wr(1, "/etc/shadow")) }
	b, err := NewBuilder(data.MalwareClasses)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range []struct {
		tr               *trace.Trace
		label, id, group string
	}{
		{evil(), "malware", "a1", "T1136"},
		{evil(), "malware", "a2", "T1136"}, // the same vector and label: a duplicate
		{tr(rd(1, "/etc/hostname")), "benign", "b1", "cat"},
		{tr(rd(1, "/etc/passwd")), "benign", "b2", "getent"},
		{tr(rd(1, "/etc/passwd")), "malware", "c1", "T1087"}, // the same vector as b2 under another label: a conflict
	} {
		if err := b.Add(it.tr, it.label, it.id, it.group); err != nil {
			t.Fatal(err)
		}
	}
	if b.Len() != 5 {
		t.Fatalf("len %d", b.Len())
	}
	for _, bad := range []struct {
		tr        *trace.Trace
		label, id string
	}{{evil(), "worm", "x"}, {nil, "benign", "y"}, {evil(), "benign", ""}, {evil(), "benign", "a1"}} {
		if err := b.Add(bad.tr, bad.label, bad.id, ""); !errors.Is(err, ErrDataset) {
			t.Errorf("Add(%v, %q, %q): %v, want ErrDataset", bad.tr != nil, bad.label, bad.id, err)
		}
	}
	vs, groups, err := b.VectorSet("corpus", false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(vs.Columns, Schema()) || vs.Name != "corpus" {
		t.Fatalf("columns or name wrong: %q, %d columns", vs.Name, len(vs.Columns))
	}
	// a2 is a duplicate of a1; b2 and c1 conflict and both go.
	if !slices.Equal(vs.Dataset.IDs, []string{"a1", "b1"}) || !slices.Equal(groups, []string{"T1136", "cat"}) ||
		!slices.Equal(vs.Dataset.Labels, []int{1, 0}) {
		t.Fatalf("after dedup: ids %v groups %v labels %v", vs.Dataset.IDs, groups, vs.Dataset.Labels)
	}
	if vs.Dedup.Before != 5 || vs.Dedup.After != 2 || vs.Dedup.Duplicates != 1 || vs.Dedup.ConflictRemoved != 2 {
		t.Errorf("dedup report %+v", vs.Dedup)
	}
	if w, _ := Vector(vs.Dataset.Inputs[0].Vector).Get("path.shadow.write"); w != L(1) {
		t.Errorf("a1 path.shadow.write = %v", w)
	}
	all, groups, err := b.VectorSet("corpus", true)
	if err != nil || len(all.Dataset.Inputs) != 5 || len(groups) != 5 || groups[4] != "T1087" {
		t.Fatalf("keep duplicates: %v, %d examples, groups %v", err, len(all.Dataset.Inputs), groups)
	}

	if _, err := NewBuilder([]string{"only"}); !errors.Is(err, ErrDataset) {
		t.Errorf("one class: %v", err)
	}
	if _, err := NewBuilder([]string{"a", "a"}); !errors.Is(err, ErrDataset) {
		t.Errorf("repeated class: %v", err)
	}
	empty, _ := NewBuilder(data.MalwareClasses)
	if _, _, err := empty.VectorSet("x", false); !errors.Is(err, ErrDataset) {
		t.Errorf("empty: %v", err)
	}
}

func TestVectorSet(t *testing.T) {
	traces := []*trace.Trace{tr(wr(1, "/etc/shadow")), tr(rd(1, "/etc/hostname")), tr(exec(1, "/bin/nc", "nc"))}
	vs, err := VectorSet(traces, []string{"Worm", "Adware", "Worm"}, []string{"1", "2", "3"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(vs.Dataset.Classes, []string{"Adware", "Worm"}) || !slices.Equal(vs.Dataset.Labels, []int{1, 0, 1}) {
		t.Fatalf("classes %v labels %v", vs.Dataset.Classes, vs.Dataset.Labels)
	}
	vs, err = VectorSet(traces[:2], []string{"malware", "benign"}, []string{"1", "2"})
	if err != nil || !slices.Equal(vs.Dataset.Classes, data.MalwareClasses) || !slices.Equal(vs.Dataset.Labels, []int{1, 0}) {
		t.Fatalf("malware classes: %v %+v", err, vs)
	}
	if _, err := VectorSet(traces, []string{"benign"}, []string{"1", "2", "3"}); !errors.Is(err, ErrDataset) {
		t.Errorf("length mismatch: %v", err)
	}
	if _, err := VectorSet(traces[:1], []string{"Worm"}, []string{"1"}); !errors.Is(err, ErrDataset) {
		t.Errorf("one class: %v", err)
	}
}
