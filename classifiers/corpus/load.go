package corpus

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/scalemalnet/scalemalnet/featurizers/datasets"
	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// Run is one finished run of a corpus: its entry and its decoded trace.
type Run struct {
	Entry
	Trace *trace.Trace
}

// Bounds of a trace read from a corpus (as the orchestrator's featurizers
// read traces: plugins.MaxTraceBytes and plugins.MaxTraceEvents).
const (
	MaxTraceBytes  = 256 << 20
	MaxTraceEvents = 250_000
)

// LoadRuns reads a corpus folder's finished runs (Status done), in index
// order, each trace decoded within MaxTraceBytes and MaxTraceEvents. A run
// whose trace is missing or malformed is an error naming it (a corpus is a
// build output: rebuild or resume it rather than train on part of it).
func LoadRuns(dir string) ([]Run, error) {
	ents, err := ReadIndex(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIndex, err)
	}
	var out []Run
	for _, e := range ents {
		if e.Status != StatusDone {
			continue
		}
		t, err := readTrace(filepath.Join(dir, filepath.FromSlash(e.Trace)))
		if err != nil {
			return nil, fmt.Errorf("%w: run %s: %w", ErrIndex, e.ID, err)
		}
		out = append(out, Run{Entry: e, Trace: t})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s has no finished runs", ErrIndex, dir)
	}
	return out, nil
}

func readTrace(path string) (*trace.Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", trace.ErrMalformed, err)
	}
	lr := &io.LimitedReader{R: zr, N: MaxTraceBytes + 1}
	t, err := trace.ReadJSONLLimits(lr, trace.Limits{MaxEvents: MaxTraceEvents})
	if lr.N <= 0 {
		return nil, fmt.Errorf("%w: trace larger than %d bytes decompressed", trace.ErrMalformed, MaxTraceBytes)
	}
	return t, err
}

// Records turns runs into call-sequence records (all kept calls of the run
// in time order, as the callseq featurizer gives a classifier at
// inference), labelled and grouped.
func Records(runs []Run, lim datasets.Limits) ([]datasets.SeqRecord, error) {
	out := make([]datasets.SeqRecord, 0, len(runs))
	for _, r := range runs {
		recs, err := datasets.FromTrace(r.Trace, r.ID, datasets.TraceOptions{Label: r.Label, Limits: lim})
		if err != nil {
			return nil, err
		}
		for i := range recs {
			recs[i].Source, recs[i].Group, recs[i].Class = r.Source, r.Group, r.Group
		}
		out = append(out, recs...)
	}
	return out, nil
}
