package cli

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
	"github.com/scalemalnet/scalemalnet/classifiers/train"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/builtin"
	"github.com/scalemalnet/scalemalnet/plugins/host"
	"github.com/scalemalnet/scalemalnet/plugins/oof"
)

const pluginsOOFUsage = "plugins oof --plugin NAME --data PATH [--task T] --out FILE.oof.jsonl [--limit N] [--data-dir DIR | --dir DIR] [--json]"

// runPluginsOOF runs a registered classifier plugin (a real plugin
// process, with the built-in and registered featurizers as plugin
// processes too) over a labelled dataset and writes its votes as an
// out-of-fold predictions file for `train fusion`.
func runPluginsOOF(ctx context.Context, e *Env, args []string) int {
	fs := pluginsGroup.flags(e, "oof")
	name := fs.String("plugin", "", "registered classifier plugin")
	dataPath := fs.String("data", "", "labelled dataset, in a format `train --data` reads (ClaMP CSV, FHIDS tar.xz, ADFA-LD or Mal-API-2019 folder, MalBehavD CSV)")
	task := fs.String("task", "", "the dataset's task (default: its default task, as train)")
	out := fs.String("out", "", "out-of-fold predictions file to write (JSON lines)")
	limit := fs.Int("limit", 0, "use at most N records, spread evenly over the deduplicated dataset (0: all)")
	dir := fs.String("dir", "", "plugin directory (default DATA_DIR/"+host.DirName+")")
	dataDir := fs.String("data-dir", "", "data directory (default $"+defaults.EnvDataDir+" or "+defaults.DataDir()+")")
	asJSON := fs.Bool("json", false, "print the run's report as JSON")
	if _, code, ok := parse(fs, args, 0); !ok {
		return code
	}
	if *name == "" || *dataPath == "" || *out == "" || *limit < 0 {
		fmt.Fprintln(e.Stderr, "usage: scalemalnet "+pluginsOOFUsage)
		return ExitUsage
	}
	if *dir == "" {
		*dir = defaults.Layout{Root: firstNonEmpty(*dataDir, e.Getenv(defaults.EnvDataDir), defaults.DataDir())}.Plugins()
	}
	d, err := train.LoadLabelled(*dataPath, *task)
	if err != nil {
		return fail(e, err)
	}
	if *limit > 0 && len(d.Records) > *limit {
		d.Records = spread(d.Records, *limit)
	}
	var srcs []host.Source
	for _, n := range builtin.Names() {
		src, err := host.BuiltinSource(n, "plugin", "serve", n)
		if err != nil {
			return fail(e, err)
		}
		srcs = append(srcs, src)
	}
	m := host.New(host.Config{Builtins: srcs, Dir: *dir,
		Logger: slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err := m.Start(ctx); err != nil {
		return fail(e, err)
	}
	defer m.Close()
	var clf *host.Plugin
	for _, p := range m.Plugins(plugins.KindClassifier) {
		if p.Name() == *name {
			clf = p
		}
	}
	if clf == nil {
		for _, st := range m.List() {
			if st.Name == *name {
				return fail(e, fmt.Errorf("plugin %s is %s: %s", *name, st.State, dash(st.LastError)))
			}
		}
		return fail(e, fmt.Errorf("no classifier plugin %q registered in %s (`scalemalnet plugins register` it first)", *name, *dir))
	}
	var fzs []oof.Featurizer
	for _, p := range m.Plugins(plugins.KindFeaturizer) {
		fzs = append(fzs, p)
	}
	lines, rep, err := oof.Run(ctx, d, clf, fzs)
	if err != nil {
		return fail(e, err)
	}
	var buf bytes.Buffer
	if err := fusion.WriteOOF(&buf, lines); err != nil {
		return fail(e, err)
	}
	if _, err := writeFileAtomic(*out, &buf); err != nil {
		return fail(e, err)
	}
	if *asJSON {
		return printJSON(e, rep)
	}
	fmt.Fprintf(e.Stdout, "wrote %s: %d %s votes of %s on %s (%d records; %d abstained, %d failed)\n",
		*out, rep.Lines, rep.Stage, *name, d.Source, rep.Records, rep.Abstained, rep.Failed)
	for _, msg := range rep.Errors {
		fmt.Fprintf(e.Stdout, "  failed: %s\n", oneLine(msg, 200))
	}
	fmt.Fprintf(e.Stderr, "the plugin was not trained on these records, so its votes are out of fold; next: scalemalnet train fusion --oof OTHER.oof.jsonl --oof %s --out fusion.json\n", *out)
	return ExitOK
}

// spread keeps n records evenly spaced over recs (so both classes of a
// dataset sorted by class stay).
func spread(recs []train.LabelledRecord, n int) []train.LabelledRecord {
	out := make([]train.LabelledRecord, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, recs[i*len(recs)/n])
	}
	return out
}
