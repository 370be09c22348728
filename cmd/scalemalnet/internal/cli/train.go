package cli

import (
	"context"
	"fmt"
	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/scalemalnet/scalemalnet/classifiers/eval"
	"github.com/scalemalnet/scalemalnet/classifiers/modelfile"
	"github.com/scalemalnet/scalemalnet/classifiers/train"
)

func runTrain(ctx context.Context, e *Env, args []string) int {
	if len(args) > 0 && args[0] == "fusion" {
		return runTrainFusion(ctx, e, args[1:])
	}
	fs := newFlags(e, "train")
	model := fs.String("model", "", "model type: "+strings.Join(train.Models(), ", "))
	dataPath := fs.String("data", "", "dataset in its shared/datasets format: ClaMP or MalBehavD CSV, fhids.tar.xz, Mal-API-2019 or ADFA-LD folder, Malimg-layout image folder")
	task := fs.String("task", "", "task where a dataset has several: fhids|fhids-kind, adfa|adfa-kind (default: the detection task)")
	out := fs.String("out", "", "model file to write (default TASK-MODEL.smnmodel)")
	oofPath := fs.String("oof", "", "also write the cross-validation's out-of-fold predictions (JSON lines, for train/eval fusion) to this file")
	name := fs.String("name", "", "classifier name recorded in the model (default TASK-MODEL)")
	seed := fs.Int64("seed", 1, "seed: the same command and seed give the same model file")
	folds := fs.Int("folds", 5, "stratified cross-validation folds (0: none)")
	seqLen := fs.Int("seq-len", 0, "sequence models: calls per example (default per model)")
	epochs := fs.Int("epochs", 0, "deep models: most training epochs (default 30, with early stopping)")
	quick := fs.Bool("quick", false, "few epochs (smoke runs)")
	asJSON := fs.Bool("json", false, "print the cross-validation report as JSON")
	if _, code, ok := parse(fs, args, 0); !ok {
		return code
	}
	if *model == "" || *dataPath == "" {
		fmt.Fprintln(e.Stderr, "usage: scalemalnet train --model NAME --data PATH [--out MODEL]")
		return ExitUsage
	}
	f := *folds
	if f == 0 {
		f = -1
	}
	if *oofPath != "" && f < 0 {
		fmt.Fprintln(e.Stderr, "scalemalnet: --oof needs cross-validation (--folds >= 2)")
		return ExitUsage
	}
	cmd := "scalemalnet train " + strings.Join(args, " ")
	res, err := train.Train(ctx, train.Spec{Model: *model, Data: *dataPath, Task: *task, Name: *name, Seed: *seed, Folds: f,
		Options: train.Options{SeqLen: *seqLen, Epochs: *epochs, Quick: *quick}, Command: cmd,
		Log: slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		return fail(e, err)
	}
	if *out == "" {
		*out = res.Header.Name + ".smnmodel"
	}
	if dir := filepath.Dir(*out); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fail(e, err)
		}
	}
	if err := modelfile.WriteFile(*out, res.Header, res.Weights); err != nil {
		return fail(e, err)
	}
	// Pinned in the directory's manifest: the orchestrator serves only
	// pinned model files (modelfile.LoadDir).
	if strings.HasSuffix(*out, ".smnmodel") {
		if err := modelfile.Pin(*out); err != nil {
			return fail(e, err)
		}
	}
	if *oofPath != "" {
		if err := writeOOFFile(*oofPath, res); err != nil {
			return fail(e, err)
		}
		fmt.Fprintf(e.Stderr, "wrote %s (%d out-of-fold predictions)\n", *oofPath, len(res.OOF))
	}
	if *asJSON && res.CV != nil {
		res.CV.WriteJSON(e.Stdout)
	} else if res.CV != nil {
		res.CV.WriteText(e.Stdout)
	}
	fmt.Fprintf(e.Stderr, "wrote %s (%s, %s stage, %d examples after deduplication, classes %v)\n",
		*out, res.Header.Name, res.Header.Stage, res.Header.Data.Examples, res.Header.Classes)
	return ExitOK
}

func runEval(ctx context.Context, e *Env, args []string) int {
	if len(args) > 0 && args[0] == "fusion" {
		return runEvalFusion(ctx, e, args[1:])
	}
	fs := newFlags(e, "eval")
	model := fs.String("model", "", "model file")
	dataPath := fs.String("data", "", "dataset in the format the model was trained on")
	asJSON := fs.Bool("json", false, "print the metrics as JSON")
	predPath := fs.String("predictions", "", "also write each example's prediction as an out-of-fold line (fold -1: the model never saw this data) for train/eval fusion")
	if _, code, ok := parse(fs, args, 0); !ok {
		return code
	}
	if *model == "" || *dataPath == "" {
		fmt.Fprintln(e.Stderr, "usage: scalemalnet eval --model MODEL --data PATH [--predictions FILE] [--json]")
		return ExitUsage
	}
	m, h, lines, err := train.Predictions(ctx, *model, *dataPath)
	if err != nil {
		return fail(e, err)
	}
	if *predPath != "" {
		if err := writeLines(*predPath, lines); err != nil {
			return fail(e, err)
		}
		fmt.Fprintf(e.Stderr, "wrote %s (%d predictions)\n", *predPath, len(lines))
	}
	if *asJSON {
		return printJSON(e, map[string]any{"model": h.Name, "task": h.Task, "data": *dataPath, "metrics": m})
	}
	writeMetrics(e.Stdout, h, m)
	return ExitOK
}

func writeMetrics(w io.Writer, h *modelfile.Header, m eval.Metrics) {
	fmt.Fprintf(w, "model      %s (%s, %s, trained on %s)\n", h.Name, h.Model, h.Stage, h.Data.Source)
	fmt.Fprintf(w, "examples   %d\naccuracy   %.4f\nmacro-F1   %.4f\n", m.N, m.Accuracy, m.MacroF1)
	if m.AUC != nil {
		fmt.Fprintf(w, "ROC AUC    %.4f\n", *m.AUC)
	}
	if m.FPR != nil {
		fmt.Fprintf(w, "FPR        %.4f\n", *m.FPR)
	}
	fmt.Fprintf(w, "\n%-20s %9s %9s %9s %7s\n", "class", "precision", "recall", "F1", "support")
	for _, c := range m.PerClass {
		fmt.Fprintf(w, "%-20s %9.4f %9.4f %9.4f %7d\n", c.Class, c.Precision, c.Recall, c.F1, c.Support)
	}
	fmt.Fprintf(w, "\nconfusion (rows: true, columns: predicted)\n%-20s", "")
	for _, c := range h.Classes {
		fmt.Fprintf(w, " %10.10s", c)
	}
	fmt.Fprintln(w)
	for i, row := range m.Confusion {
		fmt.Fprintf(w, "%-20.20s", h.Classes[i])
		for _, n := range row {
			fmt.Fprintf(w, " %10d", n)
		}
		fmt.Fprintln(w)
	}
}

// writeOOFFile writes a training result's out-of-fold predictions to path.
func writeOOFFile(path string, res *train.Result) error {
	if len(res.OOF) == 0 {
		return res.WriteOOF(io.Discard) // its error says why there are none
	}
	return writeLines(path, res.OOF)
}

// writeLines writes fusion lines (train --oof, eval --predictions,
// signatures eval --predictions) to path through a temporary file, so a
// failed run leaves no partial file.
func writeLines(path string, lines []fusion.OOFLine) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	err = fusion.WriteOOF(f, lines)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("predictions: %w", err)
	}
	return nil
}
