package argfeat

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/scalemalnet/scalemalnet/classifiers/data"
	"github.com/scalemalnet/scalemalnet/classifiers/eval"
	"github.com/scalemalnet/scalemalnet/classifiers/ml"
	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// ErrDataset is wrapped by the errors of Builder and VectorSet.
var ErrDataset = errors.New("argfeat dataset")

// Builder collects labelled traces into a training set, one trace at a
// time, so a corpus never has to be held in memory as traces (only its
// vectors, about 2 KiB each).
type Builder struct {
	classes []string
	labels  map[string]int
	d       ml.Dataset
	groups  map[string]string // id → group
}

// NewBuilder returns a Builder for the given classes (in label order, e.g.
// data.MalwareClasses: "benign", "malware").
func NewBuilder(classes []string) (*Builder, error) {
	if len(classes) < 2 {
		return nil, fmt.Errorf("%w: %d classes, need at least 2", ErrDataset, len(classes))
	}
	b := &Builder{classes: slices.Clone(classes), labels: map[string]int{}, groups: map[string]string{}}
	for i, c := range classes {
		if _, dup := b.labels[c]; dup || c == "" {
			return nil, fmt.Errorf("%w: class %q empty or listed twice", ErrDataset, c)
		}
		b.labels[c] = i
	}
	b.d.Classes = b.classes
	return b, nil
}

// Add extracts the features of one trace and adds it under label, with a
// unique id (reported, and used to align groups) and its group (ATT&CK
// technique, benign program; may be empty).
func (b *Builder) Add(t *trace.Trace, label, id, group string) error {
	y, ok := b.labels[label]
	if !ok {
		return fmt.Errorf("%w: item %q: label %q is not one of %v", ErrDataset, id, label, b.classes)
	}
	if t == nil {
		return fmt.Errorf("%w: item %q: no trace", ErrDataset, id)
	}
	if id == "" {
		return fmt.Errorf("%w: item %d: empty id", ErrDataset, len(b.d.Inputs))
	}
	if _, dup := b.groups[id]; dup {
		return fmt.Errorf("%w: id %q added twice", ErrDataset, id)
	}
	b.groups[id] = group
	b.d.Inputs = append(b.d.Inputs, ml.Input{Vector: Extract(t)})
	b.d.Labels = append(b.d.Labels, y)
	b.d.IDs = append(b.d.IDs, id)
	return nil
}

// Len is the number of traces added.
func (b *Builder) Len() int { return len(b.d.Inputs) }

// VectorSet returns the collected examples as a data.VectorSet named name
// (Columns: Schema()), deduplicated like the other vector sets
// (eval.Dedup: exact repeats and inputs seen under two labels removed,
// unless keepDuplicates), and each kept example's group, aligned with
// Dataset.IDs.
func (b *Builder) VectorSet(name string, keepDuplicates bool) (*data.VectorSet, []string, error) {
	if len(b.d.Inputs) == 0 {
		return nil, nil, fmt.Errorf("%w: no examples", ErrDataset)
	}
	vs := &data.VectorSet{Name: name, Columns: Schema()}
	if keepDuplicates {
		vs.Dataset = b.d
		vs.Dedup = eval.DedupReport{Before: len(b.d.Inputs), After: len(b.d.Inputs)}
	} else {
		var err error
		if vs.Dataset, vs.Dedup, err = eval.Dedup(b.d, eval.DedupOptions{}); err != nil {
			return nil, nil, err
		}
	}
	groups := make([]string, len(vs.Dataset.IDs))
	for i, id := range vs.Dataset.IDs {
		groups[i] = b.groups[id]
	}
	return vs, groups, nil
}

// VectorSet builds a deduplicated data.VectorSet of the traces with their
// labels and ids (all three the same length). The classes are
// data.MalwareClasses when every label is "benign" or "malware", else the
// distinct labels sorted.
func VectorSet(traces []*trace.Trace, labels, ids []string) (*data.VectorSet, error) {
	if len(traces) != len(labels) || len(traces) != len(ids) {
		return nil, fmt.Errorf("%w: %d traces, %d labels, %d ids", ErrDataset, len(traces), len(labels), len(ids))
	}
	classes := data.MalwareClasses
	for _, l := range labels {
		if !slices.Contains(data.MalwareClasses, l) {
			seen := map[string]bool{}
			classes = nil
			for _, l := range labels {
				if !seen[l] {
					seen[l] = true
					classes = append(classes, l)
				}
			}
			sort.Strings(classes)
			break
		}
	}
	b, err := NewBuilder(classes)
	if err != nil {
		return nil, err
	}
	for i, t := range traces {
		if err := b.Add(t, labels[i], ids[i], ""); err != nil {
			return nil, err
		}
	}
	vs, _, err := b.VectorSet(SetName, false)
	return vs, err
}
