// Command resultsmd renders the cross-validation reports written by
// scripts/results.sh (one JSON CVReport per model and dataset) as a
// markdown table for docs/results.md.
//
//	go run ./classifiers/cmd/resultsmd build/results
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/scalemalnet/scalemalnet/classifiers/eval"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: resultsmd DIR")
		os.Exit(2)
	}
	files, err := filepath.Glob(filepath.Join(os.Args[1], "*.json"))
	if err != nil || len(files) == 0 {
		fmt.Fprintf(os.Stderr, "resultsmd: no reports in %s\n", os.Args[1])
		os.Exit(1)
	}
	sort.Strings(files)
	fmt.Println("| model | dataset (task) | examples after dedup | accuracy | macro-F1 | ROC AUC | FPR | seconds |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var r eval.CVReport
		if err := json.Unmarshal(b, &r); err != nil {
			fmt.Fprintf(os.Stderr, "resultsmd: %s: %v\n", f, err)
			os.Exit(1)
		}
		task := strings.SplitN(strings.TrimSuffix(filepath.Base(f), ".json"), "--", 2)[1]
		fmt.Printf("| %s | %s (%s) | %d | %s | %s | %s | %s | %.0f |\n", r.Model, r.Dataset, task, r.N,
			stat(r.Summary.Accuracy), stat(r.Summary.MacroF1), statp(r.Summary.AUC), statp(r.Summary.FPR), r.Seconds)
	}
}

func stat(s eval.Stat) string { return fmt.Sprintf("%.4f ± %.4f", s.Mean, s.Std) }

func statp(s *eval.Stat) string {
	if s == nil || s.N == 0 {
		return "–"
	}
	return stat(*s)
}
