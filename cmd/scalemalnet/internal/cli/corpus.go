package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/scalemalnet/scalemalnet/classifiers/corpus"
)

// corpusCommands are the sandbox-native corpus's subcommands.
func corpusCommands() []command {
	return []command{
		{"build", "run labelled programs through the VM pool and keep each trace (resumes after an interruption)",
			"corpus build [--manifest FILE]... [--atomic DIR] --out DIR [--parallel N] [--retry-failed] [--samples DIR]", runCorpusBuild},
		{"ls", "summarise a built corpus: runs by source, label and status, the failed and the skipped", "corpus ls DIR [--json]", runCorpusLs},
	}
}

// EnvSamplesDir names the folder of the bundled sample programs, which
// manifests name as "samples:NAME".
const EnvSamplesDir = "SCALEMALNET_SAMPLES_DIR"

func runCorpusBuild(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "corpus build")
	var cn conn
	cn.register(fs)
	var manifests stringList
	var opt corpus.BuildOptions
	var out, samples, atomic string
	fs.Var(&manifests, "manifest", "manifest file (YAML; repeatable; their items are run together)")
	fs.StringVar(&atomic, "atomic", "", "Atomic Red Team's atomics folder: its Linux tests become malicious items (those that cannot run offline in the guest are listed as skipped)")
	fs.StringVar(&out, "out", "", "corpus folder: the index (corpus.jsonl), traces/ and skipped.json")
	fs.IntVar(&opt.Parallel, "parallel", 0, "jobs in flight at once (default: the pool's slot count)")
	fs.BoolVar(&opt.RetryFailed, "retry-failed", false, "run again the items that failed in an earlier build")
	fs.StringVar(&samples, "samples", "", "folder of the bundled samples, for \"samples:NAME\" items (default $"+EnvSamplesDir+")")
	c, _, code, ok := connect(e, fs, &cn, args, 0)
	if !ok {
		return code
	}
	if len(manifests) == 0 && atomic == "" || out == "" {
		fmt.Fprintln(e.Stderr, "scalemalnet corpus build: --out and at least one --manifest or --atomic are required")
		return ExitUsage
	}
	m := &corpus.Manifest{}
	if atomic != "" {
		am, err := corpus.FromAtomic(atomic)
		if err != nil {
			return fail(e, err)
		}
		m.Merge(am)
	}
	for _, p := range manifests {
		mm, err := corpus.Load(p)
		if err != nil {
			return fail(e, err)
		}
		for i := range mm.Items { // each manifest's default run time stays with its items
			if mm.Items[i].Timeout == 0 {
				mm.Items[i].Timeout = mm.Timeout
			}
		}
		m.Merge(mm)
	}
	if err := m.Validate(); err != nil {
		return fail(e, err)
	}
	if opt.Parallel == 0 {
		if pl, err := c.Pool(ctx); err == nil && len(pl.Slots) > 0 {
			opt.Parallel = len(pl.Slots)
		}
	}
	opt.SamplesDir = firstNonEmpty(samples, e.Getenv(EnvSamplesDir))
	opt.Progress = func(p corpus.Progress) { fmt.Fprintf(e.Stderr, "[corpus] %s\n", p) }
	fmt.Fprintf(e.Stderr, "[corpus] %d items (%d tests skipped by the manifests), %d in flight\n", len(m.Items), len(m.Skipped), max(opt.Parallel, 2))
	ents, err := corpus.Build(ctx, c, m, out, opt)
	if err != nil {
		return fail(e, err)
	}
	printCorpusSummary(e.Stdout, corpus.Summarize(ents, m.Skipped))
	return ExitOK
}

func runCorpusLs(_ context.Context, e *Env, args []string) int {
	fs := newFlags(e, "corpus ls")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	pos, code, ok := parse(fs, args, 1)
	if !ok {
		return code
	}
	ents, err := corpus.ReadIndex(pos[0])
	if err != nil {
		return fail(e, err)
	}
	skipped, err := corpus.ReadSkipped(pos[0])
	if err != nil {
		return fail(e, err)
	}
	return output(e, corpus.Summarize(ents, skipped), nil, *asJSON, printCorpusSummary)
}

func printCorpusSummary(w io.Writer, s corpus.Summary) {
	fmt.Fprintf(w, "%d runs: %d done, %d failed, %d not finished; %d tests skipped\n", s.Total, s.Done, s.Failed, s.Pending, len(s.Skipped))
	fmt.Fprintf(w, "done by label: %d malware in %d techniques, %d benign in %d programs; run time %.0f s in all\n",
		s.Malware, s.Techniques, s.Benign, s.Programs, s.Seconds)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tDONE\tFAILED")
	for _, src := range sortedKeys(s.BySource) {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", src, s.BySource[src][0], s.BySource[src][1])
	}
	tw.Flush()
	if len(s.FailedRuns) > 0 {
		fmt.Fprintln(w, "failed:")
		for _, f := range s.FailedRuns {
			fmt.Fprintf(w, "  %s: %s\n", f.ID, safe(f.Error))
		}
	}
	if len(s.SkipReasons) > 0 {
		fmt.Fprintln(w, "skipped, by reason:")
		for _, r := range s.SkipReasons {
			fmt.Fprintf(w, "  %4d  %s\n", r.Count, r.Reason)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// corpusGroup is "scalemalnet corpus".
var corpusGroup = &group{
	name:    "corpus",
	summary: "build and inspect the sandbox-native corpus (docs/corpus.md)",
	footer:  "A built corpus folder is a --data input of train and eval.",
}
