package datasets

import (
	"archive/tar"
	"bytes"
	"errors"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// fuzzLimits are small so the fuzzer reaches the limits.
var fuzzLimits = Limits{MaxCalls: 8, MaxCallBytes: 32, MaxLineBytes: 4096, MaxRecords: 16, MaxBytes: 8192}

// checkErr fails unless err is nil or wraps one of the package's kinds.
func checkErr(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrLimit) {
		t.Fatalf("error of no known kind: %v", err)
	}
}

func checkRecs(t *testing.T, recs []SeqRecord) {
	t.Helper()
	if len(recs) > fuzzLimits.MaxRecords {
		t.Fatalf("%d records over the limit", len(recs))
	}
	for _, r := range recs {
		if len(r.Calls) > fuzzLimits.MaxCalls {
			t.Fatalf("%d calls over the limit", len(r.Calls))
		}
	}
}

func FuzzSyscallMap(f *testing.F) {
	f.Add([]byte(miniMap))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadSyscallMap(bytes.NewReader(b), "map.tsv")
		checkErr(t, err)
		if err == nil && len(m.I386) == 0 {
			t.Fatal("empty map accepted")
		}
	})
}

func FuzzADFATrace(f *testing.F) {
	m, err := ReadSyscallMap(bytes.NewReader([]byte(miniMap)), "map.tsv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("3 4 192 102 \n"))
	f.Add([]byte("3\r\n4\t4"))
	f.Fuzz(func(t *testing.T, b []byte) {
		calls, _, err := ReadADFATrace(bytes.NewReader(b), "t.txt", m, true, fuzzLimits)
		checkErr(t, err)
		checkRecs(t, []SeqRecord{{Calls: calls}})
	})
}

func FuzzFHIDSTar(f *testing.F) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := "read write close"
	tw.WriteHeader(&tar.Header{Name: "FHIDS/normal/SSH/1.txt", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write([]byte(body))
	tw.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := ReadFHIDSTar(bytes.NewReader(b), "x.tar", fuzzLimits)
		checkErr(t, err)
		checkRecs(t, recs)
		calls, _, err := ReadCallNames(bytes.NewReader(b), "x.txt", fuzzLimits)
		checkErr(t, err)
		checkRecs(t, []SeqRecord{{Calls: calls}})
	})
}

func FuzzMalBehavD(f *testing.F) {
	f.Add([]byte("sha256,labels,0,1,2\naa,1,LdrLoadDll,NtClose,\nbb,0,GetTickCount,,\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := ReadMalBehavD(bytes.NewReader(b), "m.csv", fuzzLimits)
		checkErr(t, err)
		checkRecs(t, recs)
	})
}

func FuzzMalAPI(f *testing.F) {
	f.Add([]byte("ntclose=0\nldrloaddll=1\n\nregopenkeyexa=3\n"), []byte("1,0,3\n0\n"), []byte("Trojan\nVirus\n"))
	f.Fuzz(func(t *testing.T, idx, calls, types []byte) {
		names, err := ReadAPIIndex(bytes.NewReader(idx), "idx")
		checkErr(t, err)
		if err != nil {
			names = []string{"a", "b", "", "d"}
		}
		recs, err := ReadMalAPI(bytes.NewReader(calls), bytes.NewReader(types), names, fuzzLimits)
		checkErr(t, err)
		checkRecs(t, recs)
	})
}

func FuzzCuckooReport(f *testing.F) {
	f.Add([]byte(`{"behavior":{"processes":[{"process_id":1,"process_name":"a.exe","calls":[{"api":"NtClose","arguments":{"x":[1,{"y":null}]}}]}]}}`))
	f.Add([]byte(`{"behavior":{"processes":[{"calls":[{"api":"A"},{"api":"B"}]},{"calls":null}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, per := range []bool{false, true} {
			recs, err := ReadCuckooReport(bytes.NewReader(b), "r.json", CuckooOptions{PerProcess: per, Limits: fuzzLimits})
			checkErr(t, err)
			checkRecs(t, recs)
		}
	})
}

func FuzzFromTrace(f *testing.F) {
	f.Add([]byte(`{"window":{"index":0,"start":0,"end":10,"events":[{"t":1,"pid":1,"tid":1,"nr":0,"name":"read","ret":0}]}}` + "\n" +
		`{"summary":{"outcome":"exited","exit_code":0,"duration_ns":10,"windows":1,"events":1,"kept":1,"truncated":false,"processes":[{"pid":1,"ppid":0,"start":0,"threads":1,"syscalls":1}]}}` + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := trace.ReadJSONL(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, s := range []TraceSplit{SplitWhole, SplitProcess, SplitWindow} {
			recs, err := FromTrace(tr, "run", TraceOptions{Split: s, Limits: Limits{MaxCalls: 8}})
			if err != nil {
				t.Fatalf("valid trace refused: %v", err)
			}
			for _, r := range recs {
				if len(r.Calls) > 8 {
					t.Fatal("calls over the limit")
				}
			}
		}
	})
}
