package apiseq

import (
	"errors"
	"slices"
	"testing"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// wineTrace is a hand-made trace in the shape Wine's relay channel gives for
// a ransomware-like program: loader calls, then each documented call
// followed by the native call it ends in, and a kernel32 -> kernelbase
// forward of the same function.
func wineTrace() *trace.Trace {
	var api []trace.APICall
	t := int64(0)
	add := func(tid int, mod, fn, path, ret string, args ...string) {
		t += 1000
		api = append(api, trace.APICall{T: t, PID: 0x20, TID: tid, Module: mod, Func: fn, Path: path, Ret: ret, Args: args})
	}
	add(0x24, "ntdll", "LdrLoadDll", "advapi32.dll", "0")
	add(0x24, "KERNEL32", "GetProcAddress", "CryptEncrypt", "7b001000")
	add(0x24, "ntdll", "LdrGetProcedureAddress", "", "0")
	add(0x24, "KERNEL32", "CreateFileW", `C:\users\Public\lockme\a.txt`, "34")
	add(0x24, "KERNELBASE", "CreateFileW", `C:\users\Public\lockme\a.txt`, "34")
	add(0x24, "ntdll", "NtCreateFile", "", "0")
	add(0x24, "KERNEL32", "WriteFile", "", "1", "34", "0021f000", "00000400", "0021efe0", "00000000")
	add(0x24, "ntdll", "NtWriteFile", "", "0")
	add(0x24, "KERNEL32", "WriteFile", "", "1", "34", "0021f000", "00000400", "0021efe0", "00000000")
	add(0x24, "ntdll", "NtWriteFile", "", "0")
	add(0x24, "advapi32", "RegSetValueExA", "Note", "0", "80000001", `0040a000 "Note"`)
	add(0x24, "ntdll", "NtSetValueKey", "", "0")
	add(0x28, "ntdll", "NtClose", "", "0")
	return &trace.Trace{
		Windows: []trace.Window{{Index: 0, Start: 0, End: 1e9, API: api, APICounts: map[string]int{"x": len(api) + 5}, APIDropped: 5}},
		Summary: trace.Summary{Outcome: trace.OutcomeExited, Format: "pe-x86_64", APICalls: len(api) + 5, APIKept: len(api), APITruncated: true},
	}
}

func TestCallsMergeForwardsKeepLayers(t *testing.T) {
	calls, st := Calls(wineTrace())
	want := []string{"ldrloaddll", "getprocaddress", "ldrgetprocedureaddress", "createfilew", "ntcreatefile",
		"writefile", "ntwritefile", "writefile", "ntwritefile", "regsetvalueexa", "ntsetvaluekey", "ntclose"}
	if !slices.Equal(calls, want) {
		t.Fatalf("calls\n got %v\nwant %v", calls, want)
	}
	if st.Kept != 13 || st.Merged != 1 || st.Calls != 12 || st.Distinct != 10 || st.Recorded != 18 {
		t.Fatalf("stats %+v", st)
	}
	if got := First(calls); !slices.Equal(got, []string{"ldrloaddll", "getprocaddress", "ldrgetprocedureaddress",
		"createfilew", "ntcreatefile", "writefile", "ntwritefile", "regsetvalueexa", "ntsetvaluekey", "ntclose"}) {
		t.Fatalf("first %v", got)
	}
}

func TestSameFunctionSameModuleIsNotMerged(t *testing.T) {
	tr := &trace.Trace{Windows: []trace.Window{{API: []trace.APICall{
		{TID: 1, Module: "KERNEL32", Func: "Sleep"}, {TID: 1, Module: "KERNEL32", Func: "Sleep"},
		{TID: 2, Module: "KERNELBASE", Func: "Sleep"}, // another thread: a call of its own
	}}}}
	calls, st := Calls(tr)
	if len(calls) != 3 || st.Merged != 0 {
		t.Fatalf("%v %+v", calls, st)
	}
}

func TestFeaturizeTrace(t *testing.T) {
	sets, err := (&Featurizer{Length: 5}).FeaturizeTrace(wineTrace())
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 2 || sets[0].Name != FirstName || sets[1].Name != SeqName {
		t.Fatalf("sets %+v", sets)
	}
	for _, s := range sets {
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		if s.Meta["recorded"] != "18" || s.Meta["not_kept"] != "5" || s.Meta["distinct"] != "10" || s.Meta["format"] != "pe-x86_64" {
			t.Errorf("%s meta %v", s.Name, s.Meta)
		}
	}
	names := func(s *features.Set) []string {
		var out []string
		for _, id := range s.Tokens {
			out = append(out, s.Schema[id])
		}
		return out
	}
	if got := names(sets[0]); len(got) != 10 || got[0] != "ldrloaddll" || got[9] != "ntclose" {
		t.Errorf("first set %v", got)
	}
	if got := names(sets[1]); !slices.Equal(got, []string{"ldrloaddll", "getprocaddress", "ldrgetprocedureaddress", "createfilew", "ntcreatefile"}) {
		t.Errorf("sequence set (length 5) %v", got)
	}
	if sets[1].Meta["truncated"] != "true" {
		t.Errorf("truncation not marked: %v", sets[1].Meta)
	}
}

func TestLinuxTraceNotApplicable(t *testing.T) {
	tr := &trace.Trace{Windows: []trace.Window{{Index: 0, End: 1, Counts: map[string]int{"read": 1},
		Events: []trace.Event{{Name: "read"}}}}, Summary: trace.Summary{Format: "elf-x86_64"}}
	_, err := (&Featurizer{}).FeaturizeTrace(tr)
	if !errors.Is(err, features.ErrNotApplicable) || !errors.Is(err, ErrNoAPI) {
		t.Fatalf("linux trace: %v", err)
	}
	tr.Summary.APICalls = 7 // counted, none kept
	if _, err := (&Featurizer{}).FeaturizeTrace(tr); !errors.Is(err, features.ErrNotApplicable) {
		t.Fatalf("nothing kept: %v", err)
	}
	bad := &trace.Trace{Windows: []trace.Window{{Index: 3}}}
	if _, err := (&Featurizer{}).FeaturizeTrace(bad); !errors.Is(err, trace.ErrMalformed) {
		t.Fatalf("malformed: %v", err)
	}
}
