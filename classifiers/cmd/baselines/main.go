// Command baselines cross-validates every classical model on the public
// datasets and writes the results table (Markdown) to --out, with the full
// per-fold reports as JSON next to it (--json). The figures are
// reproducible: 5-fold stratified CV, seeded, on deduplicated data.
//
//	go run ./classifiers/cmd/baselines --out /tmp/results.md
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/classifiers/classical"
	"github.com/scalemalnet/scalemalnet/classifiers/data"
	"github.com/scalemalnet/scalemalnet/classifiers/eval"
	"github.com/scalemalnet/scalemalnet/classifiers/ml"
	"github.com/scalemalnet/scalemalnet/featurizers/datasets"
)

// model is one baseline with its CV settings.
type model struct {
	name     string
	factory  ml.Factory
	maxTrain int // training-fold subsample for slow models (0: all)
}

// dataset is one benchmark: a loaded dataset and how folds are featurized.
type dataset struct {
	name    string
	d       ml.Dataset
	prepare eval.Prepare
	dedup   eval.DedupReport
	note    string
}

func main() {
	out := flag.String("out", "", "write the Markdown table here (required)")
	jsonOut := flag.String("json", "", "write all CV reports as JSON here (default: --out with .json)")
	only := flag.String("datasets", "clamp-raw,clamp-integrated,malbehavd,malapi,fhids,adfa", "comma-separated datasets")
	models := flag.String("models", "logreg,nb,knn,tree,forest,svm", "comma-separated models")
	k := flag.Int("k", 5, "folds")
	seed := flag.Int64("seed", 1, "seed")
	flag.Parse()
	if *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if *jsonOut == "" {
		*jsonOut = strings.TrimSuffix(*out, filepath.Ext(*out)) + ".json"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *out, *jsonOut, split(*only), split(*models), *k, *seed); err != nil {
		log.Fatal(err)
	}
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// allModels are the baselines, in table order.
func allModels() []model {
	return []model{
		{"logreg", classical.NewLogReg, 0},
		{"nb", classical.NewGaussianNB, 0},
		{"knn", classical.NewKNN(5), 0},
		{"tree", classical.NewDecisionTree(0, 1), 0},
		{"forest", classical.NewRandomForest(100), 0},
		{"svm", classical.NewLinearSVM, 0},
	}
}

// ngrams is the sequence featurization: unigram and bigram counts, the
// 1,000 most frequent of each length in the training fold, log(1+count).
var ngrams = data.NGramOptions{Ns: []int{1, 2}, MaxFeatures: 1000, Log: true}

func load(dir, name string) (dataset, error) {
	switch name {
	case "clamp-raw", "clamp-integrated":
		file := data.ClaMPRawFile
		if name == "clamp-integrated" {
			file = data.ClaMPIntegratedFile
		}
		vs, err := data.LoadClaMP(filepath.Join(dir, data.ClaMPDir, file), data.ClaMPOptions{DropConstant: true})
		if err != nil {
			return dataset{}, err
		}
		return dataset{name: name, d: vs.Dataset, dedup: vs.Dedup,
			note: fmt.Sprintf("%d columns (%d constant dropped)", len(vs.Columns), len(vs.Dropped))}, nil
	}
	tasks := map[string]data.Task{"malbehavd": data.MalBehavD, "malapi": data.MalAPI, "fhids": data.FHIDS, "adfa": data.ADFA,
		"fhids-kind": data.FHIDSKind, "adfa-kind": data.ADFAKind}
	task, ok := tasks[name]
	if !ok {
		return dataset{}, fmt.Errorf("unknown dataset %q", name)
	}
	s, err := data.LoadTask(dir, task, datasets.Limits{})
	if err != nil {
		return dataset{}, err
	}
	note := fmt.Sprintf("%d call names; 1+2-grams, top %d each per training fold, log(1+count)", len(s.Names), ngrams.MaxFeatures)
	if s.Truncated > 0 {
		note += fmt.Sprintf("; %d sequences truncated to %d calls", s.Truncated, datasets.DefaultMaxCalls)
	}
	return dataset{name: name, d: s.Dataset, dedup: s.Dedup, prepare: data.CachePrepare(s.NGramPrepare(ngrams)), note: note}, nil
}

func run(ctx context.Context, out, jsonOut string, names, modelNames []string, k int, seed int64) error {
	dir, err := datasets.Dir()
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, m := range modelNames {
		want[m] = true
	}
	var reports []eval.CVReport
	var sets []dataset
	start := time.Now()
	for _, name := range names {
		t0 := time.Now()
		ds, err := load(dir, name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		sets = append(sets, ds)
		log.Printf("%s: %s, classes %v (loaded in %.1fs)", name, ds.dedup, data.ClassCounts(ds.d), time.Since(t0).Seconds())
		for _, m := range allModels() {
			if !want[m.name] {
				continue
			}
			rep, err := eval.Run(ctx, m.factory, ds.d, eval.Options{K: k, Seed: seed, NoDedup: true, Prepare: ds.prepare, MaxTrain: m.maxTrain, Workers: 2})
			if err != nil {
				return fmt.Errorf("%s %s: %w", name, m.name, err)
			}
			rep.Dataset, rep.Dedup = name, &ds.dedup
			reports = append(reports, rep)
			line := fmt.Sprintf("%-16s %-20s acc %s  macro-F1 %s", name, rep.Model, rep.Summary.Accuracy, rep.Summary.MacroF1)
			if rep.Summary.AUC != nil {
				line += "  AUC " + rep.Summary.AUC.String()
			}
			log.Printf("%s  (%.1fs)", line, rep.Seconds)
		}
	}
	total := time.Since(start)
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	writeTable(f, sets, reports, k, seed, total)
	if err := f.Close(); err != nil {
		return err
	}
	js, err := json.MarshalIndent(reports, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(jsonOut, append(js, '\n'), 0o644)
}

// writeTable writes the Markdown results table.
func writeTable(w io.Writer, sets []dataset, reports []eval.CVReport, k int, seed int64, total time.Duration) {
	fmt.Fprintf(w, "%d-fold stratified CV, seed %d, deduplicated (conflicting inputs removed); mean ± sample std over folds. Total %.0fs.\n\n", k, seed, total.Seconds())
	fmt.Fprintln(w, "| dataset | n after dedup (removed) | classes | features |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, s := range sets {
		fmt.Fprintf(w, "| %s | %d (%d dup, %d conflicting) | %s | %s |\n", s.name, s.dedup.After, s.dedup.Duplicates, s.dedup.ConflictRemoved, counts(s.d), s.note)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| dataset | model | accuracy | macro-F1 | ROC AUC | FPR | seconds |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range reports {
		auc, fpr := "–", "–"
		if r.Summary.AUC != nil {
			auc = r.Summary.AUC.String()
		}
		if r.Summary.FPR != nil {
			fpr = r.Summary.FPR.String()
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %.1f |\n", r.Dataset, r.Model, r.Summary.Accuracy, r.Summary.MacroF1, auc, fpr, r.Seconds)
	}
}

func counts(d ml.Dataset) string {
	c := data.ClassCounts(d)
	var parts []string
	for _, name := range d.Classes {
		parts = append(parts, fmt.Sprintf("%s %d", name, c[name]))
	}
	return strings.Join(parts, ", ")
}
