// Command votetable runs every built-in featurizer and every model of a
// model directory on samples (their bytes, and the trace of their run when
// given), fuses the votes with the fusion model, and prints one Markdown
// row per sample: each classifier's vote (P(malware) for detection models,
// the top family for family models, "–" when it abstained) and the fused
// verdict. It is the in-process counterpart of what the orchestrator's
// featurize, classify and fuse steps do for one job, for measuring the
// hybrid claim (static, dynamic and image models voting on the same
// sample) on many runs at once:
//
//	go run ./classifiers/cmd/votetable --models build/models SAMPLE[=TRACE.jsonl[.gz]]...
//
// A trace is the artifact `scalemalnet trace ID` writes (gzip or plain
// JSON lines). --reasons adds, under the table, every abstention's reason
// and every vote's explanation.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/builtin"
)

func main() {
	models := flag.String("models", "build/models", "directory of *.smnmodel files and fusion.json")
	fusionPath := flag.String("fusion", "", "fusion model (default MODELS/fusion.json; \"none\" for no verdict)")
	reasons := flag.Bool("reasons", false, "list abstention reasons and vote explanations under the table")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: votetable [--models DIR] [--fusion FILE] [--reasons] SAMPLE[=TRACE]...")
		os.Exit(2)
	}
	if err := run(os.Stdout, *models, *fusionPath, *reasons, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "votetable:", err)
		os.Exit(1)
	}
}

type classifier struct {
	name string
	info plugins.Info
	c    *builtin.ModelClassifier
}

func run(w io.Writer, dir, fusionPath string, reasons bool, args []string) error {
	ctx := context.Background()
	paths, err := filepath.Glob(filepath.Join(dir, "*.smnmodel"))
	if err != nil {
		return err
	}
	sort.Strings(paths)
	var cls []classifier
	for _, p := range paths {
		c, err := builtin.NewModelClassifier(p)
		if err != nil {
			return err
		}
		info, err := c.Info(ctx)
		if err != nil {
			return err
		}
		cls = append(cls, classifier{info.Name, info, c})
	}
	var fm *fusion.Model
	if fusionPath == "" {
		fusionPath = filepath.Join(dir, "fusion.json")
	}
	if fusionPath != "none" {
		f, err := os.Open(fusionPath)
		if err != nil {
			return err
		}
		fm, err = fusion.Load(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	var fzs []plugins.Featurizer
	for _, n := range builtin.FeaturizerNames() {
		if f, err := builtin.Featurizer(n); err == nil {
			fzs = append(fzs, f)
		}
	}
	fmt.Fprintf(w, "| sample |")
	for _, c := range cls {
		fmt.Fprintf(w, " %s (%s) |", c.name, c.info.Stage)
	}
	fmt.Fprintf(w, " fused |\n|---|")
	for range cls {
		fmt.Fprintf(w, "---|")
	}
	fmt.Fprintf(w, "---|\n")
	var notes []string
	for _, arg := range args {
		samplePath, tracePath, _ := strings.Cut(arg, "=")
		content, err := os.ReadFile(samplePath)
		if err != nil {
			return err
		}
		in := plugins.FeaturizeInput{Sample: plugins.Sample{Name: filepath.Base(samplePath), Size: int64(len(content))}, Content: content}
		if tracePath != "" {
			if in.TraceGz, err = readGz(tracePath); err != nil {
				return err
			}
		}
		sets := map[string]*features.Set{}
		for _, f := range fzs {
			info, err := f.Info(ctx)
			if err != nil {
				return err
			}
			if info.Needs(plugins.InputDynamic) && in.TraceGz == nil {
				continue
			}
			out, err := f.Featurize(ctx, in)
			if err != nil {
				continue // not applicable or failed: the classifiers that need it abstain
			}
			for _, s := range out {
				sets[s.Name] = s
			}
		}
		name := filepath.Base(samplePath)
		fmt.Fprintf(w, "| %s |", name)
		var votes []fusion.Vote
		for _, c := range cls {
			fv := fusion.Vote{Classifier: c.name, Stage: string(c.info.Stage)}
			var in []*features.Set
			for _, n := range c.info.Consumes {
				if s := sets[n]; s != nil {
					in = append(in, s)
				}
			}
			var v plugins.Vote
			if len(in) < len(c.info.Consumes) {
				fv.Abstained, fv.Reason = true, "input "+strings.Join(c.info.Consumes, ",")+" does not apply"
				fmt.Fprintf(w, " – |")
				votes = append(votes, fv)
				continue
			}
			v, err = c.c.Classify(ctx, plugins.Sample{Name: name}, in)
			switch {
			case err != nil:
				fv.Error = err.Error()
				fmt.Fprintf(w, " failed |")
			case v.Abstained:
				fv.Abstained, fv.Reason = true, v.Reason
				fmt.Fprintf(w, " – |")
			default:
				for _, s := range v.Scores {
					fv.Scores = append(fv.Scores, fusion.ClassScore{Class: s.Class, Score: s.Score})
				}
				fv.Label = v.Label
				if c.info.Stage == plugins.StageDetection {
					p, _ := fusion.DetectionProbability(fv.Scores)
					fmt.Fprintf(w, " %.3f |", p)
				} else {
					top := 0.0
					for _, s := range v.Scores {
						top = max(top, s.Score)
					}
					fmt.Fprintf(w, " %s %.2f |", v.Label, top)
				}
			}
			if reasons && (fv.Reason != "" || v.Explanation != "" || fv.Error != "") {
				notes = append(notes, fmt.Sprintf("- %s, %s: %s%s%s", name, c.name, fv.Reason, v.Explanation, fv.Error))
			}
			votes = append(votes, fv)
		}
		if fm == nil {
			fmt.Fprintf(w, " – |\n")
			continue
		}
		vd, err := fm.Predict(votes)
		if err != nil {
			fmt.Fprintf(w, " unknown (%v) |\n", err)
			continue
		}
		fam := ""
		if vd.Family != "" {
			fam = fmt.Sprintf(", %s %.2f", vd.Family, vd.FamilyScore)
		}
		fmt.Fprintf(w, " **%s** %.3f%s |\n", vd.Label, vd.Probability, fam)
	}
	if fm != nil {
		fmt.Fprintf(w, "\nFused with %s (%s, threshold %.3f); detection cells are P(malware), family cells the top family.\n",
			fusionPath, fm.Method, fm.Threshold.Value)
	}
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	return nil
}

// readGz returns the trace gzip-compressed, as plugins receive it.
func readGz(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		return b, nil
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
