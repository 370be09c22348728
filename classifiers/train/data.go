package train

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/scalemalnet/scalemalnet/classifiers/corpus"
	"github.com/scalemalnet/scalemalnet/classifiers/data"
	"github.com/scalemalnet/scalemalnet/classifiers/eval"
	"github.com/scalemalnet/scalemalnet/classifiers/ml"
	"github.com/scalemalnet/scalemalnet/featurizers/apiseq"
	"github.com/scalemalnet/scalemalnet/featurizers/argfeat"
	"github.com/scalemalnet/scalemalnet/featurizers/callseq"
	"github.com/scalemalnet/scalemalnet/featurizers/datasets"
	"github.com/scalemalnet/scalemalnet/featurizers/image"
)

// ErrData is wrapped when --data cannot be recognised or read.
var ErrData = errors.New("unusable training data")

// Kinds of data a dataset gives.
const (
	kindVector = "vector" // feature vectors (ClaMP)
	kindCalls  = "calls"  // call sequences (n-grams or token ids are fitted per fold)
	kindImage  = "image"  // byte images
)

// loaded is a dataset read from --data, deduplicated.
type loaded struct {
	task       string // e.g. "fhids", "clamp-integrated"
	source     string // human description
	kind       string
	stage      string // detection or family
	featureSet string // feature set that carries this input at inference
	inputKind  string // plugin input kind
	vs         *data.VectorSet
	ss         *data.SeqSet
	images     ml.Dataset
	records    int
	// idKeys: out-of-fold lines are keyed by the record's ID rather than
	// its input (a corpus run's models on different inputs join in fusion).
	idKeys bool
	dedup  eval.DedupReport
	digest string
}

func (l *loaded) dataset() ml.Dataset {
	switch {
	case l.vs != nil:
		return l.vs.Dataset
	case l.ss != nil:
		return l.ss.Dataset
	}
	return l.images
}

// taskInfo gives, for each call-sequence task, its stage and description.
var taskInfo = map[data.Task]struct{ stage, source string }{
	data.MalBehavD: {"detection", "MalBehavD-V1 (Windows API; benign vs malware)"},
	data.MalAPI:    {"family", "Mal-API-2019 (Windows API; 8 malware types)"},
	data.FHIDS:     {"detection", "FHIDS (x86-64 syscalls; normal vs attack)"},
	data.FHIDSKind: {"family", "FHIDS (x86-64 syscalls; normal or attack kind)"},
	data.ADFA:      {"detection", "ADFA-LD (i386 syscalls mapped to x86-64 names; normal vs attack)"},
	data.ADFAKind:  {"family", "ADFA-LD (normal or attack type)"},
	data.Corpus:    {"detection", "ScaleMalNet corpus (the sandbox's own traces; benign vs malware; grouped by ATT&CK technique or program)"},
}

// load recognises the dataset at path by its shape (each public set in the
// format it has in shared/datasets) and loads it for task ("" = the set's
// default task).
func load(path, task string, lim datasets.Limits) (*loaded, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrData, err)
	}
	digest, err := digestPath(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrData, err)
	}
	base := filepath.Base(path)
	var recs []datasets.SeqRecord
	var def data.Task
	switch {
	case !st.IsDir() && strings.HasSuffix(base, ".csv"):
		hdr, err := firstLine(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrData, err)
		}
		if strings.Contains(hdr, "e_magic") || strings.Contains(hdr, "e_cblp") {
			vs, err := data.LoadClaMP(path, data.ClaMPOptions{})
			if err != nil {
				return nil, err
			}
			t := "clamp-raw"
			if len(vs.Columns) > 60 {
				t = "clamp-integrated"
			}
			if task != "" && task != t {
				return nil, fmt.Errorf("%w: %s is the %s set; task %q does not apply", ErrData, base, t, task)
			}
			return &loaded{task: t, source: "ClaMP " + strings.TrimPrefix(t, "clamp-") + " PE header features (benign vs malware)",
				kind: kindVector, stage: "detection", featureSet: t, inputKind: "static", vs: vs,
				records: vs.Dedup.Before, dedup: vs.Dedup, digest: digest}, nil
		}
		recs, err = datasets.LoadMalBehavD(path, lim)
		def = data.MalBehavD
		if err != nil {
			return nil, err
		}
	case !st.IsDir() && strings.HasSuffix(base, ".tar.xz"):
		if recs, err = datasets.LoadFHIDS(path, lim); err != nil {
			return nil, err
		}
		def = data.FHIDS
	case st.IsDir() && exists(filepath.Join(path, "calls.zip")):
		if recs, err = datasets.LoadMalAPI(path, lim); err != nil {
			return nil, err
		}
		def = data.MalAPI
	case st.IsDir() && exists(filepath.Join(path, "Attack_Data_Master")):
		if recs, err = datasets.LoadADFA(path, datasets.ADFAOptions{Limits: lim}); err != nil {
			return nil, err
		}
		def = data.ADFA
	case st.IsDir() && exists(filepath.Join(path, corpus.IndexFile)):
		runs, err := corpus.LoadRuns(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrData, err)
		}
		if task == TaskCorpusArgs {
			return loadCorpusArgs(runs, digest)
		}
		if task != "" && task != string(data.Corpus) {
			return nil, fmt.Errorf("%w: task %q does not apply to a corpus (use %s or %s)", ErrData, task, data.Corpus, TaskCorpusArgs)
		}
		if recs, err = corpus.Records(runs, lim); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrData, err)
		}
		def = data.Corpus
	case st.IsDir() && exists(filepath.Join(path, "fhids.tar.xz")):
		return load(filepath.Join(path, "fhids.tar.xz"), task, lim)
	case st.IsDir():
		return loadImages(path, task, digest)
	default:
		return nil, fmt.Errorf("%w: %s is none of the known formats (ClaMP or MalBehavD CSV, FHIDS tar.xz, Mal-API-2019 or ADFA-LD folder, Malimg-layout folder)", ErrData, path)
	}
	t := def
	if task != "" {
		t = data.Task(task)
		if _, ok := taskInfo[t]; !ok || !sameSet(def, t) {
			return nil, fmt.Errorf("%w: task %q does not apply to %s (use %s)", ErrData, task, base, tasksOf(def))
		}
	}
	ss, err := data.FromRecords(t, recs)
	if err != nil {
		return nil, err
	}
	info := taskInfo[t]
	return &loaded{task: string(t), source: info.source, kind: kindCalls, stage: info.stage,
		featureSet: featureSetOf(t), inputKind: "dynamic", ss: ss, records: len(recs), dedup: ss.Dedup, digest: digest,
		idKeys: t == data.Corpus}, nil
}

// featureSetOf is the feature set that carries a call-sequence task's input
// at inference: the Windows API sets of featurizers/apiseq for the Cuckoo
// API datasets (MalBehavD-V1 rows list each name once in order of first
// call, Mal-API-2019 lines keep repeats), the system call sequence of
// featurizers/callseq for the Linux sets.
func featureSetOf(t data.Task) string {
	switch t {
	case data.MalBehavD:
		return apiseq.FirstName
	case data.MalAPI:
		return apiseq.SeqName
	}
	return callseq.SequenceName
}

// HooksOnly reports whether a feature set comes from a recorder that logs a
// fixed list of hooked functions (Cuckoo's monitor, for the Windows API
// sets): a call a model trained on it never saw is one such a recorder
// would not have logged, so prediction leaves it out instead of keeping it
// as a gap between the calls around it.
func HooksOnly(featureSet string) bool {
	return featureSet == apiseq.FirstName || featureSet == apiseq.SeqName
}

// sameSet reports whether task t reads the same files as the default task def.
func sameSet(def, t data.Task) bool {
	return strings.SplitN(string(def), "-", 2)[0] == strings.SplitN(string(t), "-", 2)[0]
}

func tasksOf(def data.Task) string {
	var out []string
	for t := range taskInfo {
		if sameSet(def, t) {
			out = append(out, string(t))
		}
	}
	sort.Strings(out)
	return strings.Join(out, " or ")
}

// ImageSize is the side of the images the image models read.
const ImageSize = 32

func loadImages(dir, task, digest string) (*loaded, error) {
	if task != "" && task != "malimg" {
		return nil, fmt.Errorf("%w: task %q does not apply to an image folder", ErrData, task)
	}
	ds, err := image.LoadMalimg(dir, image.LoadOptions{})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrData, dir, err)
	}
	d := ml.Dataset{Classes: ds.Classes}
	for _, r := range ds.Records {
		small, err := image.Resize(r.Image, ImageSize, ImageSize)
		if err != nil {
			return nil, err
		}
		px := make([]float32, len(small.Pix))
		for i, p := range small.Pix {
			px[i] = float32(p) / 255
		}
		d.Inputs = append(d.Inputs, ml.Input{Pixels: px, Width: ImageSize, Height: ImageSize})
		d.Labels = append(d.Labels, r.Label)
		d.IDs = append(d.IDs, r.Path)
	}
	records := len(d.Inputs)
	d, rep, err := eval.Dedup(d, eval.DedupOptions{})
	if err != nil {
		return nil, err
	}
	return &loaded{task: "malimg", source: "Malimg-layout image folder (" + filepath.Base(dir) + ")", kind: kindImage,
		stage: "family", featureSet: fmt.Sprintf("byteimage-%d", ImageSize), inputKind: "image",
		images: d, records: records, dedup: rep, digest: digest}, nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func firstLine(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	r := bufio.NewReader(io.LimitReader(f, 1<<20))
	line, err := r.ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	return line, nil
}

// digestPath hashes a file, or a folder's files (relative names and
// contents, in sorted order), so a model records exactly what it saw.
func digestPath(path string) (string, error) {
	h := sha256.New()
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		if _, err := io.Copy(h, f); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	for _, p := range files {
		rel, _ := filepath.Rel(path, p)
		fmt.Fprintf(h, "%s\x00", rel)
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// TaskCorpusArgs is the corpus read as argument-aware feature vectors
// (featurizers/argfeat, the "trace-args" feature set) instead of call
// sequences.
const TaskCorpusArgs = "corpus-args"

func loadCorpusArgs(runs []corpus.Run, digest string) (*loaded, error) {
	b, err := argfeat.NewBuilder(data.MalwareClasses)
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		if err := b.Add(r.Trace, r.Label, r.ID, r.Group); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrData, err)
		}
	}
	vs, groups, err := b.VectorSet(argfeat.SetName, false)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrData, err)
	}
	vs.Dataset.Groups = groups
	return &loaded{task: TaskCorpusArgs, source: "ScaleMalNet corpus, argument-aware features (trace-args; benign vs malware; grouped by ATT&CK technique or program)",
		kind: kindVector, stage: "detection", featureSet: argfeat.SetName, inputKind: "dynamic", vs: vs,
		records: len(runs), dedup: vs.Dedup, digest: digest, idKeys: true}, nil
}
