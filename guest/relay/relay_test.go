package relay

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// relayish matches every line that looks like a relay call or return of a
// Module.Func; Parse must accept all of them.
var relayish = regexp.MustCompile(`^( *[0-9]+\.[0-9]{3}:)?([0-9a-f]{4,8}:){1,2}(Call|Ret) +[^ (]+\.[^ (]+\(`)

func readLines(t testing.TB, name string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, MaxLine)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

// TestRealLogs parses relay output recorded from Debian 12's wine 8.0
// (testdata/*.log, see testdata/README.md): every relay-looking line parses,
// no other line does, and calls pair with returns.
func TestRealLogs(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.log")
	if len(files) < 5 {
		t.Fatalf("testdata has %d logs, want the 6 recorded ones", len(files))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			calls, rets := map[string]int{}, map[string]int{}
			for i, line := range readLines(t, name) {
				l, err := Parse(line)
				if relayish.Match(line) {
					if err != nil {
						t.Fatalf("line %d: %v: %s", i+1, err, line)
					}
				} else {
					if err == nil {
						t.Fatalf("line %d parsed but is no relay line: %s", i+1, line)
					}
					if !errors.Is(err, ErrNotRelay) {
						t.Fatalf("line %d: error %v does not wrap ErrNotRelay", i+1, err)
					}
					continue
				}
				if l.TID == 0 || l.Module == "" || l.Func == "" || l.Caller == "" {
					t.Fatalf("line %d: incomplete %+v", i+1, l)
				}
				wantPID := strings.Contains(name, "pid") && !strings.Contains(name, "nopid")
				if (l.PID != 0) != wantPID {
					t.Fatalf("line %d: pid %d, want one: %v", i+1, l.PID, wantPID)
				}
				switch l.Kind {
				case Call:
					if l.Truncated && !strings.HasPrefix(name, "edge") {
						t.Fatalf("line %d: truncated: %s", i+1, line)
					}
					calls[l.Module+"."+l.Func]++
				case Ret:
					if l.Retval == "" || len(l.Args) != 0 || l.Path != "" {
						t.Fatalf("line %d: bad return %+v", i+1, l)
					}
					rets[l.Module+"."+l.Func]++
				}
			}
			if len(calls) == 0 {
				t.Fatal("no calls parsed")
			}
			if strings.HasPrefix(name, "edge") {
				return
			}
			// Excerpts start at the program's first thread: every call it
			// made returned, except ExitProcess and the one in flight where
			// an excerpt was cut.
			for k, n := range calls {
				if rets[k] != n && rets[k] != n-1 {
					t.Errorf("%s: %d calls, %d returns", k, n, rets[k])
				}
			}
		})
	}
}

func parseAll(t *testing.T, name string) []Line {
	t.Helper()
	var out []Line
	for _, line := range readLines(t, name) {
		if l, err := Parse(line); err == nil {
			out = append(out, l)
		}
	}
	return out
}

func find(ls []Line, kind Kind, fn string) []Line {
	var out []Line
	for _, l := range ls {
		if l.Kind == kind && l.Func == fn {
			out = append(out, l)
		}
	}
	return out
}

// TestRunKeyBehaviour checks the decoded fields of the persistence sample's
// registry calls, as wine 8.0 logged them.
func TestRunKeyBehaviour(t *testing.T) {
	ls := parseAll(t, "runkey-pid.log")
	set := find(ls, Call, "RegSetValueExA")
	if len(set) != 2 {
		t.Fatalf("%d RegSetValueExA calls, want 2", len(set))
	}
	c := set[0]
	if c.Module != "advapi32" || c.Path != "SmnTestPersistence" || len(c.Args) != 6 || c.PID == 0 || c.TID == 0 {
		t.Fatalf("RegSetValueExA: %+v", c)
	}
	if !strings.HasSuffix(c.Args[1], `"SmnTestPersistence"`) || c.Args[3] != "00000001" /* REG_SZ */ {
		t.Fatalf("args %q", c.Args)
	}
	create := find(ls, Call, "RegCreateKeyExA")
	if len(create) == 0 || create[0].Path != `Software\Microsoft\Windows\CurrentVersion\Run` {
		t.Fatalf("RegCreateKeyExA: %+v", create)
	}
	ret := find(ls, Ret, "RegSetValueExA")
	if len(ret) != 2 || ret[0].Retval != "00000000" || ret[0].Caller != c.Caller {
		t.Fatalf("RegSetValueExA returns: %+v (call from %s)", ret, c.Caller)
	}
	for _, fn := range []string{"RegDeleteValueA", "RegDeleteKeyA", "NtSetValueKey", "NtDeleteKey", "NtDeleteValueKey"} {
		if len(find(ls, Call, fn)) == 0 {
			t.Errorf("no %s call", fn)
		}
	}
}

// TestInjectBehaviour checks that the injection sample's calls and its two
// processes are told apart by pid.
func TestInjectBehaviour(t *testing.T) {
	ls := parseAll(t, "inject-pid.log")
	pids := map[int]bool{}
	for _, l := range ls {
		pids[l.PID] = true
	}
	if len(pids) != 2 {
		t.Fatalf("pids %v, want the injector and its target", pids)
	}
	for _, fn := range []string{"CreateProcessA", "OpenProcess", "VirtualAllocEx", "WriteProcessMemory", "CreateRemoteThread", "NtWriteVirtualMemory", "NtCreateUserProcess"} {
		if len(find(ls, Call, fn)) != 1 {
			t.Errorf("%d %s calls, want 1", len(find(ls, Call, fn)), fn)
		}
	}
	cp := find(ls, Call, "CreateProcessA")
	if len(cp) == 1 && !strings.HasSuffix(cp[0].Path, `\hostname.exe`) {
		t.Errorf("CreateProcessA path %q", cp[0].Path)
	}
}

func TestParseCases(t *testing.T) {
	long := strings.Repeat("A", 5000)
	manyArgs := "0024:Call m.f(" + strings.TrimSuffix(strings.Repeat("00000001,", 40), ",") + ") ret=1"
	cases := []struct {
		name, in string
		want     Line
		err      bool
	}{
		{"tid only", `0024:Call KERNEL32.CreateFileA(0040a000 "C:\\users\\x.txt",40000000) ret=00401234`,
			Line{Kind: Call, TID: 0x24, Module: "KERNEL32", Func: "CreateFileA", Args: []string{`0040a000 "C:\\users\\x.txt"`, "40000000"}, Path: `C:\users\x.txt`, Caller: "00401234"}, false},
		{"return", `0024:Ret  KERNEL32.CreateFileA() retval=00000034 ret=00401234`,
			Line{Kind: Ret, TID: 0x24, Module: "KERNEL32", Func: "CreateFileA", Retval: "00000034", Caller: "00401234"}, false},
		{"pid and tid", `0154:0158:Call ntdll.NtClose(00000030) ret=7b0451a3`,
			Line{Kind: Call, PID: 0x154, TID: 0x158, Module: "ntdll", Func: "NtClose", Args: []string{"00000030"}, Caller: "7b0451a3"}, false},
		{"timestamp, small", `  1.005:0024:Call KERNEL32.GetTickCount() ret=1400015b3`,
			Line{Kind: Call, TID: 0x24, Module: "KERNEL32", Func: "GetTickCount", Caller: "1400015b3"}, false},
		{"timestamp and pid", `912.981:0204:0208:Ret  KERNEL32.Sleep() retval=00000000 ret=14000125e`,
			Line{Kind: Ret, PID: 0x204, TID: 0x208, Module: "KERNEL32", Func: "Sleep", Retval: "00000000", Caller: "14000125e"}, false},
		{"wide with escapes", `0024:Call KERNEL32.CreateFileW(140004000 L"smn-\00e9\d83d\de00\t\"q\".txt",40000000) ret=1`,
			Line{Kind: Call, TID: 0x24, Module: "KERNEL32", Func: "CreateFileW", Args: []string{`140004000 L"smn-\00e9\d83d\de00\t\"q\".txt"`, "40000000"}, Path: "smn-é😀\t\"q\".txt", Caller: "1"}, false},
		{"narrow byte escapes", `0024:Call KERNEL32.CreateFileA(140004020 "caf\xe9\r\n.txt") ret=1`,
			Line{Kind: Call, TID: 0x24, Module: "KERNEL32", Func: "CreateFileA", Args: []string{`140004020 "caf\xe9\r\n.txt"`}, Path: "caf\xe9\r\n.txt", Caller: "1"}, false},
		{"lone surrogate", `0024:Call k.f(1000 L"a\d800b") ret=1`,
			Line{Kind: Call, TID: 0x24, Module: "k", Func: "f", Args: []string{`1000 L"a\d800b"`}, Path: "a\uFFFDb", Caller: "1"}, false},
		{"string cut by wine", `0024:Call KERNEL32.CompareStringW(00000800,0166078e L"abc"...,00000007) ret=2`,
			Line{Kind: Call, TID: 0x24, Module: "KERNEL32", Func: "CompareStringW", Args: []string{"00000800", `0166078e L"abc"...`, "00000007"}, Path: "abc", Caller: "2"}, false},
		{"comma and paren in string", `0024:Call k.f(1000 "a,b) ret=c",2) ret=3`,
			Line{Kind: Call, TID: 0x24, Module: "k", Func: "f", Args: []string{`1000 "a,b) ret=c"`, "2"}, Path: "a,b) ret=c", Caller: "3"}, false},
		{"ordinal", `0024:Call KERNEL32.123(00000001) ret=1`,
			Line{Kind: Call, TID: 0x24, Module: "KERNEL32", Func: "123", Args: []string{"00000001"}, Caller: "1"}, false},
		{"dotted module", `0024:Call winex11.drv.CreateWindow(00000001) ret=1`,
			Line{Kind: Call, TID: 0x24, Module: "winex11.drv", Func: "CreateWindow", Args: []string{"00000001"}, Caller: "1"}, false},
		{"i386 int128 and float", `0024:Call m.f({00000001,00000002,00000003,00000004},1.5,-inf) ret=7b000000`,
			Line{Kind: Call, TID: 0x24, Module: "m", Func: "f", Args: []string{"{00000001,00000002,00000003,00000004}", "1.5", "-inf"}, Caller: "7b000000"}, false},
		{"invalid string is no path", `0024:Call m.f(140009059 (invalid),20000 "p") ret=1`,
			Line{Kind: Call, TID: 0x24, Module: "m", Func: "f", Args: []string{"140009059 (invalid)", `20000 "p"`}, Path: "p", Caller: "1"}, false},
		{"truncated line", `0024:Call KERNEL32.CreateFileA(0040a000 "C:\\us`,
			Line{Kind: Call, TID: 0x24, Module: "KERNEL32", Func: "CreateFileA", Args: []string{`0040a000 "C:\\us`}, Path: `C:\us`, Truncated: true}, false},
		{"truncated after name", `0024:Call KERNEL32.CreateFileA(`,
			Line{Kind: Call, TID: 0x24, Module: "KERNEL32", Func: "CreateFileA", Truncated: true}, false},
		{"crlf", "0024:Ret  m.f() retval=00000001 ret=2\r",
			Line{Kind: Ret, TID: 0x24, Module: "m", Func: "f", Retval: "00000001", Caller: "2"}, false},
		{"dll entry point", `0108:010c:Call PE DLL (proc=0000000170068C10,module=0000000170000000 L"ntdll.dll",reason=PROCESS_ATTACH,res=000000000021FB00)`, Line{}, true},
		{"tls callback", `0108:010c:Call TLS callback (proc=0000000140001690,module=0000000140000000,reason=PROCESS_ATTACH,res=00000000)`, Line{}, true},
		{"window proc", `0134:0138:Call window proc 00000002169EF630 (hwnd=000000000001003E,msg=WM_NCCREATE,wp=00000000,lp=00)`, Line{}, true},
		{"trace line", `0024:trace:relay:load_list L"RelayExclude" = L"x"`, Line{}, true},
		{"err line", `0134:0138:err:winediag:nodrv_CreateWindow Application tried to create a window`, Line{}, true},
		{"program output", `wine: Unhandled page fault on execute access to 0000000000000010`, Line{}, true},
		{"no prefix", `Call KERNEL32.CreateFileA(0) ret=1`, Line{}, true},
		{"empty", ``, Line{}, true},
		{"ret with args", `0024:Ret  m.f(1) retval=1 ret=2`, Line{}, true},
		{"no dot", `0024:Call CreateFileA(1) ret=2`, Line{}, true},
		{"hex too long", `123456789:Call m.f() ret=2`, Line{}, true},
		{"long path", `0024:Call m.f(1000 "` + long + `") ret=1`, Line{}, false},
		{"many args", manyArgs, Line{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse([]byte(c.in))
			if c.err {
				if err == nil || !errors.Is(err, ErrNotRelay) {
					t.Fatalf("got %+v, %v; want ErrNotRelay", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch c.name {
			case "long path":
				if len(got.Path) != MaxPath || len(got.Args) != 1 || len(got.Args[0]) != MaxArgLen {
					t.Fatalf("path %d bytes, args %d/%d bytes", len(got.Path), len(got.Args), len(got.Args[0]))
				}
				return
			case "many args":
				if len(got.Args) != MaxArgs || got.Caller != "1" {
					t.Fatalf("%d args, caller %q", len(got.Args), got.Caller)
				}
				return
			}
			if !equal(got, c.want) {
				t.Fatalf("got  %#v\nwant %#v", got, c.want)
			}
		})
	}
}

func equal(a, b Line) bool {
	if len(a.Args) != len(b.Args) {
		return false
	}
	for i := range a.Args {
		if a.Args[i] != b.Args[i] {
			return false
		}
	}
	return a.Kind == b.Kind && a.PID == b.PID && a.TID == b.TID && a.Module == b.Module && a.Func == b.Func &&
		a.Path == b.Path && a.Retval == b.Retval && a.Caller == b.Caller && a.Truncated == b.Truncated
}

func TestParseLongLine(t *testing.T) {
	line := []byte("0024:Call m.f(1000 \"" + strings.Repeat("x", 2*MaxLine) + "\") ret=1")
	l, err := Parse(line)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Truncated || len(l.Path) != MaxPath {
		t.Fatalf("line over MaxLine: truncated %v, path %d", l.Truncated, len(l.Path))
	}
}

func TestParseDLLEntry(t *testing.T) {
	pid, tid, mod, reason, ok := ParseDLLEntry([]byte(`0108:010c:Call PE DLL (proc=0000000170068C10,module=0000000170000000 L"ntdll.dll",reason=PROCESS_ATTACH,res=000000000021FB00)`))
	if !ok || pid != 0x108 || tid != 0x10c || mod != "ntdll.dll" || reason != "PROCESS_ATTACH" {
		t.Fatalf("got %x %x %q %q %v", pid, tid, mod, reason, ok)
	}
	for _, bad := range []string{
		`0108:010c:Call TLS callback (proc=0000000140001690,module=0000000140000000,reason=PROCESS_ATTACH,res=00000000)`,
		`0024:Call KERNEL32.CreateFileA(0) ret=1`, `Call PE DLL (module=1 L"x",reason=y)`, ``,
	} {
		if _, _, _, _, ok := ParseDLLEntry([]byte(bad)); ok {
			t.Errorf("accepted %q", bad)
		}
	}
	// Every "Call PE DLL" line of the real log names its module.
	n := 0
	for _, line := range readLines(t, "edge-pid.log") {
		if bytes.Contains(line, []byte("Call PE DLL")) {
			if _, _, mod, _, ok := ParseDLLEntry(line); !ok || !strings.HasSuffix(mod, ".dll") {
				t.Errorf("%q: %q %v", line, mod, ok)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no PE DLL lines in testdata")
	}
}

func TestNames(t *testing.T) {
	ns := Names()
	if !sort.StringsAreSorted(ns) {
		t.Fatal("Names not sorted")
	}
	set := map[string]bool{}
	for _, n := range ns {
		if set[n] || n == "" || strings.ContainsAny(n, "; .") {
			t.Fatalf("bad or repeated name %q", n)
		}
		set[n] = true
	}
	for _, n := range []string{"CreateFileA", "CreateFileW", "NtCreateFile", "NtWriteFile", "RegSetValueExA", "NtSetValueKey",
		"LdrLoadDll", "WriteProcessMemory", "CreateRemoteThread", "NtWriteVirtualMemory", "IsDebuggerPresent",
		"CreateToolhelp32Snapshot", "Process32NextW", "CryptEncrypt", "bind", "send"} {
		if !set[n] {
			t.Errorf("%s not recorded", n)
		}
	}
	for _, n := range NotRelayed() {
		if set[n] {
			t.Errorf("%s both recorded and not relayable", n)
		}
	}
	if inc := Include(); inc != strings.Join(ns, ";") || strings.Contains(inc, ";;") {
		t.Fatal("Include is not Names joined by ;")
	}
	// Names must not be changed through the returned slice.
	ns[0] = "x"
	if Names()[0] == "x" {
		t.Fatal("Names returns shared storage")
	}
}

// TestNamesCoverVocabularies checks the committed list against the datasets
// when they are at hand (../shared/datasets next to the repository): every
// vocabulary name is recorded (case-insensitively, as the datasets disagree
// on case) or listed as not relayable.
func TestNamesCoverVocabularies(t *testing.T) {
	root := filepath.Join("..", "..", "..", "shared", "datasets")
	mb := filepath.Join(root, "malbehavd_v1", "MalBehavD-V1-dataset.csv")
	ma := filepath.Join(root, "catak_mal_api_2019", "ApiIndex.txt")
	if _, err := os.Stat(mb); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("datasets missing: %v", err)
		}
		t.Skipf("datasets not at hand (%v)", err)
	}
	known := map[string]bool{}
	for _, n := range append(Names(), NotRelayed()...) {
		known[strings.ToLower(n)] = true
	}
	var vocab []string
	f, err := os.Open(mb)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs[1:] {
		for _, c := range rec[2:] {
			if c != "" {
				vocab = append(vocab, c)
			}
		}
	}
	data, err := os.ReadFile(ma)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if i := strings.LastIndexByte(l, '='); i > 0 {
			vocab = append(vocab, strings.TrimSpace(l[:i]))
		}
	}
	if len(vocab) < 600 {
		t.Fatalf("only %d vocabulary entries read", len(vocab))
	}
	for _, n := range vocab {
		if !known[strings.ToLower(n)] {
			t.Errorf("vocabulary name %q neither recorded nor listed as not relayable (go generate ./guest/relay)", n)
		}
	}
}

// BenchmarkParse parses the recorded relay lines (calls, returns and other
// lines in their real mix); the flood sample writes about 120,000 lines a
// second on the host, which the agent must keep up with.
func BenchmarkParse(b *testing.B) {
	var lines [][]byte
	size := 0
	for _, name := range []string{"runkey-pid.log", "inject-pid.log", "edge-pid.log"} {
		for _, l := range readLines(b, name) {
			lines = append(lines, l)
			size += len(l) + 1
		}
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, l := range lines {
			_, _ = Parse(l)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/line")
}
