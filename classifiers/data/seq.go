package data

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/scalemalnet/scalemalnet/classifiers/eval"
	"github.com/scalemalnet/scalemalnet/classifiers/ml"
	"github.com/scalemalnet/scalemalnet/featurizers/callseq"
	"github.com/scalemalnet/scalemalnet/featurizers/datasets"
)

// Task names a call-sequence classification task.
type Task string

// The call-sequence tasks.
const (
	MalBehavD Task = "malbehavd"  // MalBehavD-V1: benign vs malware
	MalAPI    Task = "malapi"     // Mal-API-2019: 8 malware types
	FHIDS     Task = "fhids"      // FHIDS: normal vs attack
	FHIDSKind Task = "fhids-kind" // FHIDS: normal or the attack kind (6 classes)
	ADFA      Task = "adfa"       // ADFA-LD: normal vs attack
	ADFAKind  Task = "adfa-kind"  // ADFA-LD: normal or the attack type (7 classes)
	// Corpus is the sandbox's own corpus (classifiers/corpus): benign vs
	// malware, cross-validated by group (ATT&CK technique or program).
	Corpus Task = "corpus"
)

// Tasks lists every task of the shared public datasets (Corpus is read
// from a corpus folder by classifiers/corpus).
var Tasks = []Task{MalBehavD, MalAPI, FHIDS, FHIDSKind, ADFA, ADFAKind}

// SeqSet is a call-sequence dataset. Dataset.Inputs[i].Tokens are ids into
// Names, a lossless index of every normalised call name in the data (built
// without labels, in order of first occurrence, so fitting it on all data
// leaks nothing); the per-fold encodings (n-gram vectors, vocabulary ids)
// are fitted on training folds by NGramPrepare and SequencePrepare.
type SeqSet struct {
	Task    Task
	Dataset ml.Dataset
	Names   []string
	Dedup   eval.DedupReport
	// Truncated counts records longer than the loader's Limits.MaxCalls
	// (kept truncated).
	Truncated int
}

// LoadTask loads a task from the shared data set folder dir (as
// datasets.Dir returns), deduplicated (eval.Dedup on the normalised
// sequence, conflicting sequences removed).
func LoadTask(dir string, task Task, lim datasets.Limits) (*SeqSet, error) {
	var recs []datasets.SeqRecord
	var err error
	switch task {
	case MalBehavD:
		recs, err = datasets.LoadMalBehavD(filepath.Join(dir, datasets.MalBehavDDir, datasets.MalBehavDFile), lim)
	case MalAPI:
		recs, err = datasets.LoadMalAPI(filepath.Join(dir, datasets.MalAPIDir), lim)
	case FHIDS, FHIDSKind:
		recs, err = datasets.LoadFHIDS(filepath.Join(dir, datasets.FHIDSDir, datasets.FHIDSArchive), lim)
	case ADFA, ADFAKind:
		recs, err = datasets.LoadADFA(filepath.Join(dir, datasets.ADFADir), datasets.ADFAOptions{Limits: lim})
	default:
		return nil, fmt.Errorf("%w: unknown task %q", ml.ErrData, task)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", task, err)
	}
	return FromRecords(task, recs)
}

// classOf returns the class name of a record under a task ("" to skip).
func classOf(task Task, r *datasets.SeqRecord) string {
	switch task {
	case MalAPI:
		return r.Class
	case FHIDSKind, ADFAKind:
		if r.Label == datasets.LabelAttack {
			return r.Class
		}
		return r.Label
	}
	return r.Label
}

// taskClasses returns a task's fixed classes, or nil when they come from
// the data (sorted names, with "normal" first for the kind tasks).
func taskClasses(task Task) []string {
	switch task {
	case MalBehavD, Corpus:
		return MalwareClasses
	case FHIDS, ADFA:
		return AttackClasses
	}
	return nil
}

// FromRecords builds a task's SeqSet from loaded records: names are
// normalised (callseq.Normalize), records without a class for the task are
// an error, and the set is deduplicated.
func FromRecords(task Task, recs []datasets.SeqRecord) (*SeqSet, error) {
	classes := taskClasses(task)
	if classes == nil {
		seen := map[string]bool{}
		for i := range recs {
			if c := classOf(task, &recs[i]); c != "" && c != datasets.LabelNormal {
				seen[c] = true
			}
		}
		for c := range seen {
			classes = append(classes, c)
		}
		slices.Sort(classes)
		if task == FHIDSKind || task == ADFAKind {
			classes = append([]string{datasets.LabelNormal}, classes...)
		}
	}
	s := &SeqSet{Task: task}
	d := ml.Dataset{Classes: classes}
	index := map[string]int32{}
	for i := range recs {
		r := &recs[i]
		c := slices.Index(classes, classOf(task, r))
		if c < 0 {
			return nil, fmt.Errorf("%w: %s: record %s has no class (label %q, class %q)", ml.ErrData, task, r.ID, r.Label, r.Class)
		}
		if r.Dropped > 0 {
			s.Truncated++
		}
		toks := make([]int32, len(r.Calls))
		for j, call := range r.Calls {
			id, ok := index[call]
			if !ok {
				n := callseq.Normalize(call)
				if id, ok = index[n]; !ok {
					id = int32(len(s.Names))
					s.Names = append(s.Names, n)
					index[n] = id
				}
				index[call] = id
			}
			toks[j] = id
		}
		d.Inputs = append(d.Inputs, ml.Input{Tokens: toks})
		d.Labels = append(d.Labels, c)
		d.IDs = append(d.IDs, r.ID)
		if task == Corpus {
			d.Groups = append(d.Groups, r.Group)
		}
	}
	var err error
	if s.Dataset, s.Dedup, err = eval.Dedup(d, eval.DedupOptions{}); err != nil {
		return nil, fmt.Errorf("%s: %w", task, err)
	}
	return s, nil
}

// Calls returns the call names of an example of the set (shared strings).
func (s *SeqSet) Calls(in ml.Input) []string {
	out := make([]string, len(in.Tokens))
	for i, t := range in.Tokens {
		out[i] = s.Names[t]
	}
	return out
}

// ClassCounts returns the number of examples per class.
func ClassCounts(d ml.Dataset) map[string]int {
	m := map[string]int{}
	for _, y := range d.Labels {
		m[d.Classes[y]]++
	}
	return m
}
