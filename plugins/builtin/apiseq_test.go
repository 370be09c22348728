package builtin

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/classifiers/modelfile"
	"github.com/scalemalnet/scalemalnet/classifiers/train"
	"github.com/scalemalnet/scalemalnet/featurizers/apiseq"
	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/plugins"
)

// Cuckoo-style names: the injectors call the remote-process functions, the
// others only file and registry reads.
var (
	injectAPIs = []string{"NtOpenProcess", "WriteProcessMemory", "CreateRemoteThread", "NtAllocateVirtualMemory", "LdrLoadDll", "NtClose"}
	plainAPIs  = []string{"NtCreateFile", "NtReadFile", "RegOpenKeyExA", "RegQueryValueExA", "LdrLoadDll", "NtClose", "GetSystemTimeAsFileTime"}
)

// separableMalBehavD writes a MalBehavD-V1-format CSV where malware rows use
// the injection functions.
func separableMalBehavD(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("sha256,labels,0,1,2,3,4,5,6\n")
	for i := range 80 {
		apis, label := plainAPIs, 0
		if i%2 == 1 {
			apis, label = injectAPIs, 1
		}
		// Distinct rows: rotate the list and cut it at a varying length.
		n := 3 + i%4
		var row []string
		for j := range 7 {
			if j < n {
				row = append(row, apis[(i/2+j)%len(apis)])
			} else {
				row = append(row, "")
			}
		}
		fmt.Fprintf(&b, "%064x,%d,%s\n", i, label, strings.Join(row, ","))
	}
	p := filepath.Join(t.TempDir(), "MalBehavD-V1-dataset.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tinyMalAPI writes a Mal-API-2019-format folder of two types.
func tinyMalAPI(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	names := append(append([]string{}, injectAPIs...), plainAPIs...)
	var idx strings.Builder
	for i, n := range names {
		fmt.Fprintf(&idx, "%s=%d\n", strings.ToLower(n), i)
	}
	var calls, types strings.Builder
	for i := range 40 {
		base, typ := 0, "Trojan"
		if i%2 == 1 {
			base, typ = len(injectAPIs), "Adware"
		}
		var ids []string
		for j := range 5 + i%5 {
			ids = append(ids, fmt.Sprint(base+(i+j*j)%len(injectAPIs)))
		}
		calls.WriteString(strings.Join(ids, ",") + "\n")
		types.WriteString(typ + "\n")
	}
	f, err := os.Create(filepath.Join(dir, "calls.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, _ := zw.Create("calls.txt")
	w.Write([]byte(calls.String()))
	zw.Close()
	f.Close()
	os.WriteFile(filepath.Join(dir, "ApiIndex.txt"), []byte(idx.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "types.txt"), []byte(types.String()), 0o644)
	return dir
}

func trainModel(t *testing.T, data, name string) *ModelClassifier {
	t.Helper()
	r, err := train.Train(context.Background(), train.Spec{Model: "random-forest", Data: data, Name: name, Seed: 1, Folds: -1})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name+".smnmodel")
	if err := modelfile.WriteFile(p, r.Header, r.Weights); err != nil {
		t.Fatal(err)
	}
	c, err := NewModelClassifier(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wineInjector is a hand-made trace in the shape of Wine's relay channel
// for an injector: both layers (KERNEL32 and the ntdll call it ends in),
// loader calls, and calls no Cuckoo hook list holds (CreateFileA,
// RtlAllocateHeap, VirtualAllocEx).
func wineInjector() *trace.Trace {
	seq := [][2]string{
		{"ntdll", "LdrLoadDll"}, {"KERNEL32", "GetProcAddress"}, {"ntdll", "LdrGetProcedureAddress"},
		{"ntdll", "RtlAllocateHeap"}, {"KERNEL32", "CreateFileA"}, {"ntdll", "NtCreateFile"},
		{"KERNEL32", "OpenProcess"}, {"ntdll", "NtOpenProcess"},
		{"KERNEL32", "VirtualAllocEx"}, {"ntdll", "NtAllocateVirtualMemory"},
		{"KERNEL32", "WriteProcessMemory"}, {"ntdll", "NtWriteVirtualMemory"},
		{"KERNEL32", "CreateRemoteThread"}, {"KERNELBASE", "CreateRemoteThread"}, {"ntdll", "RtlCreateUserThread"},
		{"KERNEL32", "CloseHandle"}, {"ntdll", "NtClose"},
	}
	var api []trace.APICall
	for i, c := range seq {
		api = append(api, trace.APICall{T: int64(i+1) * 1000, TID: 0x24, Module: c[0], Func: c[1], Ret: "0"})
	}
	return &trace.Trace{Windows: []trace.Window{{Index: 0, End: 1e9, API: api, APICounts: map[string]int{"n": len(api)}}},
		Summary: trace.Summary{Outcome: trace.OutcomeExited, Format: "pe-x86_64", APICalls: len(api), APIKept: len(api)}}
}

func TestAPIModelsVoteOnWineTraces(t *testing.T) {
	ctx := context.Background()
	det := trainModel(t, separableMalBehavD(t), "malbehavd-random-forest")
	fam := trainModel(t, tinyMalAPI(t), "malapi-random-forest")
	for c, want := range map[*ModelClassifier][2]string{det: {apiseq.FirstName, "detection"}, fam: {apiseq.SeqName, "family"}} {
		info, err := c.Info(ctx)
		if err != nil || len(info.Consumes) != 1 || info.Consumes[0] != want[0] || string(info.Stage) != want[1] || info.Inputs[0] != plugins.InputDynamic {
			t.Fatalf("%s: %v %+v", info.Name, err, info)
		}
	}

	h := harness(t, "apiseq")
	sets, err := h.Featurize(plugins.FeaturizeInput{TraceGz: gz(t, wineInjector())})
	if err != nil {
		t.Fatal(err)
	}
	m := byName(sets)
	if m[apiseq.FirstName] == nil || m[apiseq.SeqName] == nil || m[apiseq.SeqName].Meta["merged"] != "1" {
		t.Fatalf("sets %+v", sets)
	}
	v, err := det.Classify(ctx, plugins.Sample{}, sets)
	if err != nil || v.Abstained {
		t.Fatalf("detection: %v %+v", err, v)
	}
	if v.Label != "malware" {
		t.Errorf("injector scored %+v", v)
	}
	// 16 distinct names; the model knows ldrloaddll, ntclose, ntopenprocess,
	// writeprocessmemory, createremotethread, ntallocatevirtualmemory and
	// ntcreatefile: 7 of 16.
	if !strings.Contains(v.Explanation, "(7 of 16 distinct names)") || !strings.Contains(v.Explanation, "left out") {
		t.Errorf("explanation %q", v.Explanation)
	}
	fv, err := fam.Classify(ctx, plugins.Sample{}, sets)
	if err != nil || fv.Abstained || fv.Label != "Trojan" || !strings.Contains(fv.Explanation, "of the 16 calls") {
		t.Fatalf("family: %v %+v", err, fv)
	}

	// Too few known calls: an abstention that says why, not a guess.
	few := wineInjector()
	few.Windows[0].API = few.Windows[0].API[3:6] // RtlAllocateHeap, CreateFileA, NtCreateFile
	sets, err = h.Featurize(plugins.FeaturizeInput{TraceGz: gz(t, few)})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := det.Classify(ctx, plugins.Sample{}, sets); err != nil || !v.Abstained || !strings.Contains(v.Reason, "1 of the 3 calls are known") {
		t.Fatalf("few known calls: %v %+v", err, v)
	}

	// A sequence model given an empty sequence says so.
	empty := &features.Set{Name: apiseq.FirstName, Version: "1", Kind: features.KindSequence, Schema: []string{"<pad>", "<unk>"}, Tokens: []int32{}}
	if v, err := det.Classify(ctx, plugins.Sample{}, []*features.Set{empty}); err != nil || !v.Abstained || !strings.Contains(v.Reason, "no calls") {
		t.Fatalf("empty sequence: %v %+v", err, v)
	}

	// A Linux trace: the featurizer does not apply.
	linux := &trace.Trace{Windows: []trace.Window{{Index: 0, End: 1, Counts: map[string]int{"read": 1}, Events: []trace.Event{{Name: "read"}}}}}
	if _, err := h.Featurize(plugins.FeaturizeInput{TraceGz: gz(t, linux)}); !errors.Is(err, plugins.ErrNotApplicable) {
		t.Fatalf("linux trace: %v", err)
	}
	if err := h.Configure(`{"length": 0}`); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`{"length": -3}`, `{"bogus": 1}`} {
		if err := h.Configure(bad); err == nil {
			t.Errorf("config %s accepted", bad)
		}
	}
}
