// Package apiseq turns the Windows API calls of a program run under Wine
// (trace.APICall, read by the guest agent from Wine's relay channel) into
// the inputs of the models trained on Cuckoo API traces:
//
//   - FirstName ("apiseq-first"): each API name once, in order of first
//     call: the shape of a MalBehavD-V1 row (detection);
//   - SeqName ("apiseq"): the whole call sequence with its repeats: the
//     shape of a Mal-API-2019 line (malware type, stage 2).
//
// Names are mapped to the datasets' vocabulary by dropping Wine's module
// ("KERNEL32.CreateFileA" becomes "createfilea") and normalising as
// callseq does (ASCII lower case): Cuckoo's monitor logs a function by its
// name only, and the two sets spell names in different cases.
//
// Both layers Wine's relay shows count: the documented API a program
// called (KERNEL32.CreateFileA, advapi32.RegSetValueExA) and the native
// call it ends in (ntdll.NtCreateFile, ntdll.NtSetValueKey). Cuckoo's
// monitor hooks both layers, and its hook list (the datasets' vocabulary)
// holds mostly the native one for files and memory (NtCreateFile,
// NtWriteFile, NtAllocateVirtualMemory, LdrLoadDll) but the documented one
// for the registry, services, network and processes (RegSetValueExA,
// CreateProcessInternalW, CreateRemoteThread): keeping only one layer would
// lose most of the calls the models know (docs/results.md, "Windows API
// models on Wine traces", has the measured known shares). One exception: Wine's kernel32 often
// forwards a function to kernelbase under the same name, so the relay shows
// KERNEL32.CreateFileW and then KERNELBASE.CreateFileW; a call that
// repeats the previous call's function name in the same thread from
// another module is that one call, counted once.
//
// Which calls a model knows is the model's business (its vocabulary); the
// classifier reports the share (plugins/builtin: the vote's explanation)
// and leaves unknown names out, as Cuckoo would not have recorded them.
// A trace without API calls (a Linux sample) is not applicable.
package apiseq

import (
	"fmt"
	"strconv"

	"github.com/scalemalnet/scalemalnet/featurizers/callseq"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// Feature set names.
const (
	FirstName = "apiseq-first" // distinct names in order of first call (MalBehavD-V1)
	SeqName   = "apiseq"       // every call with repeats (Mal-API-2019)
)

// DefaultLength bounds the SeqName sequence; the agent's event budget
// bounds it before that.
const DefaultLength = 200000

// Name maps one relay call to its vocabulary form: the function name
// without its module, normalised (callseq.Normalize). Ordinals ("@12")
// are kept as they are: no vocabulary knows them.
func Name(c trace.APICall) string { return callseq.Normalize(c.Func) }

// Stats describe how a trace's API calls became names.
type Stats struct {
	Recorded int // calls the agent counted (Summary.APICalls, or the kept ones when larger)
	Kept     int // calls the agent kept with their details (the input here)
	Merged   int // calls counted once with the previous one (same function, same thread, another module)
	Calls    int // names produced: Kept - Merged
	Distinct int // distinct names
}

// Calls returns the mapped names of the trace's kept API calls in time
// order, with the kernel32/kernelbase forwarding layer merged.
func Calls(t *trace.Trace) ([]string, Stats) {
	api := t.APICalls()
	st := Stats{Kept: len(api), Recorded: max(t.Summary.APICalls, len(api))}
	out := make([]string, 0, len(api))
	last := map[int]trace.APICall{} // per thread: previous call
	seen := map[string]bool{}
	for _, c := range api {
		n := Name(c)
		if p, ok := last[c.TID]; ok && p.Module != c.Module && Name(p) == n {
			st.Merged++
			last[c.TID] = c
			continue
		}
		last[c.TID] = c
		if n == "" {
			continue
		}
		out = append(out, n)
		seen[n] = true
	}
	st.Calls, st.Distinct = len(out), len(seen)
	return out, st
}

// First returns each name once, in order of first appearance.
func First(calls []string) []string {
	seen := make(map[string]bool, 64)
	var out []string
	for _, c := range calls {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// ErrNoAPI is wrapped (with features.ErrNotApplicable) when a trace holds
// no Windows API call.
var ErrNoAPI = fmt.Errorf("%w: no Windows API calls in the trace (not a program run under Wine)", features.ErrNotApplicable)

// Featurizer produces the FirstName and SeqName sets of a trace.
type Featurizer struct {
	// Length bounds the SeqName sequence (head kept); 0 is DefaultLength.
	Length int
}

// FeaturizeTrace returns the two sets. Both are token sequences over the
// trace's own vocabulary, carried in Schema (ids 0 and 1 are padding and
// unknown, then the names in order of first call), so a model maps them by
// name. Meta: "recorded", "kept", "merged", "calls", "distinct",
// "not_kept" (counted by the agent past its budget), "truncated" (SeqName
// longer than Length), "format" (the agent's sample format).
func (f *Featurizer) FeaturizeTrace(t *trace.Trace) ([]*features.Set, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	calls, st := Calls(t)
	if st.Kept == 0 {
		if t.Summary.APICalls > 0 {
			return nil, fmt.Errorf("%w: %d API calls counted, none kept by the agent's budget", features.ErrNotApplicable, t.Summary.APICalls)
		}
		return nil, ErrNoAPI
	}
	length := f.Length
	if length <= 0 {
		length = DefaultLength
	}
	first := First(calls)
	schema := append([]string{callseq.PadToken, callseq.UnknownToken}, first...)
	ids := make(map[string]int32, len(first))
	firstTok := make([]int32, len(first))
	for i, n := range first {
		ids[n] = int32(i + 2)
		firstTok[i] = int32(i + 2)
	}
	kept := calls
	if len(kept) > length {
		kept = kept[:length]
	}
	seqTok := make([]int32, len(kept))
	for i, n := range kept {
		seqTok[i] = ids[n]
	}
	meta := func() map[string]string {
		m := map[string]string{
			"recorded": strconv.Itoa(st.Recorded), "kept": strconv.Itoa(st.Kept), "merged": strconv.Itoa(st.Merged),
			"calls": strconv.Itoa(st.Calls), "distinct": strconv.Itoa(st.Distinct),
		}
		if n := st.Recorded - st.Kept; n > 0 {
			m["not_kept"] = strconv.Itoa(n)
		}
		if t.Summary.Format != "" {
			m["format"] = t.Summary.Format
		}
		return m
	}
	a := &features.Set{Name: FirstName, Version: "1+first", Kind: features.KindSequence,
		Schema: schema, Tokens: firstTok, Meta: meta()}
	b := &features.Set{Name: SeqName, Version: "1+seq+l" + strconv.Itoa(length), Kind: features.KindSequence,
		Schema: schema, Tokens: seqTok, Meta: meta()}
	b.Meta["truncated"] = strconv.FormatBool(len(calls) > length)
	return []*features.Set{a, b}, nil
}
