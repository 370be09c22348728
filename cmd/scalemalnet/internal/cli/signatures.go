package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
	"github.com/scalemalnet/scalemalnet/classifiers/train"
	"strings"

	"github.com/scalemalnet/scalemalnet/featurizers/signatures"
	"github.com/scalemalnet/scalemalnet/plugins/builtin"
)

// signaturesGroup is "scalemalnet signatures".
var signaturesGroup = &group{
	name:    "signatures",
	summary: "behaviour signatures: list and check rule files, measure them on a corpus",
	footer:  `Rules are YAML files; the language and every shipped rule are in docs/signatures.md.`,
}

func signatureCommands() []command {
	return []command{
		{"list", "list the rules (the shipped ones, or a directory's)", "signatures list [--rules DIR] [--markdown]", runSignaturesList},
		{"check", "load a rules directory as serve would: a bad file is named with its line", "signatures check DIR", runSignaturesCheck},
		{"eval", "per-technique detection and false-positive rate of the signatures on a corpus", "signatures eval --corpus DIR [--rules DIR] [--json]", runSignaturesEval},
	}
}

func runSignaturesList(_ context.Context, e *Env, args []string) int {
	fs := signaturesGroup.flags(e, "list")
	dir := fs.String("rules", "", "rules directory (default: the shipped rules)")
	md := fs.Bool("markdown", false, "print a Markdown table (docs/signatures.md)")
	if _, code, ok := parse(fs, args, 0); !ok {
		return code
	}
	set, _, err := builtin.LoadSignatures(*dir)
	if err != nil {
		return fail(e, err)
	}
	if *md {
		fmt.Fprintln(e.Stdout, "| id | severity | ATT&CK | description | file |\n|---|---|---|---|---|")
	}
	for _, r := range set.Rules {
		if *md {
			fmt.Fprintf(e.Stdout, "| `%s` | %d %s | %s | %s | %s |\n", r.ID, r.Severity, signatures.SeverityName(r.Severity),
				strings.Join(r.Techniques, ", "), strings.ReplaceAll(r.Description, "|", `\|`), r.File)
			continue
		}
		fmt.Fprintf(e.Stdout, "%-30s %d %-8s %-28s %s\n", r.ID, r.Severity, signatures.SeverityName(r.Severity), strings.Join(r.Techniques, ","), r.Description)
	}
	return ExitOK
}

func runSignaturesCheck(_ context.Context, e *Env, args []string) int {
	fs := signaturesGroup.flags(e, "check")
	pos, code, ok := parse(fs, args, 1)
	if !ok {
		return code
	}
	set, _, err := builtin.LoadSignatures(pos[0])
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.Stdout, "%d rules OK\n", len(set.Rules))
	return ExitOK
}

func runSignaturesEval(ctx context.Context, e *Env, args []string) int {
	fs := signaturesGroup.flags(e, "eval")
	corpus := fs.String("corpus", "", "corpus folder: corpus.jsonl and the traces it names")
	dir := fs.String("rules", "", "rules directory (default: the shipped rules)")
	asJSON := fs.Bool("json", false, "print JSON (every item's score and rules)")
	predPath := fs.String("predictions", "", "also write each run's behavior-signatures vote as a fusion line (keyed by run, like the corpus models' out-of-fold lines; the rules are not fitted to the corpus)")
	if _, code, ok := parse(fs, args, 0); !ok {
		return code
	}
	if *corpus == "" {
		fmt.Fprintln(e.Stderr, "usage: scalemalnet signatures eval --corpus DIR [--rules DIR] [--json]")
		return ExitUsage
	}
	set, _, err := builtin.LoadSignatures(*dir)
	if err != nil {
		return fail(e, err)
	}
	ev, err := set.Evaluate(ctx, *corpus)
	if err != nil {
		return fail(e, err)
	}
	if *predPath != "" {
		var lines []fusion.OOFLine
		for _, it := range ev.Items {
			if it.Error != "" {
				continue
			}
			lines = append(lines, fusion.OOFLine{Key: train.IDKey(it.ID), ID: it.ID, Label: it.Label, Fold: -1,
				Classifier: builtin.SignatureClassifier, Stage: fusion.StageDetection,
				Scores: []fusion.ClassScore{{Class: "benign", Score: 1 - it.Score}, {Class: "malware", Score: it.Score}}})
		}
		if err := writeLines(*predPath, lines); err != nil {
			return fail(e, err)
		}
		fmt.Fprintf(e.Stderr, "wrote %s (%d predictions)\n", *predPath, len(lines))
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(ev); err != nil {
			return fail(e, err)
		}
		return ExitOK
	}
	if err := ev.WriteText(e.Stdout); err != nil {
		return fail(e, err)
	}
	return ExitOK
}
