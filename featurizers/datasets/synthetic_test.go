package datasets

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

const miniMap = "# comment\ni386_nr\ti386_name\tcount_all_traces\tx86_64_name\tx86_64_nr\tnote\n" +
	"3\tread\t1\tread\t0\tsame name\n4\twrite\t1\twrite\t1\tsame name\n" +
	"102\tsocketcall\t1\t\t\tmultiplexer\n192\tmmap2\t1\tmmap\t9\t32-bit variant\n"

func TestADFATrace(t *testing.T) {
	m, err := ReadSyscallMap(strings.NewReader(miniMap), "map.tsv")
	if err != nil {
		t.Fatal(err)
	}
	calls, dropped, err := ReadADFATrace(strings.NewReader("3 192 102  4 \n"), "t.txt", m, true, Limits{})
	if err != nil || dropped != 0 || !slices.Equal(calls, []string{"read", "mmap", "socketcall", "write"}) {
		t.Fatalf("x86: %v %d %v", calls, dropped, err)
	}
	calls, _, _ = ReadADFATrace(strings.NewReader("192 3"), "t.txt", m, false, Limits{})
	if !slices.Equal(calls, []string{"mmap2", "read"}) {
		t.Fatalf("i386: %v", calls)
	}
	calls, dropped, _ = ReadADFATrace(strings.NewReader("3 3 4 4 4"), "t.txt", m, true, Limits{MaxCalls: 2})
	if len(calls) != 2 || dropped != 3 {
		t.Fatalf("cap: %v %d", calls, dropped)
	}
	for _, bad := range []string{"3 5", "3 x", "3\n4 999", "1234567890123"} {
		_, _, err := ReadADFATrace(strings.NewReader(bad), "t.txt", m, true, Limits{})
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "t.txt:") {
			t.Errorf("%q: %v, want ErrFormat naming t.txt:LINE", bad, err)
		}
	}
	if _, _, err := ReadADFATrace(strings.NewReader("3 3 3 3"), "t.txt", m, true, Limits{MaxLineBytes: 4}); !errors.Is(err, ErrLimit) {
		t.Errorf("long line: %v", err)
	}
}

func TestCallNamesAndFHIDSTar(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name, body string) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.WriteHeader(&tar.Header{Name: "FHIDS/", Typeflag: tar.TypeDir, Mode: 0o755})
	add("FHIDS/normal/SSH/2.txt", "read write close")
	add("FHIDS/attack/Cryptomining/1.txt", "execve write exit_group")
	add("FHIDS/README", "not a trace")
	tw.Close()
	recs, err := ReadFHIDSTar(&buf, "x.tar", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].ID != "FHIDS/attack/Cryptomining/1.txt" || recs[0].Label != LabelAttack ||
		recs[0].Class != "Cryptomining" || recs[1].Group != "SSH" || recs[1].Class != "" ||
		!slices.Equal(recs[1].Calls, []string{"read", "write", "close"}) {
		t.Fatalf("%+v", recs)
	}
	buf.Reset()
	tw = tar.NewWriter(&buf)
	add("FHIDS/other/SSH/1.txt", "read")
	tw.Close()
	if _, err := ReadFHIDSTar(&buf, "x.tar", Limits{}); !errors.Is(err, ErrFormat) {
		t.Errorf("bad layout: %v", err)
	}
	if _, _, err := ReadCallNames(strings.NewReader("read wr!te"), "f", Limits{}); !errors.Is(err, ErrFormat) {
		t.Errorf("bad name: %v", err)
	}
}

func TestMalBehavD(t *testing.T) {
	csv := "sha256,labels,0,1,2\naa,1,LdrLoadDll,NtClose,\nbb,0,GetTickCount,,\n"
	recs, err := ReadMalBehavD(strings.NewReader(csv), "m.csv", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Label != LabelMalware || recs[1].Label != LabelBenign ||
		!slices.Equal(recs[0].Calls, []string{"LdrLoadDll", "NtClose"}) {
		t.Fatalf("%+v", recs)
	}
	for _, bad := range []string{
		"sha256,labels,0\naa,2,X\n",        // label
		"sha256,labels,0,1\naa,1,,X\n",     // gap
		"sha256,labels,0,1\naa,1,X\n",      // width
		"sha,labels,0\n",                   // header
		"sha256,labels,0\naa,1,\"X\n",      // csv quote
		"sha256,labels,0\naa,1,Bad Name\n", // name
	} {
		if _, err := ReadMalBehavD(strings.NewReader(bad), "m.csv", Limits{}); !errors.Is(err, ErrFormat) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestMalAPI(t *testing.T) {
	names, err := ReadAPIIndex(strings.NewReader("ntclose=0\nldrloaddll=1\n\nregopenkeyexa=3\n"), "idx")
	if err != nil || len(names) != 4 || names[2] != "" {
		t.Fatalf("%v %v", names, err)
	}
	recs, err := ReadMalAPI(strings.NewReader("1,0,3\n0\n"), strings.NewReader("Trojan\nVirus\n"), names, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Class != "Trojan" || recs[1].ID != "calls.txt:2" ||
		!slices.Equal(recs[0].Calls, []string{"ldrloaddll", "ntclose", "regopenkeyexa"}) {
		t.Fatalf("%+v", recs)
	}
	for _, c := range []struct{ calls, types string }{
		{"1,2\n", "Trojan\n"},      // gap index
		{"1,9\n", "Trojan\n"},      // out of range
		{"1\n0\n", "Trojan\n"},     // fewer types
		{"1\n", "Trojan\nVirus\n"}, // more types
		{"1\n", "Tro jan\n"},       // bad type
		{"\n", "Trojan\n"},         // empty sequence
	} {
		_, err := ReadMalAPI(strings.NewReader(c.calls), strings.NewReader(c.types), names, Limits{})
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%q/%q: %v", c.calls, c.types, err)
		}
	}
}

func TestCuckooReport(t *testing.T) {
	recs, err := LoadCuckooReport("testdata/cuckoo_report.json", CuckooOptions{Label: LabelMalware})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"LdrLoadDll", "NtCreateFile", "NtWriteFile", "CreateProcessInternalW", "NtOpenKey", "NtClose"}
	if len(recs) != 1 || !slices.Equal(recs[0].Calls, want) || recs[0].Label != LabelMalware {
		t.Fatalf("%+v", recs)
	}
	recs, err = LoadCuckooReport("testdata/cuckoo_report.json", CuckooOptions{PerProcess: true, Limits: Limits{MaxCalls: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0].Group != "sample.exe:1204" || len(recs[0].Calls) != 3 || recs[0].Dropped != 1 ||
		recs[1].Group != "cmd.exe:1300" || len(recs[2].Calls) != 0 {
		t.Fatalf("%+v", recs)
	}
	recs, err = LoadCuckooReport("testdata/cape_report.json", CuckooOptions{})
	if err != nil || !slices.Equal(recs[0].Calls, []string{"WSAStartup", "connect"}) {
		t.Fatalf("cape: %+v %v", recs, err)
	}
	if _, err := LoadCuckooReport("testdata/cuckoo_report.json", CuckooOptions{Limits: Limits{MaxBytes: 100}}); !errors.Is(err, ErrLimit) {
		t.Errorf("size limit by stat: %v", err)
	}
	big := `{"behavior":{"processes":[]},"pad":"` + strings.Repeat("x", 200) + `"}`
	if _, err := ReadCuckooReport(strings.NewReader(big), "r", CuckooOptions{Limits: Limits{MaxBytes: 100}}); !errors.Is(err, ErrLimit) {
		t.Errorf("size limit while reading: %v", err)
	}
	if recs, err := ReadCuckooReport(strings.NewReader(`{"info":{}}`), "r", CuckooOptions{}); err != nil || len(recs) != 1 || len(recs[0].Calls) != 0 {
		t.Errorf("no behaviour: %+v %v", recs, err)
	}
	for _, bad := range []string{`{"behavior":{"processes":[{"calls":[{"api":5}]}]}}`,
		`{"behavior":{"processes":[{"calls":[{"category":"x"}]}]}}`, `{"behavior":[`, `[]`, `{} {}`,
		`{"behavior":{"processes":{}}}`} {
		if _, err := ReadCuckooReport(strings.NewReader(bad), "r", CuckooOptions{}); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestFromTrace(t *testing.T) {
	tr := &trace.Trace{
		Windows: []trace.Window{
			{Index: 0, Start: 0, End: 100, Events: []trace.Event{
				{T: 20, PID: 2, Name: "openat"}, {T: 10, PID: 1, Name: "execve"}, {T: 30, PID: 1, Name: "read"}}},
			{Index: 1, Start: 100, End: 200},
			{Index: 2, Start: 200, End: 300, Dropped: 4, Events: []trace.Event{{T: 250, PID: 2, Name: "exit_group"}}},
		},
		Summary: trace.Summary{Processes: []trace.Process{{PID: 1, Exe: "/bin/sh"}, {PID: 2, PPID: 1, Exe: "/bin/cat"}}},
	}
	whole, err := FromTrace(tr, "run1", TraceOptions{Label: LabelMalware})
	if err != nil || len(whole) != 1 || whole[0].Dropped != 4 ||
		!slices.Equal(whole[0].Calls, []string{"execve", "openat", "read", "exit_group"}) {
		t.Fatalf("whole: %+v %v", whole, err)
	}
	procs, _ := FromTrace(tr, "run1", TraceOptions{Split: SplitProcess})
	if len(procs) != 2 || procs[0].Group != "1:/bin/sh" || !slices.Equal(procs[0].Calls, []string{"execve", "read"}) ||
		!slices.Equal(procs[1].Calls, []string{"openat", "exit_group"}) || procs[1].ID != "run1#2" {
		t.Fatalf("process: %+v", procs)
	}
	wins, _ := FromTrace(tr, "run1", TraceOptions{Split: SplitWindow})
	if len(wins) != 2 || wins[1].Group != "window:2" || wins[1].Dropped != 4 ||
		!slices.Equal(wins[0].Calls, []string{"execve", "openat", "read"}) {
		t.Fatalf("window: %+v", wins)
	}
	tr.Windows[1].Index = 5
	if _, err := FromTrace(tr, "run1", TraceOptions{}); !errors.Is(err, ErrFormat) || !errors.Is(err, trace.ErrMalformed) {
		t.Errorf("invalid trace: %v", err)
	}
}

func TestDedup(t *testing.T) {
	recs := []SeqRecord{
		{ID: "a", Label: LabelBenign, Calls: []string{"x", "y"}},
		{ID: "b", Label: LabelBenign, Calls: []string{"x", "y"}},
		{ID: "c", Label: LabelMalware, Calls: []string{"x", "y"}},
		{ID: "d", Label: LabelBenign, Calls: []string{"xy"}},
		{ID: "e", Label: LabelBenign, Calls: []string{"x", "y"}},
	}
	out, removed := Dedup(recs)
	ids := []string{}
	for _, r := range out {
		ids = append(ids, r.ID)
	}
	if removed != 2 || !slices.Equal(ids, []string{"a", "c", "d"}) {
		t.Fatalf("removed %d, kept %v", removed, ids)
	}
	if n := Conflicts(recs); n != 1 {
		t.Errorf("conflicts %d, want 1", n)
	}
	if Digest([]string{"ab", "c"}) == Digest([]string{"a", "bc"}) {
		t.Error("digest ignores name boundaries")
	}
}

func TestI386NamesMapToX86_64(t *testing.T) {
	for in, want := range map[string]string{
		"_llseek": "lseek", "mmap2": "mmap", "fstat64": "fstat", "stat64": "stat", "fcntl64": "fcntl",
		"ugetrlimit": "getrlimit", "waitpid": "wait4", "sigreturn": "rt_sigreturn", "getuid32": "getuid",
		"clock_gettime64": "clock_gettime", "futex_time64": "futex", "clock_nanosleep_time64": "clock_nanosleep",
		"socketcall": "socketcall", "read": "read", "execve": "execve", "fstatat64": "newfstatat",
	} {
		if got := I386Name(in); got != want {
			t.Errorf("I386Name(%q) = %q, want %q", in, got, want)
		}
	}
	tr := &trace.Trace{Windows: []trace.Window{{Index: 0, End: 10, Events: []trace.Event{
		{T: 1, PID: 1, Name: "mmap2", ABI: trace.ABII386},
		{T: 2, PID: 1, Name: "_llseek", ABI: trace.ABII386},
		{T: 3, PID: 1, Name: "mmap2"}, // no ABI mark: a name of the x86-64 table, kept
		{T: 4, PID: 1, Name: "read", ABI: trace.ABII386},
	}}}}
	recs, err := FromTrace(tr, "t", TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0].Calls, " "); got != "mmap lseek mmap2 read" {
		t.Fatalf("calls %q", got)
	}
}

// Every 32-bit variant in ADFA-LD's own number map agrees with I386Name.
func TestI386NamesAgreeWithADFAMap(t *testing.T) {
	f, err := os.Open(filepath.Join(dataPath(t, ADFADir), ADFASyscallMap))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := ReadSyscallMap(f, f.Name())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for nr, name := range m.I386 {
		want, ok := m.X86_64[nr]
		if !ok {
			continue
		}
		n++
		if got := I386Name(name); got != want {
			t.Errorf("i386 %d %s: I386Name %q, ADFA-LD map %q", nr, name, got, want)
		}
	}
	if n < 100 {
		t.Fatalf("only %d mapped numbers", n)
	}
}
