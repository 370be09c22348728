package train

import (
	"encoding/hex"
	"fmt"

	"github.com/scalemalnet/scalemalnet/classifiers/eval"
	"github.com/scalemalnet/scalemalnet/featurizers/datasets"
	"github.com/scalemalnet/scalemalnet/featurizers/header"
)

// Labelled is a dataset read exactly as `train --data` reads it
// (recognised by its shape, deduplicated), record by record, for running
// a classifier that train did not fit over it (`scalemalnet plugins oof`):
// each record carries the key its out-of-fold line must have to join the
// lines `train --oof` writes for the same file.
type Labelled struct {
	Task       string // e.g. "fhids", "adfa", "clamp-raw"
	Source     string // human description
	Stage      string // the task's stage: detection or family
	FeatureSet string // the built-in feature set that carries this input at inference
	InputKind  string // static, dynamic or image
	Columns    []string
	Records    []LabelledRecord
}

// LabelledRecord is one deduplicated example.
type LabelledRecord struct {
	Key   string // hex of eval.InputKey of the raw input, as in OOF files
	ID    string
	Label string // the dataset's class
	// Calls is a call-sequence record's call names (x86-64 system call
	// names for the Linux sets, Windows API names for the Cuckoo sets);
	// Vector a ClaMP record's values, one per Labelled.Columns entry.
	Calls  []string
	Vector []float64
}

// ClaMPSetVersion is the version of the ClaMP feature set a task's
// vector records stand for (header.VersionClaMPRaw or
// header.VersionClaMPIntegrated), "" for other tasks.
func (l *Labelled) ClaMPSetVersion() string {
	switch l.Task {
	case header.NameClaMPRaw:
		return header.VersionClaMPRaw
	case header.NameClaMPIntegrated:
		return header.VersionClaMPIntegrated
	}
	return ""
}

// LoadLabelled reads the dataset at path for task ("" = its default task).
// Image folders are refused (ErrData): their records are resized pixels,
// not the sample bytes a featurizer would see.
func LoadLabelled(path, task string) (*Labelled, error) {
	l, err := load(path, task, datasets.Limits{})
	if err != nil {
		return nil, err
	}
	if l.kind == kindImage {
		return nil, fmt.Errorf("%w: %s: image folders hold resized images, not samples; run the plugin over a call-sequence or ClaMP dataset", ErrData, path)
	}
	out := &Labelled{Task: l.task, Source: l.source, Stage: l.stage, FeatureSet: l.featureSet, InputKind: l.inputKind}
	d := l.dataset()
	if l.vs != nil {
		out.Columns = l.vs.Columns
	}
	for i, in := range d.Inputs {
		k := eval.InputKey(in)
		r := LabelledRecord{Key: hex.EncodeToString(k[:]), Label: d.Classes[d.Labels[i]]}
		if i < len(d.IDs) {
			r.ID = d.IDs[i]
		}
		switch l.kind {
		case kindCalls:
			r.Calls = l.ss.Calls(in)
		case kindVector:
			r.Vector = in.Vector
		}
		out.Records = append(out.Records, r)
	}
	return out, nil
}
