package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// WinAPI is what a program run under Wine did through the Windows API, read
// from the calls the agent recorded from Wine's relay channel (nil for a
// run without API calls). Calls of both layers Wine shows (the documented
// KERNEL32/advapi32 function and the ntdll call it ends in) are read;
// entries are listed once, in order of first appearance, only for calls
// that did not fail (or never returned), each list capped at MaxListed
// (Omitted counts what was left out).
//
// What the relay channel cannot show: buffers and out-parameters. A handle
// a function returns in its return value (CreateFile, OpenProcess) is
// followed to later calls on it (WriteFile, WriteProcessMemory); one
// returned through a pointer (RegCreateKeyEx, NtCreateFile) is not, so a
// registry value set through a key handle is attributed to the key the same
// thread most recently opened or created (KeyInferred entries are marked
// with "(?)" in the text report).
type WinAPI struct {
	Calls     int         `json:"calls"` // API calls counted by the agent
	Kept      int         `json:"kept"`  // kept in the trace with their arguments
	Truncated bool        `json:"truncated,omitempty"`
	TopCalls  []CallCount `json:"top_calls"` // "Module.Func" by count

	FilesCreated []string   `json:"files_created,omitempty"`
	FilesWritten []string   `json:"files_written,omitempty"`
	FilesDeleted []string   `json:"files_deleted,omitempty"`
	FilesMoved   []FileMove `json:"files_moved,omitempty"`

	RegistryKeysCreated   []string `json:"registry_keys_created,omitempty"`
	RegistryValuesWritten []string `json:"registry_values_written,omitempty"` // key\value
	RegistryDeleted       []string `json:"registry_deleted,omitempty"`        // keys, or key\value for values
	// RegistryInferred lists the entries above whose key was inferred (a
	// value set through a handle the relay channel does not name).
	RegistryInferred []string `json:"registry_inferred,omitempty"`

	ProcessesCreated []WinProcess `json:"processes_created,omitempty"`
	ModulesLoaded    []string     `json:"modules_loaded,omitempty"` // lower-cased, as the program named them
	RemoteOps        []RemoteOp   `json:"remote_operations,omitempty"`
	Omitted          int          `json:"omitted,omitempty"`
}

// FileMove is a file moved or renamed.
type FileMove struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// WinProcess is a process creation through the Windows API.
type WinProcess struct {
	PID     int    `json:"pid,omitempty"` // the creating process (Windows pid, 0 when unknown)
	TID     int    `json:"tid"`
	Call    string `json:"call"`              // e.g. "KERNEL32.CreateProcessA"
	Image   string `json:"image,omitempty"`   // application name argument
	Command string `json:"command,omitempty"` // command line argument
	OK      bool   `json:"ok"`                // returned success (false: never returned)
}

// RemoteOp is an operation on another process: opening it, allocating or
// writing its memory, starting or redirecting one of its threads (the steps
// of code injection).
type RemoteOp struct {
	PID     int    `json:"pid,omitempty"`
	TID     int    `json:"tid"`
	Call    string `json:"call"`              // e.g. "KERNEL32.WriteProcessMemory"
	Target  string `json:"target,omitempty"`  // "pid 292" when known, else "handle 0x54"
	Address string `json:"address,omitempty"` // hex: where memory was allocated or written, or the thread's start
	Size    int64  `json:"size,omitempty"`
	Ret     string `json:"ret,omitempty"`
}

// Registry roots by their predefined handle values.
var regRoots = map[uint64]string{
	0x80000000: "HKCR", 0x80000001: "HKCU", 0x80000002: "HKLM", 0x80000003: "HKU",
	0x80000004: "HKPD", 0x80000005: "HKCC", 0x80000006: "HKDD",
}

// winAPIBuilder folds API calls into a WinAPI summary; it holds bounded
// summaries and a handle table per process, never the calls.
type winAPIBuilder struct {
	calls   map[string]int
	seen    bool
	created orderedSet
	written orderedSet
	deleted orderedSet
	moves   []FileMove
	regNew  orderedSet
	regSet  orderedSet
	regDel  orderedSet
	regInf  orderedSet
	procs   []WinProcess
	modules orderedSet
	remote  []RemoteOp
	omitted int
	// files: per process, handle value -> path, from CreateFile's return
	// value until CloseHandle; procs: handle -> "pid N" from OpenProcess.
	files   map[int]map[string]string
	process map[int]map[string]string
	lastKey map[int]string // per thread: key most recently opened or created
}

func newWinAPIBuilder() *winAPIBuilder {
	return &winAPIBuilder{calls: map[string]int{}, files: map[int]map[string]string{},
		process: map[int]map[string]string{}, lastKey: map[int]string{}}
}

func (b *winAPIBuilder) addWindow(w *trace.Window) {
	if len(w.APICounts) > 0 || len(w.API) > 0 || w.APIDropped > 0 {
		b.seen = true
	}
	for k, v := range w.APICounts {
		b.calls[k] += v
	}
	for i := range w.API {
		b.add(&w.API[i])
	}
}

func (b *winAPIBuilder) summary(sum trace.Summary) *WinAPI {
	if !b.seen && sum.APICalls == 0 {
		return nil
	}
	return &WinAPI{
		Calls: sum.APICalls, Kept: sum.APIKept, Truncated: sum.APITruncated, TopCalls: top(b.calls, TopCalls),
		FilesCreated: b.created.list(), FilesWritten: b.written.list(), FilesDeleted: b.deleted.list(),
		FilesMoved:          append([]FileMove(nil), b.moves...),
		RegistryKeysCreated: b.regNew.list(), RegistryValuesWritten: b.regSet.list(), RegistryDeleted: b.regDel.list(),
		RegistryInferred: b.regInf.list(),
		ProcessesCreated: append([]WinProcess(nil), b.procs...), ModulesLoaded: b.modules.list(),
		RemoteOps: append([]RemoteOp(nil), b.remote...), Omitted: b.omitted,
	}
}

// rawArg is argument i's raw text up to its first space ("140009000" of
// `140009000 "C:\\x"`), "" when absent.
func rawArg(c *trace.APICall, i int) string {
	if i >= len(c.Args) {
		return ""
	}
	a := strings.TrimSpace(c.Args[i])
	if j := strings.IndexByte(a, ' '); j >= 0 {
		a = a[:j]
	}
	return a
}

// hexArg is argument i as a number (Wine prints integers and pointers in
// hex without a prefix).
func hexArg(c *trace.APICall, i int) (uint64, bool) {
	return parseHex(rawArg(c, i))
}

func parseHex(s string) (uint64, bool) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 16, 64)
	return v, err == nil
}

// strArg is the string Wine printed in argument i ("..." or L"..."),
// unescaped; "" when the argument holds none (a NULL pointer).
func strArg(c *trace.APICall, i int) string {
	if i >= len(c.Args) {
		return ""
	}
	return unquoteWine(c.Args[i])
}

// unquoteWine reads the first quoted string in s as Wine's debugstr_a/w
// print it: backslash escapes \\ \" \n \r \t, \xNN / \NNNN hex escapes; an
// unterminated string (Wine cut it) is kept as far as it goes.
func unquoteWine(s string) string {
	i := strings.IndexByte(s, '"')
	if i < 0 {
		return ""
	}
	s = s[i+1:]
	var b strings.Builder
	for j := 0; j < len(s); j++ {
		ch := s[j]
		if ch == '"' {
			break
		}
		if ch != '\\' || j+1 >= len(s) {
			b.WriteByte(ch)
			continue
		}
		j++
		switch e := s[j]; e {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'x', 'u':
			k := j + 1
			for k < len(s) && k < j+5 && isHexDigit(s[k]) {
				k++
			}
			if v, ok := parseHex(s[j+1 : k]); ok {
				b.WriteRune(rune(v))
				j = k - 1
			} else {
				b.WriteByte(e)
			}
		default:
			if isHexDigit(e) { // Wine's \NNNN for wide characters
				k := j
				for k < len(s) && k < j+4 && isHexDigit(s[k]) {
					k++
				}
				if k-j >= 2 {
					v, _ := parseHex(s[j:k])
					b.WriteRune(rune(v))
					j = k - 1
					continue
				}
			}
			b.WriteByte(e)
		}
	}
	return b.String()
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// firstPath is the call's first string argument: the agent's Path, else the
// first quoted argument.
func firstPath(c *trace.APICall) string {
	if c.Path != "" {
		return c.Path
	}
	for i := range c.Args {
		if s := strArg(c, i); s != "" {
			return s
		}
	}
	return ""
}

// Return value kinds.
func retVal(c *trace.APICall) (uint64, bool) { return parseHex(c.Ret) }

// okStatus: an NTSTATUS (Nt* functions: success below 0x80000000) or an
// LSTATUS/NTSTATUS where 0 is success; a call that never returned counts
// as done.
func okStatus(c *trace.APICall) bool {
	v, ok := retVal(c)
	if !ok || v == 0 {
		return true
	}
	return strings.HasPrefix(c.Func, "Nt") && v < 0x80000000
}

// okBool: BOOL or a pointer/handle, nonzero is success.
func okBool(c *trace.APICall) bool {
	v, ok := retVal(c)
	return !ok || v != 0
}

// okHandle: a HANDLE where INVALID_HANDLE_VALUE (-1) and 0 are failures.
func okHandle(c *trace.APICall) bool {
	v, ok := retVal(c)
	return !ok || (v != 0 && !allOnes(v))
}

func allOnes(v uint64) bool { return v == 0xffffffff || v == 0xffffffffffffffff }

// currentProcess reports whether a process handle is GetCurrentProcess()'s
// pseudo handle (-1).
func currentProcess(h uint64) bool { return allOnes(h) }

// fileWriteAccess: GENERIC_WRITE, GENERIC_ALL, FILE_WRITE_DATA,
// FILE_APPEND_DATA.
func fileWriteAccess(a uint64) bool { return a&(0x40000000|0x10000000|0x2|0x4) != 0 }

func (b *winAPIBuilder) add(c *trace.APICall) {
	fn := c.Func
	name := c.Module + "." + fn
	switch fn {
	// Files.
	case "CreateFileA", "CreateFileW", "CreateFile2":
		if !okHandle(c) {
			return
		}
		p := firstPath(c)
		if p == "" {
			return
		}
		access, _ := hexArg(c, 1)
		disp, _ := hexArg(c, 4)
		if fn == "CreateFile2" {
			disp, _ = hexArg(c, 3)
		}
		switch disp {
		case 1, 2: // CREATE_NEW, CREATE_ALWAYS
			b.omitted += b.created.add(p)
			b.omitted += b.written.add(p)
		case 5: // TRUNCATE_EXISTING
			b.omitted += b.written.add(p)
		}
		if fileWriteAccess(access) && c.Ret != "" {
			b.table(b.files, c.PID)[canon(c.Ret)] = p
		}
	case "NtCreateFile":
		if p := c.Path; p != "" && okStatus(c) {
			switch d, _ := hexArg(c, 7); d {
			case 0, 2, 5: // FILE_SUPERSEDE, FILE_CREATE, FILE_OVERWRITE_IF
				b.omitted += b.created.add(p)
				b.omitted += b.written.add(p)
			case 4: // FILE_OVERWRITE
				b.omitted += b.written.add(p)
			}
		}
	case "WriteFile", "WriteFileEx", "WriteFileGather", "NtWriteFile", "NtWriteFileGather":
		if p := b.table(b.files, c.PID)[canon(rawArg(c, 0))]; p != "" {
			b.omitted += b.written.add(p)
		}
	case "CloseHandle", "NtClose":
		h := canon(rawArg(c, 0))
		delete(b.table(b.files, c.PID), h)
		delete(b.table(b.process, c.PID), h)
	case "DeleteFileA", "DeleteFileW", "NtDeleteFile", "RemoveDirectoryA", "RemoveDirectoryW":
		if p := firstPath(c); p != "" && (okBool(c) || fn == "NtDeleteFile" && okStatus(c)) {
			b.omitted += b.deleted.add(p)
		}
	case "MoveFileA", "MoveFileW", "MoveFileExA", "MoveFileExW", "MoveFileWithProgressA", "MoveFileWithProgressW",
		"MoveFileTransactedA", "MoveFileTransactedW":
		from, to := strArg(c, 0), strArg(c, 1)
		if from == "" {
			from = c.Path
		}
		if from == "" || !okBool(c) {
			return
		}
		if len(b.moves) >= MaxListed {
			b.omitted++
			return
		}
		for _, m := range b.moves {
			if m.From == from && m.To == to {
				return
			}
		}
		b.moves = append(b.moves, FileMove{From: from, To: to})
	case "CopyFileA", "CopyFileW", "CopyFileExA", "CopyFileExW", "CopyFile2":
		if to := strArg(c, 1); to != "" && okBool(c) {
			b.omitted += b.created.add(to)
			b.omitted += b.written.add(to)
		}

	// Registry.
	case "RegCreateKeyA", "RegCreateKeyW", "RegCreateKeyExA", "RegCreateKeyExW", "RegCreateKeyTransactedA", "RegCreateKeyTransactedW":
		k, _ := b.key(c, 0, strArg(c, 1))
		if k != "" && okStatus(c) {
			b.omitted += b.regNew.add(k)
			b.lastKey[c.TID] = k
		}
	case "RegOpenKeyA", "RegOpenKeyW", "RegOpenKeyExA", "RegOpenKeyExW", "RegOpenKeyTransactedA", "RegOpenKeyTransactedW":
		if k, _ := b.key(c, 0, strArg(c, 1)); k != "" && okStatus(c) {
			b.lastKey[c.TID] = k
		}
	case "NtCreateKey", "NtCreateKeyTransacted":
		if c.Path != "" && okStatus(c) {
			b.omitted += b.regNew.add(c.Path)
			b.lastKey[c.TID] = c.Path
		}
	case "RegSetValueA", "RegSetValueW": // (hkey, subkey, type, data, size): the subkey's default value
		if okStatus(c) {
			k, inf := b.key(c, 0, strArg(c, 1))
			b.regValue(&b.regSet, k+`\(default)`, inf)
		}
	case "RegSetValueExA", "RegSetValueExW":
		if okStatus(c) {
			k, inf := b.key(c, 0, "")
			b.regValue(&b.regSet, k+`\`+valueName(strArg(c, 1)), inf)
		}
	case "RegSetKeyValueA", "RegSetKeyValueW": // (hkey, subkey, value, ...)
		if okStatus(c) {
			k, inf := b.key(c, 0, strArg(c, 1))
			b.regValue(&b.regSet, k+`\`+valueName(strArg(c, 2)), inf)
		}
	case "RegDeleteKeyA", "RegDeleteKeyW", "RegDeleteKeyExA", "RegDeleteKeyExW", "RegDeleteTreeA", "RegDeleteTreeW":
		if okStatus(c) {
			k, inf := b.key(c, 0, strArg(c, 1))
			b.regValue(&b.regDel, k, inf)
		}
	case "RegDeleteValueA", "RegDeleteValueW":
		if okStatus(c) {
			k, inf := b.key(c, 0, "")
			b.regValue(&b.regDel, k+`\`+valueName(strArg(c, 1)), inf)
		}
	case "RegDeleteKeyValueA", "RegDeleteKeyValueW":
		if okStatus(c) {
			k, inf := b.key(c, 0, strArg(c, 1))
			b.regValue(&b.regDel, k+`\`+valueName(strArg(c, 2)), inf)
		}

	// Processes.
	case "CreateProcessA", "CreateProcessW", "CreateProcessAsUserA", "CreateProcessAsUserW",
		"CreateProcessInternalA", "CreateProcessInternalW", "WinExec", "ShellExecuteExA", "ShellExecuteExW":
		off := 0
		switch fn {
		case "CreateProcessAsUserA", "CreateProcessAsUserW", "CreateProcessInternalA", "CreateProcessInternalW":
			off = 1
		}
		p := WinProcess{PID: c.PID, TID: c.TID, Call: name, OK: c.Ret != "" && okBool(c)}
		if fn == "WinExec" {
			v, ok := retVal(c)
			p.Command, p.OK = strArg(c, 0), ok && v > 31
		} else {
			p.Image, p.Command = strArg(c, off), strArg(c, off+1)
		}
		if p.Image == "" && p.Command == "" {
			p.Command = c.Path
		}
		if n := len(b.procs); n > 0 && b.procs[n-1].TID == p.TID && b.procs[n-1].Image == p.Image && b.procs[n-1].Command == p.Command {
			return // the same creation seen at the next layer (kernel32 -> kernelbase)
		}
		if len(b.procs) >= MaxListed {
			b.omitted++
			return
		}
		b.procs = append(b.procs, p)

	// Modules.
	case "LoadLibraryA", "LoadLibraryW", "LoadLibraryExA", "LoadLibraryExW", "LdrLoadDll", "LoadPackagedLibrary":
		p := firstPath(c)
		if fn == "LdrLoadDll" {
			// (search path, flags, UNICODE_STRING *name, handle *): Wine
			// prints the search path as the first string and the name as
			// a pointer; only a printed name is a module.
			p = strArg(c, 2)
		}
		if p != "" && (okBool(c) || fn == "LdrLoadDll" && okStatus(c)) {
			b.omitted += b.modules.add(strings.ToLower(p))
		}

	// Other processes.
	case "OpenProcess": // (access, inherit, pid)
		pid, _ := hexArg(c, 2)
		if okBool(c) && c.Ret != "" {
			b.table(b.process, c.PID)[canon(c.Ret)] = fmt.Sprintf("pid %d", pid)
		}
		b.remoteOp(c, fmt.Sprintf("pid %d", pid), "", 0)
	case "NtOpenProcess":
		b.remoteOp(c, "", "", 0)
	case "VirtualAllocEx", "VirtualAllocExNuma": // (hproc, addr, size, type, protect) -> addr
		size, _ := hexArg(c, 2)
		if b.remoteHandle(c, 0) {
			b.remoteOp(c, b.target(c, 0), c.Ret, int64(size))
		}
	case "NtAllocateVirtualMemory", "NtMapViewOfSection":
		h := 0
		if fn == "NtMapViewOfSection" {
			h = 1
		}
		if b.remoteHandle(c, h) {
			b.remoteOp(c, b.target(c, h), "", 0)
		}
	case "WriteProcessMemory", "NtWriteVirtualMemory", "ReadProcessMemory", "NtReadVirtualMemory": // (hproc, addr, buf, size, ...)
		size, _ := hexArg(c, 3)
		if b.remoteHandle(c, 0) {
			b.remoteOp(c, b.target(c, 0), rawArg(c, 1), int64(size))
		}
	case "CreateRemoteThread", "CreateRemoteThreadEx", "RtlCreateUserThread": // (hproc, sa, stack, start, ...)
		start := 3
		if fn == "RtlCreateUserThread" { // (hproc, sd, suspended, zerobits, reserve, commit, start, ...)
			start = 6
		}
		if b.remoteHandle(c, 0) {
			b.remoteOp(c, b.target(c, 0), rawArg(c, start), 0)
		}
	case "NtCreateThreadEx": // (handle*, access, attr, hproc, start, ...)
		if b.remoteHandle(c, 3) {
			b.remoteOp(c, b.target(c, 3), rawArg(c, 4), 0)
		}
	case "QueueUserAPC", "NtQueueApcThread", "SetThreadContext", "NtSetContextThread":
		b.remoteOp(c, "", "", 0)
	}
}

func (b *winAPIBuilder) table(m map[int]map[string]string, pid int) map[string]string {
	t := m[pid]
	if t == nil {
		t = map[string]string{}
		m[pid] = t
	}
	return t
}

// key names the key of handle argument i with subkey under it: a
// predefined root by name, another handle as the thread's most recent key
// (inferred).
func (b *winAPIBuilder) key(c *trace.APICall, i int, sub string) (k string, inferred bool) {
	h, ok := hexArg(c, i)
	if ok && h>>32 == 0xffffffff {
		h &= 0xffffffff
	}
	root, isRoot := regRoots[h]
	switch {
	case isRoot:
		k = root
	case b.lastKey[c.TID] != "":
		k, inferred = b.lastKey[c.TID], true
	default:
		k = "<key " + rawArg(c, i) + ">"
		inferred = true
	}
	if sub != "" {
		k += `\` + sub
	}
	return k, inferred
}

func valueName(v string) string {
	if v == "" {
		return "(default)"
	}
	return v
}

func (b *winAPIBuilder) regValue(set *orderedSet, entry string, inferred bool) {
	b.omitted += set.add(entry)
	if inferred {
		b.omitted += b.regInf.add(entry)
	}
}

// remoteHandle reports whether process handle argument i names another
// process (not the current-process pseudo handle).
func (b *winAPIBuilder) remoteHandle(c *trace.APICall, i int) bool {
	h, ok := hexArg(c, i)
	return ok && !currentProcess(h)
}

// target names process handle argument i: "pid N" when an OpenProcess of
// this process returned it, else "handle 0x..".
func (b *winAPIBuilder) target(c *trace.APICall, i int) string {
	h := canon(rawArg(c, i))
	if t := b.table(b.process, c.PID)[h]; t != "" {
		return t + " (handle 0x" + h + ")"
	}
	return "handle 0x" + h
}

// canon is a hex value without padding ("00000034" and "34" are one
// handle); text that is not hex is kept as it is.
func canon(s string) string {
	if v, ok := parseHex(s); ok {
		return strconv.FormatUint(v, 16)
	}
	return s
}

func (b *winAPIBuilder) remoteOp(c *trace.APICall, target, addr string, size int64) {
	if len(b.remote) >= MaxListed {
		b.omitted++
		return
	}
	b.remote = append(b.remote, RemoteOp{PID: c.PID, TID: c.TID, Call: c.Module + "." + c.Func, Target: target,
		Address: addr, Size: size, Ret: c.Ret})
}
