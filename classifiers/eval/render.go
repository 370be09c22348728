package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteJSON writes the report as indented JSON.
func (r *CVReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// String formats a Stat as "mean ± std".
func (s Stat) String() string { return fmt.Sprintf("%.4f ± %.4f", s.Mean, s.Std) }

// WriteText writes a human summary: the headline figures, the per-fold
// lines, per-class figures and the pooled confusion matrix.
func (r *CVReport) WriteText(w io.Writer) error {
	var b strings.Builder
	name := r.Model
	if r.Dataset != "" {
		name += " on " + r.Dataset
	}
	kind := "stratified"
	if r.Groups > 0 {
		kind = fmt.Sprintf("stratified group (%d groups, each on one side of every split)", r.Groups)
	}
	fmt.Fprintf(&b, "%s: %d-fold %s CV, seed %d, %d examples, classes %s\n", name, r.K, kind, r.Seed, r.N, strings.Join(r.Classes, ", "))
	if r.Dedup != nil {
		fmt.Fprintf(&b, "  dedup: %s\n", r.Dedup)
	}
	if r.MaxTrain > 0 {
		fmt.Fprintf(&b, "  training folds subsampled to at most %d examples\n", r.MaxTrain)
	}
	fmt.Fprintf(&b, "  accuracy %s  macro-F1 %s", r.Summary.Accuracy, r.Summary.MacroF1)
	if r.Summary.AUC != nil {
		fmt.Fprintf(&b, "  AUC %s (%d folds)", r.Summary.AUC, r.Summary.AUC.N)
	}
	if r.Summary.FPR != nil {
		fmt.Fprintf(&b, "  FPR %s", r.Summary.FPR)
	}
	fmt.Fprintf(&b, "  (%.1fs)\n", r.Seconds)
	for _, f := range r.Folds {
		fmt.Fprintf(&b, "  fold %d: train %d test %d  acc %.4f  macro-F1 %.4f", f.Fold, f.NTrain, f.NTest, f.Metrics.Accuracy, f.Metrics.MacroF1)
		if f.Metrics.AUC != nil {
			fmt.Fprintf(&b, "  AUC %.4f", *f.Metrics.AUC)
		}
		fmt.Fprintf(&b, "  fit %.2fs predict %.2fs\n", f.TrainSeconds, f.TestSeconds)
	}
	fmt.Fprintf(&b, "  %-20s %8s %9s %9s %9s %9s\n", "class (pooled)", "support", "precision", "recall", "F1", "FPR")
	for _, c := range r.Pooled.PerClass {
		fmt.Fprintf(&b, "  %-20s %8d %9.4f %9.4f %9.4f %9.4f\n", c.Class, c.Support, c.Precision, c.Recall, c.F1, c.FPR)
	}
	b.WriteString("  confusion (rows true, columns predicted):\n")
	for i, row := range r.Pooled.Confusion {
		fmt.Fprintf(&b, "  %-20s", r.Classes[i])
		for _, c := range row {
			fmt.Fprintf(&b, " %6d", c)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
