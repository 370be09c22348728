package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/classifiers/corpus"
	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
	"github.com/scalemalnet/scalemalnet/featurizers/signatures"
	"github.com/scalemalnet/scalemalnet/orchestrator/verdict"
	"github.com/scalemalnet/scalemalnet/plugins/builtin"
)

// "train fusion" and "eval fusion": subcommands of train and eval that read
// the out-of-fold predictions `train --oof FILE` writes.

const (
	trainFusionUsage = "train fusion --oof FILE [--oof FILE]... [--method soft-vote|stacking|auc-vote|mean] [--calibration platt|isotonic|none] [--rule f1|fpr|youden|fixed] [--target-fpr 0.01] [--threshold T] [--out fusion.json] [--json]"
	evalFusionUsage  = "eval fusion --data FILE [--data FILE]... [--folds 5] [--seed 1] [--methods m1,m2] [--calibration platt] [--rule f1|fpr|youden|fixed] [--target-fpr 0.01] [--threshold T] [--corpus DIR [--decisive critical|high|medium] [--rules DIR]] [--json|--markdown]"
)

// subFlags returns a flag set for a subcommand with its own usage text.
func subFlags(e *Env, name, summary, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("scalemalnet "+name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nUsage:\n  scalemalnet %s\n\nFlags:\n", summary, usage)
		fs.PrintDefaults()
	}
	return fs
}

// fusionFlags are the fit options both subcommands take.
type fusionFlags struct {
	calibration, rule    string
	targetFPR, threshold float64
}

func (f *fusionFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.calibration, "calibration", fusion.CalibrationPlatt, "per-classifier calibration: platt, isotonic or none")
	fs.StringVar(&f.rule, "rule", fusion.RuleF1, "stage-1 threshold rule: f1 (max F1), fpr (most sensitive with validation FPR <= --target-fpr), youden (max TPR-FPR) or fixed (--threshold)")
	fs.Float64Var(&f.targetFPR, "target-fpr", 0.01, "rule fpr: the validation false-positive budget")
	fs.Float64Var(&f.threshold, "threshold", 0.5, "rule fixed: the threshold on the fused probability")
}

// options checks the names and returns the fit options.
func (f *fusionFlags) options(e *Env) (fusion.Options, bool) {
	if !slices.Contains([]string{fusion.CalibrationPlatt, fusion.CalibrationIsotonic, fusion.CalibrationNone}, f.calibration) {
		fmt.Fprintf(e.Stderr, "scalemalnet: --calibration %q: want platt, isotonic or none\n", f.calibration)
		return fusion.Options{}, false
	}
	if !slices.Contains([]string{fusion.RuleF1, fusion.RuleFPR, fusion.RuleYouden, fusion.RuleFixed}, f.rule) {
		fmt.Fprintf(e.Stderr, "scalemalnet: --rule %q: want f1, fpr, youden or fixed\n", f.rule)
		return fusion.Options{}, false
	}
	if f.rule == fusion.RuleFPR && !(f.targetFPR >= 0 && f.targetFPR <= 1) {
		fmt.Fprintf(e.Stderr, "scalemalnet: --target-fpr %v: want a rate in [0,1]\n", f.targetFPR)
		return fusion.Options{}, false
	}
	th := fusion.ThresholdOptions{Rule: f.rule}
	switch f.rule {
	case fusion.RuleFPR:
		th.TargetFPR = f.targetFPR
	case fusion.RuleFixed:
		th.Fixed = f.threshold
	}
	return fusion.Options{Calibration: f.calibration, Threshold: th}, true
}

// loadOOF reads and joins out-of-fold files.
func loadOOF(paths []string) ([]fusion.Record, fusion.JoinReport, error) {
	recs, _, rep, err := loadOOFFamilies(paths)
	return recs, rep, err
}

// loadOOFFamilies is loadOOF that also returns the records with family
// votes only (fusion.JoinOOFFamilies).
func loadOOFFamilies(paths []string) ([]fusion.Record, []fusion.Record, fusion.JoinReport, error) {
	var lines []fusion.OOFLine
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, nil, fusion.JoinReport{}, err
		}
		l, err := fusion.ReadOOF(f, p)
		f.Close()
		if err != nil {
			return nil, nil, fusion.JoinReport{}, err
		}
		lines = append(lines, l...)
	}
	return fusion.JoinOOFFamilies(lines)
}

// writeJoin summarises a join: records, and per classifier how many of its
// predictions met another classifier's on the same example.
func writeJoin(w io.Writer, paths []string, r fusion.JoinReport) {
	fmt.Fprintf(w, "joined %d files: %d predictions, %d examples, %d records with a detection vote (%d malicious)",
		len(paths), r.Lines, r.Keys, r.Records, r.Malicious)
	if r.NoDetection > 0 {
		fmt.Fprintf(w, "; %d examples with family votes only (they weigh the family classifiers only)", r.NoDetection)
	}
	fmt.Fprintln(w)
	var by []string
	for n := 1; len(by) < len(r.ByVotes); n++ {
		if c, ok := r.ByVotes[n]; ok {
			by = append(by, fmt.Sprintf("%d with %d", c, n))
		}
	}
	fmt.Fprintf(w, "  records by detection votes: %s\n", strings.Join(by, ", "))
	for _, c := range r.Classifiers {
		fmt.Fprintf(w, "  %-32s %-9s %6d predictions, %6d joined another classifier (%.1f%%)\n",
			c.Name, c.Stage, c.Lines, c.Joined, 100*float64(c.Joined)/float64(max(c.Lines, 1)))
	}
}

func runTrainFusion(_ context.Context, e *Env, args []string) int {
	fs := subFlags(e, "train fusion", "fit a fusion model on the out-of-fold predictions of trained models", trainFusionUsage)
	var oof stringList
	fs.Var(&oof, "oof", "out-of-fold predictions of one model (`train --oof`); repeat for each model")
	method := fs.String("method", fusion.MethodSoftVote, "fusion method: "+strings.Join(fusion.Methods, ", "))
	var ff fusionFlags
	ff.register(fs)
	out := fs.String("out", "fusion.json", "fusion model to write")
	asJSON := fs.Bool("json", false, "print the model as JSON")
	if _, code, ok := parse(fs, args, 0); !ok {
		return code
	}
	if len(oof) == 0 {
		fmt.Fprintln(e.Stderr, "usage: scalemalnet "+trainFusionUsage)
		return ExitUsage
	}
	opt, ok := ff.options(e)
	if !ok {
		return ExitUsage
	}
	if !slices.Contains(fusion.Methods, *method) {
		fmt.Fprintf(e.Stderr, "scalemalnet: --method %q: want one of %s\n", *method, strings.Join(fusion.Methods, ", "))
		return ExitUsage
	}
	opt.Method = *method
	recs, famOnly, jr, err := loadOOFFamilies(oof)
	if err != nil {
		return fail(e, err)
	}
	writeJoin(e.Stderr, oof, jr)
	m, err := fusion.Fit(recs, opt)
	if err != nil {
		return fail(e, err)
	}
	if err := m.AddFamilyRecords(famOnly); err != nil {
		return fail(e, err)
	}
	if dir := filepath.Dir(*out); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fail(e, err)
		}
	}
	tmp := *out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fail(e, err)
	}
	err = m.Save(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, *out)
	}
	if err != nil {
		os.Remove(tmp)
		return fail(e, err)
	}
	if *asJSON {
		if err := m.Save(e.Stdout); err != nil {
			return fail(e, err)
		}
	} else {
		writeFusionModel(e.Stdout, m)
	}
	fmt.Fprintf(e.Stderr, "wrote %s (%s, %d detection and %d family classifiers, fitted on %d records)\n",
		*out, m.Method, len(m.Detectors), len(m.Families), m.NRecords)
	return ExitOK
}

func writeFusionModel(w io.Writer, m *fusion.Model) {
	fmt.Fprintf(w, "fusion %s, %s calibration, fitted on %d out-of-fold records (%d malicious)", m.Method, m.Calibration, m.NRecords, m.NMalicious)
	if m.NFamilyRecords > 0 {
		fmt.Fprintf(w, "; family classifiers also weighed on %d records with family votes only", m.NFamilyRecords)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  %-28s %7s %8s %8s %9s  %s\n", "detection classifier", "votes", "AUC", "weight", "coef", "calibrator")
	for _, d := range m.Detectors {
		coef := "-"
		if m.Method == fusion.MethodStacking {
			coef = fmt.Sprintf("%.3f", d.Coef)
		}
		cal := d.Calibrator.Kind
		if d.Calibrator.Kind == fusion.CalibrationPlatt {
			cal = fmt.Sprintf("platt a=%.3f b=%.3f", d.Calibrator.A, d.Calibrator.B)
		}
		if d.Note != "" {
			cal += " (" + d.Note + ")"
		}
		fmt.Fprintf(w, "  %-28s %7d %8.4f %8.4f %9s  %s\n", d.Name, d.Votes, d.AUC, d.Weight, coef, cal)
	}
	for _, f := range m.Families {
		fmt.Fprintf(w, "  family classifier %-22s weight %.4f (%d of %d validation families right)\n", f.Name, f.Weight, f.Hits, f.Votes)
	}
	t := m.Threshold
	rule := t.Rule
	if t.Rule == fusion.RuleFPR {
		rule = fmt.Sprintf("fpr <= %g", t.TargetFPR)
	}
	fmt.Fprintf(w, "  threshold %.6f (rule %s): in-sample validation FPR %.4f, TPR %.4f, precision %.4f, F1 %.4f\n",
		t.Value, rule, t.FPR, t.TPR, t.Precision, t.F1)
}

func runEvalFusion(ctx context.Context, e *Env, args []string) int {
	fs := subFlags(e, "eval fusion", "measure each classifier and each fusion method on the same out-of-fold records", evalFusionUsage)
	var dataFiles stringList
	fs.Var(&dataFiles, "data", "out-of-fold predictions of one model (`train --oof`); repeat for each model")
	folds := fs.Int("folds", 5, "stratified folds over the records")
	seed := fs.Int64("seed", 1, "fold seed")
	methods := fs.String("methods", strings.Join(fusion.Methods, ","), "comma-separated fusion methods")
	var ff fusionFlags
	ff.register(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	asMarkdown := fs.Bool("markdown", false, "print the table as Markdown")
	corpusDir := fs.String("corpus", "", "corpus folder the predictions are of: folds keep each ATT&CK technique's and each program's runs together, and a table per technique and program follows")
	decisive := fs.String("decisive", "", "with --corpus: also measure each method with the decisive-signature rule the orchestrator applies (a match of this severity or above makes a run malware): critical, high or medium")
	rulesDir := fs.String("rules", "", "with --decisive: signature rules directory (default: the shipped rules)")
	if _, code, ok := parse(fs, args, 0); !ok {
		return code
	}
	decisiveSev := 0
	if *decisive != "" {
		sev, ok := verdict.ParseDecisive(*decisive)
		if !ok || sev <= 0 || *corpusDir == "" {
			fmt.Fprintf(e.Stderr, "scalemalnet: --decisive %q: want critical, high or medium, with --corpus\n", *decisive)
			return ExitUsage
		}
		decisiveSev = sev
	}
	if len(dataFiles) == 0 {
		fmt.Fprintln(e.Stderr, "usage: scalemalnet "+evalFusionUsage)
		return ExitUsage
	}
	opt, ok := ff.options(e)
	if !ok {
		return ExitUsage
	}
	var ms []string
	for _, m := range strings.Split(*methods, ",") {
		if m = strings.TrimSpace(m); m == "" {
			continue
		}
		if !slices.Contains(fusion.Methods, m) {
			fmt.Fprintf(e.Stderr, "scalemalnet: --methods: %q is not one of %s\n", m, strings.Join(fusion.Methods, ", "))
			return ExitUsage
		}
		ms = append(ms, m)
	}
	if *folds < 2 {
		fmt.Fprintf(e.Stderr, "scalemalnet: --folds %d: want at least 2\n", *folds)
		return ExitUsage
	}
	recs, jr, err := loadOOF(dataFiles)
	if err != nil {
		return fail(e, err)
	}
	if !*asJSON && !*asMarkdown {
		writeJoin(e.Stdout, dataFiles, jr)
	}
	eo := fusion.EvalOptions{K: *folds, Seed: *seed, Methods: ms, Options: opt}
	var ents []corpus.Entry
	if *corpusDir != "" {
		if ents, err = corpus.ReadIndex(*corpusDir); err != nil {
			return fail(e, err)
		}
		eo.Group = corpus.GroupOf(ents)
	}
	if decisiveSev > 0 {
		set, _, err := builtin.LoadSignatures(*rulesDir)
		if err != nil {
			return fail(e, err)
		}
		ev, err := set.Evaluate(ctx, *corpusDir)
		if err != nil {
			return fail(e, err)
		}
		flagged := map[string]bool{}
		for _, it := range ev.Items {
			if it.MaxSeverity >= decisiveSev {
				flagged[it.ID] = true
			}
		}
		eo.Decisive = func(id string) bool { return flagged[id] }
		if !*asJSON && !*asMarkdown {
			fmt.Fprintf(e.Stdout, "decisive signatures (severity >= %d): %d runs (%d malware, %d benign) of %d\n",
				decisiveSev, len(flagged), countLabel(ev.Items, flagged, "malware"), countLabel(ev.Items, flagged, "benign"), len(ev.Items))
		}
	}
	start := time.Now()
	rep, err := fusion.Evaluate(recs, eo)
	if err != nil {
		if errors.Is(err, fusion.ErrOptions) {
			fmt.Fprintf(e.Stderr, "scalemalnet: %v\n", err)
			return ExitUsage
		}
		return fail(e, err)
	}
	if *asJSON {
		return printJSON(e, map[string]any{"data": []string(dataFiles), "join": jr, "options": opt, "report": rep})
	}
	if *asMarkdown {
		writeFusionMarkdown(e.Stdout, rep)
		if ents != nil {
			fmt.Fprintln(e.Stdout)
			corpus.WriteBreakdown(e.Stdout, corpus.Breakdown(ents, rep.Entries), rep.Entries)
		}
		return ExitOK
	}
	writeFusionEval(e.Stdout, rep, opt, time.Since(start), ents != nil)
	if ents != nil {
		fmt.Fprintln(e.Stdout)
		corpus.WriteBreakdown(e.Stdout, corpus.Breakdown(ents, rep.Entries), rep.Entries)
	}
	return ExitOK
}

// writeFusionMarkdown writes the evaluation as a Markdown table.
func writeFusionMarkdown(w io.Writer, r fusion.EvalReport) {
	fmt.Fprintln(w, "| classifier / method | accuracy | precision | recall | F1 | FPR | AUC | coverage |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, en := range r.Entries {
		name := en.Name
		if en.Kind == fusion.KindFusion {
			name = "**fusion: " + en.Name + "**"
		}
		auc := "–"
		if en.AUC.N > 0 {
			auc = en.AUC.String()
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %.3f |\n", name, en.Accuracy, en.Precision, en.Recall, en.F1, en.FPR, auc, en.Pooled.Coverage)
	}
}

func writeFusionEval(w io.Writer, r fusion.EvalReport, opt fusion.Options, took time.Duration, grouped bool) {
	rule := opt.Threshold.Rule
	switch rule {
	case fusion.RuleFPR:
		rule = fmt.Sprintf("fpr <= %g", opt.Threshold.TargetFPR)
	case fusion.RuleFixed:
		rule = fmt.Sprintf("fixed %g", opt.Threshold.Fixed)
	}
	kind := "stratified"
	if grouped {
		kind = "stratified group (each technique's and program's runs in one fold)"
	}
	fmt.Fprintf(w, "%d-fold %s over %d records (%d malicious), seed %d; %s calibration, threshold rule %s, fitted on the other folds (%.1fs)\n",
		r.K, kind, r.N, r.NMalicious, r.Seed, opt.Calibration, rule, took.Seconds())
	fmt.Fprintf(w, "%-32s %-10s %-17s %-17s %-17s %-17s %-17s %-17s %8s\n",
		"classifier / method", "kind", "accuracy", "precision", "recall", "F1", "FPR", "AUC", "coverage")
	for _, en := range r.Entries {
		auc := "-"
		if en.AUC.N > 0 {
			auc = en.AUC.String()
		}
		fmt.Fprintf(w, "%-32s %-10s %-17s %-17s %-17s %-17s %-17s %-17s %8.4f\n", en.Name, en.Kind,
			en.Accuracy, en.Precision, en.Recall, en.F1, en.FPR, auc, en.Pooled.Coverage)
		for _, s := range en.Folds {
			if s.Note != "" {
				fmt.Fprintf(w, "  a fold not scored: %s\n", s.Note)
			}
		}
	}
	fmt.Fprintln(w, "(mean ± sample std over folds at the threshold chosen on the other folds; a classifier alone predicts benign where it did not vote; coverage is the share of records it voted on)")
}

// countLabel counts the flagged items of one label.
func countLabel(items []signatures.ItemResult, flagged map[string]bool, label string) int {
	n := 0
	for _, it := range items {
		if flagged[it.ID] && it.Label == label {
			n++
		}
	}
	return n
}
