package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/scalemalnet/scalemalnet/featurizers/datasets"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/builtin"
	"github.com/scalemalnet/scalemalnet/plugins/host"
)

// maxFeatureInput bounds the files the features command reads.
const maxFeatureInput = plugins.MaxMessageBytes / 2

// runFeatures runs a featurizer exactly as the orchestrator does: as a
// plugin subprocess (the built-in ones by re-executing this binary), so what
// it prints is what a classifier would get.
func runFeatures(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "features")
	name := fs.String("featurizer", "", "featurizer plugin name: built-in ("+strings.Join(builtin.FeaturizerNames(), ", ")+") or registered in the plugin directory")
	tracePath := fs.String("trace", "", "trace file for dynamic featurizers")
	traceFormat := fs.String("trace-format", "own", "own (scalemalnet trace, .jsonl or .jsonl.gz), adfa (ADFA-LD file of i386 numbers), names (one call name per line, as FHIDS), cuckoo (Cuckoo/CAPE report.json)")
	syscallMap := fs.String("syscall-map", "", "ADFA-LD number map (default DATASETS/adfa-ld/syscall_numbers_i386_to_x86_64.tsv)")
	asJSON := fs.Bool("json", false, "print the feature sets as JSON")
	dataDir := fs.String("data-dir", "", "data directory whose plugins/ holds external plugins")
	pos, code, ok := parse(fs, args, -1)
	if !ok {
		return code
	}
	if *name == "" || len(pos) > 1 || (len(pos) == 0 && *tracePath == "") {
		fmt.Fprintln(e.Stderr, "usage: scalemalnet features --featurizer NAME [FILE] [--trace TRACE] [--json]")
		return ExitUsage
	}
	in := plugins.FeaturizeInput{}
	if len(pos) == 1 {
		b, err := readLimited(pos[0])
		if err != nil {
			return fail(e, err)
		}
		in.Content = b
		in.Sample = plugins.Sample{Name: filepath.Base(pos[0]), Size: int64(len(b))}
	}
	if *tracePath != "" {
		gz, err := loadTrace(*tracePath, *traceFormat, *syscallMap)
		if err != nil {
			return fail(e, err)
		}
		in.TraceGz = gz
	}
	src, err := featurizerSource(*name, firstNonEmpty(*dataDir, e.Getenv(defaults.EnvDataDir), defaults.DataDir()))
	if err != nil {
		return fail(e, err)
	}
	m := host.New(host.Config{Builtins: []host.Source{src},
		Logger: slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err := m.Start(ctx); err != nil {
		return fail(e, err)
	}
	defer m.Close()
	fz := m.Plugins(plugins.KindFeaturizer)
	if len(fz) != 1 {
		st := m.List()
		if len(st) == 1 && st[0].LastError != "" {
			return fail(e, fmt.Errorf("featurizer %s: %s", *name, st[0].LastError))
		}
		return fail(e, fmt.Errorf("%s is not a featurizer", *name))
	}
	if info := fz[0].Info(); info.Needs(plugins.InputDynamic) && len(in.TraceGz) == 0 &&
		!info.Needs(plugins.InputStatic) && !info.Needs(plugins.InputImage) {
		fmt.Fprintf(e.Stderr, "scalemalnet features: %s reads a run's trace (its input is dynamic): give one with --trace FILE [--trace-format own|adfa|names|cuckoo]\n", *name)
		return ExitUsage
	}
	sets, err := fz[0].Featurize(ctx, in)
	if errors.Is(err, plugins.ErrNotApplicable) {
		fmt.Fprintf(e.Stdout, "%s does not apply: %v\n", *name, err)
		return ExitOK
	}
	if err != nil {
		return fail(e, err)
	}
	if *asJSON {
		return printJSON(e, sets)
	}
	for _, s := range sets {
		printSet(e.Stdout, s)
	}
	return ExitOK
}

// featurizerSource finds a built-in featurizer, or a registered external one.
func featurizerSource(name, dataDir string) (host.Source, error) {
	for _, n := range builtin.FeaturizerNames() {
		if n == name {
			return host.BuiltinSource(name, "plugin", "serve", name)
		}
	}
	dir := defaults.Layout{Root: dataDir}.Plugins()
	man, err := host.ReadManifest(dir)
	if err != nil {
		return host.Source{}, err
	}
	for _, en := range man.Plugins {
		if en.Name == name {
			return host.Source{Name: en.Name, Path: filepath.Join(dir, en.Path), SHA256: en.SHA256, Config: en.Config}, nil
		}
	}
	return host.Source{}, fmt.Errorf("no featurizer %q: not built in (%s) and not registered in %s", name, strings.Join(builtin.FeaturizerNames(), ", "), dir)
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFeatureInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFeatureInput {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxFeatureInput)
	}
	return b, nil
}

// loadTrace reads a trace of the given format and returns it in the
// plugin wire form (gzip JSON lines). Imported formats become a trace of
// one window whose events carry the call names in order.
func loadTrace(path, format, mapPath string) ([]byte, error) {
	raw, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	var calls []string
	switch format {
	case "own":
		if bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			if raw, err = io.ReadAll(io.LimitReader(zr, plugins.MaxTraceBytes)); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
		t, err := trace.ReadJSONL(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return gzipTrace(t)
	case "adfa":
		if mapPath == "" {
			d, err := datasets.Dir()
			if err != nil {
				return nil, fmt.Errorf("ADFA-LD syscall map: %w (use --syscall-map)", err)
			}
			mapPath = filepath.Join(d, "adfa-ld", "syscall_numbers_i386_to_x86_64.tsv")
		}
		mf, err := os.Open(mapPath)
		if err != nil {
			return nil, err
		}
		defer mf.Close()
		m, err := datasets.ReadSyscallMap(mf, mapPath)
		if err != nil {
			return nil, err
		}
		calls, _, err = datasets.ReadADFATrace(bytes.NewReader(raw), path, m, true, datasets.Limits{})
		if err != nil {
			return nil, err
		}
	case "names":
		calls, _, err = datasets.ReadCallNames(bytes.NewReader(raw), path, datasets.Limits{})
		if err != nil {
			return nil, err
		}
	case "cuckoo":
		recs, err := datasets.ReadCuckooReport(bytes.NewReader(raw), filepath.Base(path), datasets.CuckooOptions{})
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			calls = append(calls, r.Calls...)
		}
	default:
		return nil, fmt.Errorf("unknown trace format %q (own, adfa, names, cuckoo)", format)
	}
	return gzipTrace(callsTrace(calls))
}

// callsTrace wraps an imported call list as a one-window trace.
func callsTrace(calls []string) *trace.Trace {
	w := trace.Window{Index: 0, Start: 0, End: int64(len(calls)) + 1, Counts: map[string]int{}}
	for i, c := range calls {
		w.Events = append(w.Events, trace.Event{T: int64(i), PID: 1, TID: 1, Name: c})
		w.Counts[c]++
	}
	return &trace.Trace{Windows: []trace.Window{w}, Summary: trace.Summary{Outcome: trace.OutcomeExited, Events: len(calls), Kept: len(calls), Windows: 1}}
}

func gzipTrace(t *trace.Trace) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := t.WriteJSONL(zw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func printSet(w io.Writer, s *features.Set) {
	fmt.Fprintf(w, "%s (version %s, %s", s.Name, s.Version, s.Kind)
	switch s.Kind {
	case features.KindVector:
		fmt.Fprintf(w, ", %d values)\n", len(s.Vector))
		for i, v := range s.Vector {
			if v == 0 && len(s.Vector) > 80 {
				continue // long sparse vectors: show the non-zero columns
			}
			col := fmt.Sprint(i)
			if i < len(s.Schema) {
				col = s.Schema[i]
			}
			fmt.Fprintf(w, "  %-32s %g\n", col, v)
		}
	case features.KindSequence:
		n := 0
		for _, t := range s.Tokens {
			if t != 0 {
				n++
			}
		}
		fmt.Fprintf(w, ", %d tokens, %d not padding)\n ", len(s.Tokens), n)
		for i, t := range s.Tokens {
			if i == 40 {
				fmt.Fprint(w, " ...")
				break
			}
			name := ""
			if int(t) < len(s.Schema) {
				name = ":" + s.Schema[t]
			}
			fmt.Fprintf(w, " %d%s", t, name)
		}
		fmt.Fprintln(w)
	case features.KindImage:
		fmt.Fprintf(w, ", %dx%d)\n", s.Image.Width, s.Image.Height)
	}
	if len(s.Meta) > 0 {
		b, _ := json.Marshal(s.Meta)
		fmt.Fprintf(w, "  meta %s\n", b)
	}
}
