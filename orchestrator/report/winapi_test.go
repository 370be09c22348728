package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// wineCalls builds API calls in the shape the agent records from Wine's
// relay channel: module and function as Wine names them, raw argument
// texts (hex integers without prefix, strings quoted after their pointer),
// the first string in Path, the return value in hex.
type wineCalls struct {
	t   int64
	api []trace.APICall
}

func (w *wineCalls) call(tid int, mod, fn, ret string, args ...string) {
	w.t += 1e6
	c := trace.APICall{T: w.t, PID: 0x20, TID: tid, Module: mod, Func: fn, Ret: ret, Args: args}
	for _, a := range args {
		if s := unquoteWine(a); s != "" {
			c.Path = s
			break
		}
	}
	w.api = append(w.api, c)
}

// windows splits the calls into two windows with counts, the second one
// with some calls counted but not kept.
func (w *wineCalls) windows() []trace.Window {
	half := len(w.api) / 2
	mk := func(i int, calls []trace.APICall, dropped int) trace.Window {
		counts := map[string]int{}
		for _, c := range calls {
			counts[c.Name()]++
		}
		counts["KERNEL32.Sleep"] += dropped
		return trace.Window{Index: i, Start: int64(i) * 1e9, End: int64(i+1) * 1e9, API: calls, APICounts: counts, APIDropped: dropped}
	}
	return []trace.Window{mk(0, w.api[:half], 0), mk(1, w.api[half:], 7)}
}

func sampleWineRun() *wineCalls {
	w := &wineCalls{}
	// Loader.
	w.call(0x24, "ntdll", "LdrLoadDll", "0", "00000000", "00000000", `0021f7a0 L"advapi32.dll"`)
	w.call(0x24, "KERNEL32", "LoadLibraryA", "7b600000", `14000a000 "WS2_32.dll"`)
	w.call(0x24, "ntdll", "LdrLoadDll", "0", `0036d460 L"Z:\tmp;C:\windows\system32"`, "00000000", "0021e610", "0021e5b8") // as Wine prints it: the search path, the name behind a pointer
	// Ransomware-like: create a folder's file, write it twice, rename it, delete another.
	w.call(0x24, "KERNEL32", "CreateFileA", "34", `14000a100 "C:\\users\\Public\\lockme\\a.txt"`, "40000000", "00000000", "00000000", "00000002", "00000080", "00000000")
	w.call(0x24, "ntdll", "NtCreateFile", "0", "0021f000", "40100080", "0021efa0", "0021ef90", "00000000", "00000080", "00000000", "00000005", "00000060", "00000000", "00000000")
	w.call(0x24, "KERNEL32", "WriteFile", "1", "00000034", "0021f100", "00000400", "0021f0f0", "00000000")
	w.call(0x24, "ntdll", "NtWriteFile", "0", "00000034", "00000000", "00000000", "00000000", "0021f0a0", "0021f100", "00000400", "00000000", "00000000")
	w.call(0x24, "KERNEL32", "CloseHandle", "1", "00000034")
	w.call(0x24, "KERNEL32", "WriteFile", "1", "00000034", "0021f100", "00000010", "0021f0f0", "00000000") // closed handle: unnamed
	w.call(0x24, "KERNEL32", "CreateFileA", "ffffffffffffffff", `14000a200 "C:\\nope\\b.txt"`, "40000000", "0", "0", "00000002", "80", "0")
	w.call(0x24, "KERNEL32", "MoveFileA", "1", `14000a100 "C:\\users\\Public\\lockme\\a.txt"`, `14000a300 "C:\\users\\Public\\lockme\\a.txt.locked"`)
	w.call(0x24, "KERNEL32", "DeleteFileW", "1", `0021f200 L"C:\\users\\Public\\lockme\\tmp.bin"`)
	// Persistence: a Run key and its value (through the key handle).
	w.call(0x24, "advapi32", "RegCreateKeyExA", "0", "ffffffff80000001", `14000a400 "Software\\Microsoft\\Windows\\CurrentVersion\\Run"`, "0", "0", "0", "000f003f", "0", "0021f300", "0")
	w.call(0x24, "ntdll", "NtCreateKey", "0", "0021f300", "000f003f", "0021f2a0", "0", "0", "0", "0")
	w.call(0x24, "advapi32", "RegSetValueExA", "0", "000000a4", `14000a500 "Updater"`, "0", "00000001", `14000a600 "C:\\x.exe"`, "9")
	w.call(0x24, "ntdll", "NtSetValueKey", "0", "000000a4", "0021f2b0", "0", "1", "0021f400", "12")
	w.call(0x24, "advapi32", "RegDeleteValueA", "0", "80000001", `14000a700 "Old"`)
	w.call(0x24, "advapi32", "RegSetValueExA", "2", "80000002", `14000a800 "Denied"`, "0", "1", "0", "0") // failed
	// Injection: start a process, open it, allocate, write, start a thread.
	w.call(0x24, "KERNEL32", "CreateProcessA", "1", "00000000", `14000a900 "C:\\windows\\system32\\notepad.exe"`, "0", "0", "0", "00000004", "0", "0", "0021f500", "0021f600")
	w.call(0x24, "KERNELBASE", "CreateProcessA", "1", "00000000", `14000a900 "C:\\windows\\system32\\notepad.exe"`, "0", "0", "0", "00000004", "0", "0", "0021f500", "0021f600")
	w.call(0x24, "KERNEL32", "OpenProcess", "00000058", "001fffff", "00000000", "00000124")
	w.call(0x24, "KERNEL32", "VirtualAllocEx", "230000", "00000058", "00000000", "00001000", "00003000", "00000040")
	w.call(0x24, "KERNEL32", "VirtualAllocEx", "240000", "ffffffffffffffff", "00000000", "00001000", "00003000", "00000040") // own process: not remote
	w.call(0x24, "KERNEL32", "WriteProcessMemory", "1", "00000058", "00230000", "14000b000", "00000200", "0021f700")
	w.call(0x24, "ntdll", "NtWriteVirtualMemory", "0", "00000058", "00230000", "14000b000", "00000200", "0021f700")
	w.call(0x24, "KERNEL32", "CreateRemoteThread", "5c", "00000058", "00000000", "00000000", "00230000", "00000000", "00000000", "0021f800")
	w.call(0x28, "ntdll", "NtAllocateVirtualMemory", "0", "ffffffffffffffff", "0021f900", "0", "0021f910", "3000", "4") // local
	return w
}

func TestWinAPIBehavior(t *testing.T) {
	w := sampleWineRun()
	b := NewBuilder()
	for _, win := range w.windows() {
		b.AddWindow(win)
	}
	sum := trace.Summary{Outcome: trace.OutcomeExited, Format: "pe-x86_64", Runner: []string{"wine64", `C:\smn\sample.exe`},
		APICalls: len(w.api) + 7, APIKept: len(w.api), APITruncated: true}
	beh := b.Behavior(sum)
	a := beh.WinAPI
	if a == nil {
		t.Fatal("no Windows section")
	}
	eq := func(what string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s\n got %q\nwant %q", what, got, want)
		}
	}
	eq("files created", a.FilesCreated, []string{`C:\users\Public\lockme\a.txt`})
	eq("files written", a.FilesWritten, []string{`C:\users\Public\lockme\a.txt`})
	eq("files deleted", a.FilesDeleted, []string{`C:\users\Public\lockme\tmp.bin`})
	if len(a.FilesMoved) != 1 || a.FilesMoved[0].To != `C:\users\Public\lockme\a.txt.locked` {
		t.Errorf("moved %+v", a.FilesMoved)
	}
	run := `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`
	eq("registry created", a.RegistryKeysCreated, []string{run})
	eq("registry written", a.RegistryValuesWritten, []string{run + `\Updater`})
	eq("registry deleted", a.RegistryDeleted, []string{`HKCU\Old`})
	eq("registry inferred", a.RegistryInferred, []string{run + `\Updater`})
	if len(a.ProcessesCreated) != 1 || a.ProcessesCreated[0].Command != `C:\windows\system32\notepad.exe` || !a.ProcessesCreated[0].OK {
		t.Errorf("processes %+v", a.ProcessesCreated)
	}
	eq("modules", a.ModulesLoaded, []string{"advapi32.dll", "ws2_32.dll"})
	var ops []string
	for _, o := range a.RemoteOps {
		ops = append(ops, fmt.Sprintf("%s|%s|%s|%d", o.Call, o.Target, o.Address, o.Size))
	}
	eq("remote operations", ops, []string{
		"KERNEL32.OpenProcess|pid 292||0",
		"KERNEL32.VirtualAllocEx|pid 292 (handle 0x58)|230000|4096",
		"KERNEL32.WriteProcessMemory|pid 292 (handle 0x58)|00230000|512",
		"ntdll.NtWriteVirtualMemory|pid 292 (handle 0x58)|00230000|512",
		"KERNEL32.CreateRemoteThread|pid 292 (handle 0x58)|00230000|0",
	})
	if a.Calls != len(w.api)+7 || a.Kept != len(w.api) || !a.Truncated || a.TopCalls[0].Name != "KERNEL32.Sleep" || a.TopCalls[0].Count != 7 {
		t.Errorf("counts %d %d %v %v", a.Calls, a.Kept, a.Truncated, a.TopCalls)
	}
	ws := b.Windows()
	if ws[0].APITotal+ws[1].APITotal != len(w.api)+7 || ws[1].APIDropped != 7 || ws[0].APICounts["KERNEL32.WriteFile"] != 2 {
		t.Errorf("windows %+v", ws)
	}

	// The text report shows the section; the JSON has its fields.
	r := &Report{JobID: "j1", Outcome: OutcomeOf(sum), Behavior: beh, Windows: ws}
	var out bytes.Buffer
	if err := Render(&out, r); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		`format   pe-x86_64, run as [wine64 C:\smn\sample.exe]`,
		`processes created KERNEL32.CreateProcessA "C:\windows\system32\notepad.exe"`,
		"Windows API (" + fmt.Sprint(len(w.api)+7) + " calls, " + fmt.Sprint(len(w.api)) + " kept in the trace)",
		`registry written  HKCU\Software\Microsoft\Windows\CurrentVersion\Run\Updater (?)`,
		`files moved       C:\users\Public\lockme\a.txt -> C:\users\Public\lockme\a.txt.locked`,
		"KERNEL32.WriteProcessMemory pid 292 (handle 0x58) at 0x230000, 512 bytes",
		"modules loaded    advapi32.dll, ws2_32.dll",
		"API calls per window",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text report lacks %q:\n%s", want, text)
		}
	}
	js, _ := json.Marshal(r)
	for _, want := range []string{`"winapi":{`, `"registry_values_written":[`, `"remote_operations":[`, `"format":"pe-x86_64"`, `"api_total":`} {
		if !bytes.Contains(js, []byte(want)) {
			t.Errorf("JSON lacks %s", want)
		}
	}
}

func TestWinAPIAbsentForLinuxRuns(t *testing.T) {
	b := NewBuilder()
	b.AddWindow(trace.Window{Counts: map[string]int{"read": 1}, Events: []trace.Event{{Name: "read"}}})
	if beh := b.Behavior(trace.Summary{Format: "elf-x86_64"}); beh.WinAPI != nil {
		t.Fatalf("Windows section for a Linux run: %+v", beh.WinAPI)
	}
	var out bytes.Buffer
	if err := Render(&out, &Report{Behavior: b.Behavior(trace.Summary{})}); err != nil || strings.Contains(out.String(), "Windows API") {
		t.Fatalf("%v\n%s", err, out.String())
	}
}

func TestWinAPICapsAndHostileStrings(t *testing.T) {
	w := &wineCalls{}
	for i := 0; i < MaxListed+30; i++ {
		w.call(1, "KERNEL32", "DeleteFileA", "1", fmt.Sprintf(`1400 "C:\\f%d\x1b[31m"`, i))
		w.call(1, "KERNEL32", "OpenProcess", "0", "1fffff", "0", fmt.Sprintf("%x", i))
	}
	b := NewBuilder()
	b.AddWindow(trace.Window{API: w.api})
	a := b.Behavior(trace.Summary{APICalls: len(w.api)}).WinAPI
	if len(a.FilesDeleted) != MaxListed || len(a.RemoteOps) != MaxListed || a.Omitted != 60 {
		t.Fatalf("caps: %d deleted, %d remote, %d omitted", len(a.FilesDeleted), len(a.RemoteOps), a.Omitted)
	}
	var out bytes.Buffer
	if err := Render(&out, &Report{Behavior: Behavior{WinAPI: a}}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "\x1b") || !strings.Contains(out.String(), "… 480 more") {
		t.Fatalf("render of a hostile list:\n%s", out.String())
	}
}

func TestUnquoteWine(t *testing.T) {
	for in, want := range map[string]string{
		`14000 "C:\\x \"y\".txt"`: `C:\x "y".txt`,
		`0021 L"caf\00e9\tz"`:     "café\tz",
		`1 "cut off`:              "cut off",
		`00000000`:                "",
		`1 "a\x41"`:               "aA",
	} {
		if got := unquoteWine(in); got != want {
			t.Errorf("unquoteWine(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzWinAPI(f *testing.F) {
	for _, c := range sampleWineRun().api {
		b, _ := json.Marshal(c)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c trace.APICall
		if json.Unmarshal(b, &c) != nil {
			return
		}
		wb := NewBuilder()
		wb.AddWindow(trace.Window{API: []trace.APICall{c, c}})
		var out bytes.Buffer
		if err := Render(&out, &Report{Behavior: wb.Behavior(trace.Summary{})}); err != nil {
			t.Fatal(err)
		}
	})
}
