package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/scalemalnet/scalemalnet/classifiers/eval"
	"github.com/scalemalnet/scalemalnet/classifiers/ml"
	"github.com/scalemalnet/scalemalnet/featurizers/header"
)

// ClaMP file names inside the clamp data set folder.
const (
	ClaMPDir            = "clamp"
	ClaMPRawFile        = "ClaMP_Raw-5184.csv"
	ClaMPIntegratedFile = "ClaMP_Integrated-5184.csv"
)

// ClaMPLabel is the label column: 1 malware, 0 benign.
const ClaMPLabel = "class"

// BinaryClasses are the classes of the two-class sets; index 1 (malware or
// attack) is the positive class of eval's AUC.
var (
	MalwareClasses = []string{"benign", "malware"}
	AttackClasses  = []string{"normal", "attack"}
)

// ErrFormat is wrapped (together with ml.ErrData) by errors about a
// malformed data file.
var ErrFormat = errors.New("malformed data file")

func formatErr(file string, line int, format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s:%d: %s", ml.ErrData, ErrFormat, file, line, fmt.Sprintf(format, args...))
}

// ClaMPOptions tunes LoadClaMP.
type ClaMPOptions struct {
	// DropConstant removes columns with one value over the whole file (e.g.
	// e_magic, e_res). It uses no labels, so it leaks nothing into CV, and
	// changes no model but naive Bayes' smoothing.
	DropConstant bool
	// KeepDuplicates skips deduplication (done by default, conflicting
	// rows removed).
	KeepDuplicates bool
}

// VectorSet is a feature-vector dataset with its column names.
type VectorSet struct {
	Name    string
	Dataset ml.Dataset
	Columns []string // names of Vector's entries
	Dropped []string // constant columns removed (DropConstant)
	Dedup   eval.DedupReport
}

// LoadClaMP reads a ClaMP CSV (Raw or Integrated; columns from its header
// line, label column "class"). Empty cells (e_res, e_res2) read as 0, as
// the header featurizer produces; the categorical packer_type is encoded as
// its index in header.PackerTypes, as featurizers/header does. IDs are
// "file:line". Rows are deduplicated (eval.Dedup, conflicts removed) unless
// opt.KeepDuplicates.
func LoadClaMP(file string, opt ClaMPOptions) (*VectorSet, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vs, err := ReadClaMP(f, filepath.Base(file), opt)
	if err != nil {
		return nil, err
	}
	return vs, nil
}

// ReadClaMP is LoadClaMP over a reader; name is used in IDs and errors.
func ReadClaMP(r io.Reader, name string, opt ClaMPOptions) (*VectorSet, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	head, err := cr.Read()
	if err != nil {
		return nil, formatErr(name, 1, "header: %v", err)
	}
	label := slices.Index(head, ClaMPLabel)
	if label < 0 {
		return nil, formatErr(name, 1, "no %q column", ClaMPLabel)
	}
	var cols []string
	for i, h := range head {
		if i != label {
			cols = append(cols, h)
		}
	}
	vs := &VectorSet{Name: strings.TrimSuffix(name, ".csv"), Columns: cols}
	d := ml.Dataset{Classes: MalwareClasses}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, formatErr(name, line, "%v", err)
		}
		if len(rec) != len(head) {
			return nil, formatErr(name, line, "%d fields, header has %d", len(rec), len(head))
		}
		v := make([]float64, 0, len(cols))
		for i, s := range rec {
			if i == label {
				continue
			}
			x, err := cell(head[i], s)
			if err != nil {
				return nil, formatErr(name, line, "%v", err)
			}
			v = append(v, x)
		}
		y, err := strconv.Atoi(strings.TrimSpace(rec[label]))
		if err != nil || (y != 0 && y != 1) {
			return nil, formatErr(name, line, "class %q is not 0 or 1", rec[label])
		}
		d.Inputs = append(d.Inputs, ml.Input{Vector: v})
		d.Labels = append(d.Labels, y)
		d.IDs = append(d.IDs, fmt.Sprintf("%s:%d", name, line))
	}
	if len(d.Inputs) == 0 {
		return nil, formatErr(name, 1, "no rows")
	}
	if opt.DropConstant {
		dropConstant(vs, &d)
	}
	if opt.KeepDuplicates {
		vs.Dataset = d
		vs.Dedup = eval.DedupReport{Before: len(d.Inputs), After: len(d.Inputs)}
		return vs, nil
	}
	if vs.Dataset, vs.Dedup, err = eval.Dedup(d, eval.DedupOptions{}); err != nil {
		return nil, err
	}
	return vs, nil
}

// cell parses one feature cell.
func cell(col, s string) (float64, error) {
	s = strings.TrimSpace(s)
	if col == "packer_type" {
		i := slices.Index(header.PackerTypes, s)
		if i < 0 {
			return 0, fmt.Errorf("packer_type %q not in header.PackerTypes", s)
		}
		return float64(i), nil
	}
	if s == "" {
		return 0, nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("column %s: %q is not a number", col, s)
	}
	return x, nil
}

// dropConstant removes the columns with a single value.
func dropConstant(vs *VectorSet, d *ml.Dataset) {
	var keep []int
	var cols []string
	for j, c := range vs.Columns {
		first := d.Inputs[0].Vector[j]
		constant := true
		for _, in := range d.Inputs {
			if in.Vector[j] != first {
				constant = false
				break
			}
		}
		if constant {
			vs.Dropped = append(vs.Dropped, c)
		} else {
			keep = append(keep, j)
			cols = append(cols, c)
		}
	}
	for i, in := range d.Inputs {
		v := make([]float64, len(keep))
		for k, j := range keep {
			v[k] = in.Vector[j]
		}
		d.Inputs[i] = ml.Input{Vector: v}
	}
	vs.Columns = cols
}
