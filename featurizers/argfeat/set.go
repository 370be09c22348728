package argfeat

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// SetName is the name of the feature set (and of the built-in featurizer
// that produces it).
const SetName = "trace-args"

// Version of the set: "1+" and a digest of the schema's names and scales,
// so it changes whenever a column is added, removed, renamed or rescaled.
var Version = func() string {
	h := sha256.New()
	for _, f := range schema {
		h.Write([]byte(f.Name + "\x00" + string(f.Scale) + "\x00"))
	}
	return "1+" + hex.EncodeToString(h.Sum(nil))[:8]
}()

// Set returns the trace-args feature set of a trace: Extract's vector with
// the schema. Meta says whether events were dropped ("dropped_share", and
// "partial": "true" when some argument features saw only part of the run).
func Set(t *trace.Trace) *features.Set {
	v := Extract(t)
	meta := map[string]string{
		"dropped_share": strconv.FormatFloat(v[fRunDropped], 'g', 4, 64),
		"features":      strconv.Itoa(len(v)),
	}
	if v[fRunDropped] > 0 {
		meta["partial"] = "true"
	}
	return &features.Set{Name: SetName, Version: Version, Kind: features.KindVector, Schema: Schema(), Vector: v, Meta: meta}
}

// Doc returns the schema as a Markdown table (name, scale, meaning), as in
// docs/features.md; the path grid is given as its classes and operations.
func Doc() string {
	var b strings.Builder
	b.WriteString("| feature | scale | from | meaning |\n|---|---|---|---|\n")
	for i, f := range schema[:fPathBase] {
		b.WriteString("| `" + f.Name + "` | " + string(f.Scale) + " | " + source(i) + " | " + f.Doc + " |\n")
	}
	b.WriteString("\nPath grid: `path.<class>.<op>`, " + strconv.Itoa(len(pathClasses)) + " classes × " +
		strconv.Itoa(nOps) + " operations, each a count (log) from arguments.\n\n| class | paths |\n|---|---|\n")
	for _, c := range pathClasses {
		b.WriteString("| `" + c.name + "` | " + c.doc + " |\n")
	}
	b.WriteString("\n| op | counts |\n|---|---|\n")
	for _, op := range pathOps {
		b.WriteString("| `" + op.name + "` | " + op.doc + " |\n")
	}
	return b.String()
}

// source says where a column's value comes from: "names" (the windows'
// per-name counts, exact when events were dropped), "summary" (the run's
// summary and process table) or "arguments" (the kept events).
func source(i int) string {
	for _, f := range countFeatures {
		if f == i {
			return "names"
		}
	}
	switch i {
	case fRunEvents, fRunDropped, fRunDuration, fRunTimeout, fRunSignaled, fProcCount, fProcThreads, fProcDepth:
		return "summary"
	}
	return "arguments"
}
