package agent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Sample formats, as trace.Summary.Format reports them.
const (
	FormatELF64  = "elf-x86_64"
	FormatELF32  = "elf-i386"
	FormatScript = "script"
	FormatPE64   = "pe-x86_64"
	FormatPE32   = "pe-i386"
	FormatDLL64  = "pe-dll-x86_64"
	FormatDLL32  = "pe-dll-i386"
)

// ErrUnrunnable is wrapped when a sample cannot run in this guest: the
// message says why in words an analyst reads in the report.
var ErrUnrunnable = errors.New("sample cannot run in this guest")

// Launch is how a sample is started: the program the tracer executes, its
// argv, extra environment and the format found.
type Launch struct {
	Format string
	Path   string   // program executed
	Args   []string // argv, argv[0] included
	Env    []string // added to the agent's sample environment
	// Runner is set when the sample is not executed directly (an
	// interpreter, wine, rundll32): the command line before the sample's
	// own arguments, for the report.
	Runner []string
	Wine   bool // its Windows API calls come on stderr (Wine's relay channel)
}

// Wine is where the guest image keeps Wine (Debian 12's wine64 and wine32
// packages) and its prefix, initialised when the image was built.
type Wine struct {
	Loader64 string // /usr/lib/wine/wine64
	Loader32 string // /usr/lib/wine/wine (from wine32:i386)
	Prefix   string // WINEPREFIX, /root/.wine
}

// DefaultWine is the guest image's layout.
var DefaultWine = Wine{Loader64: "/usr/lib/wine/wine64", Loader32: "/usr/lib/wine/wine", Prefix: "/root/.wine"}

// WineEnv is the environment of a program run under Wine: its relay channel
// on (narrowed to the recorded API set by the prefix's RelayInclude, set
// when the image was built), Windows thread and process ids on every line,
// the noisy fixme channel off, and no Mono or Gecko install prompts.
func (w Wine) Env() []string {
	return []string{
		"WINEPREFIX=" + w.Prefix,
		"WINEDEBUG=fixme-all,+pid,+relay",
		"WINEDLLOVERRIDES=mscoree,mshtml=",
		"WINEARCH=win64",
	}
}

// ELF machine numbers the guest knows by name in its refusals.
var elfMachines = map[uint16]string{
	2: "SPARC", 3: "i386", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64", 22: "S/390",
	40: "ARM", 42: "SuperH", 50: "IA-64", 62: "x86-64", 183: "AArch64 (ARM64)", 243: "RISC-V",
	258: "LoongArch",
}

var peMachines = map[uint16]string{
	0x14c: "i386", 0x8664: "x86-64", 0x1c0: "ARM", 0x1c4: "ARMv7 (Thumb-2)", 0xaa64: "ARM64",
	0x200: "IA-64", 0x5032: "RISC-V 32", 0x5064: "RISC-V 64",
}

// interpreters by file name extension, for scripts without a #! line.
var scriptExt = map[string]string{
	".sh": "/bin/sh", ".bash": "/bin/bash", ".py": "/usr/bin/python3", ".pl": "/usr/bin/perl",
}

// headerBytes is how much of a sample is read to decide how to run it.
const headerBytes = 4096

// Classify decides how to run the sample at file (named name by the
// submitter) in a guest whose root is root ("/" in the guest; a directory
// in tests). DLL exports run through rundll32 with export ("#1", the first
// ordinal, when empty). A sample that cannot run gives an error wrapping
// ErrUnrunnable whose text says why.
func Classify(root, file, name, export string, wine Wine) (Launch, error) {
	f, err := os.Open(file)
	if err != nil {
		return Launch{}, fmt.Errorf("%w: %v", ErrUnrunnable, err)
	}
	defer f.Close()
	hdr := make([]byte, headerBytes)
	n, err := io.ReadFull(f, hdr)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Launch{}, fmt.Errorf("%w: read: %v", ErrUnrunnable, err)
	}
	hdr = hdr[:n]
	switch {
	case n == 0:
		return Launch{}, fmt.Errorf("%w: the sample is empty", ErrUnrunnable)
	case bytes.HasPrefix(hdr, []byte("\x7fELF")):
		return classifyELF(root, file, hdr, f)
	case bytes.HasPrefix(hdr, []byte("#!")):
		return classifyShebang(root, file, hdr)
	case bytes.HasPrefix(hdr, []byte("MZ")):
		return classifyPE(root, file, hdr, f, export, wine)
	}
	if interp, ok := scriptExt[strings.ToLower(path.Ext(name))]; ok {
		if !exists(root, interp) {
			return Launch{}, fmt.Errorf("%w: a %s script needs %s, which this guest lacks", ErrUnrunnable, path.Ext(name), interp)
		}
		return Launch{Format: FormatScript, Path: interp, Args: []string{interp, file}, Runner: []string{interp}}, nil
	}
	return Launch{}, fmt.Errorf("%w: not an ELF or PE executable nor a script (first bytes % x); name it .sh, .bash, .py or .pl to run it through that interpreter",
		ErrUnrunnable, hdr[:min(8, len(hdr))])
}

func exists(root, p string) bool {
	st, err := os.Stat(filepath.Join(root, p))
	return err == nil && !st.IsDir()
}

func classifyELF(root, file string, hdr []byte, f io.ReaderAt) (Launch, error) {
	if len(hdr) < 52 {
		return Launch{}, fmt.Errorf("%w: ELF header truncated (%d bytes)", ErrUnrunnable, len(hdr))
	}
	class, data := hdr[4], hdr[5]
	if data != 1 {
		return Launch{}, fmt.Errorf("%w: big-endian ELF (machine %s): this guest runs x86-64 and i386 programs", ErrUnrunnable, machineName(elfMachines, binary.BigEndian.Uint16(hdr[18:20])))
	}
	mach := binary.LittleEndian.Uint16(hdr[18:20])
	format := ""
	switch {
	case class == 2 && mach == 62:
		format = FormatELF64
	case class == 1 && mach == 3:
		format = FormatELF32
	default:
		return Launch{}, fmt.Errorf("%w: ELF for %s: this guest runs x86-64 and i386 programs", ErrUnrunnable, machineName(elfMachines, mach))
	}
	if interp, err := elfInterp(f, class == 2); err != nil {
		return Launch{}, fmt.Errorf("%w: %s ELF: %v", ErrUnrunnable, format, err)
	} else if interp != "" && !exists(root, interp) {
		return Launch{}, fmt.Errorf("%w: %s ELF needs the program interpreter %s, which this guest lacks", ErrUnrunnable, format, interp)
	}
	return Launch{Format: format, Path: file, Args: []string{file}}, nil
}

func machineName(m map[uint16]string, v uint16) string {
	if s, ok := m[v]; ok {
		return s
	}
	return fmt.Sprintf("machine %#x", v)
}

// elfInterp returns the PT_INTERP path of an ELF file ("" for a static one).
// The program header table is bounded (at most 256 entries).
func elfInterp(f io.ReaderAt, is64 bool) (string, error) {
	var eh [64]byte
	if _, err := f.ReadAt(eh[:], 0); err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("header: %v", err)
	}
	le := binary.LittleEndian
	var phoff uint64
	var phentsize, phnum uint16
	if is64 {
		phoff, phentsize, phnum = le.Uint64(eh[32:40]), le.Uint16(eh[54:56]), le.Uint16(eh[56:58])
	} else {
		phoff, phentsize, phnum = uint64(le.Uint32(eh[28:32])), le.Uint16(eh[42:44]), le.Uint16(eh[44:46])
	}
	if phnum == 0 {
		return "", nil
	}
	minEnt := uint16(32)
	if is64 {
		minEnt = 56
	}
	if phnum > 256 || phentsize < minEnt || phentsize > 256 {
		return "", fmt.Errorf("implausible program header table (%d entries of %d bytes)", phnum, phentsize)
	}
	for i := uint64(0); i < uint64(phnum); i++ {
		ph := make([]byte, phentsize)
		if _, err := f.ReadAt(ph, int64(phoff+i*uint64(phentsize))); err != nil {
			return "", fmt.Errorf("program header %d beyond the end of the file (truncated?)", i)
		}
		if le.Uint32(ph[0:4]) != 3 { // PT_INTERP
			continue
		}
		var off, size uint64
		if is64 {
			off, size = le.Uint64(ph[8:16]), le.Uint64(ph[32:40])
		} else {
			off, size = uint64(le.Uint32(ph[4:8])), uint64(le.Uint32(ph[16:20]))
		}
		if size == 0 || size > 4096 {
			return "", fmt.Errorf("PT_INTERP of %d bytes", size)
		}
		b := make([]byte, size)
		if _, err := f.ReadAt(b, int64(off)); err != nil {
			return "", fmt.Errorf("PT_INTERP beyond the end of the file (truncated?)")
		}
		return string(bytes.TrimRight(b, "\x00")), nil
	}
	return "", nil
}

func classifyShebang(root, file string, hdr []byte) (Launch, error) {
	line := hdr[2:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	} else if len(hdr) == headerBytes {
		return Launch{}, fmt.Errorf("%w: #! line longer than %d bytes", ErrUnrunnable, headerBytes)
	}
	fields := strings.Fields(strings.TrimSpace(string(line)))
	if len(fields) == 0 {
		return Launch{}, fmt.Errorf("%w: empty #! line", ErrUnrunnable)
	}
	interp := fields[0]
	if !strings.HasPrefix(interp, "/") {
		return Launch{}, fmt.Errorf("%w: #! interpreter %q is not an absolute path", ErrUnrunnable, interp)
	}
	if !exists(root, interp) {
		return Launch{}, fmt.Errorf("%w: the script's interpreter %s is not in this guest", ErrUnrunnable, interp)
	}
	if interp == "/usr/bin/env" && len(fields) > 1 {
		prog := fields[1]
		found := false
		for _, dir := range []string{"/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"} {
			if exists(root, path.Join(dir, prog)) {
				found = true
				break
			}
		}
		if !found && !strings.HasPrefix(prog, "-") {
			return Launch{}, fmt.Errorf("%w: the script runs %q through env, which this guest lacks", ErrUnrunnable, prog)
		}
	}
	// The kernel runs the #! line itself: execute the script directly.
	return Launch{Format: FormatScript, Path: file, Args: []string{file}, Runner: fields}, nil
}

// peInfo is what the PE headers say about how to run a sample.
type peInfo struct {
	machine uint16
	dll     bool
}

func parsePE(hdr []byte, f io.ReaderAt) (peInfo, error) {
	if len(hdr) < 0x40 {
		return peInfo{}, fmt.Errorf("DOS header truncated (%d bytes)", len(hdr))
	}
	lfanew := int64(binary.LittleEndian.Uint32(hdr[0x3c:0x40]))
	if lfanew < 0x40 || lfanew > 1<<20 {
		return peInfo{}, fmt.Errorf("PE header offset %#x out of range", lfanew)
	}
	var nt [24]byte
	if _, err := f.ReadAt(nt[:], lfanew); err != nil {
		return peInfo{}, fmt.Errorf("PE header at %#x beyond the end of the file (truncated?)", lfanew)
	}
	if !bytes.Equal(nt[:4], []byte("PE\x00\x00")) {
		return peInfo{}, fmt.Errorf("no PE signature at %#x (a DOS program?)", lfanew)
	}
	return peInfo{
		machine: binary.LittleEndian.Uint16(nt[4:6]),
		dll:     binary.LittleEndian.Uint16(nt[22:24])&0x2000 != 0,
	}, nil
}

func classifyPE(root, file string, hdr []byte, f io.ReaderAt, export string, wine Wine) (Launch, error) {
	pe, err := parsePE(hdr, f)
	if err != nil {
		return Launch{}, fmt.Errorf("%w: not a valid PE file: %v", ErrUnrunnable, err)
	}
	var loader, format string
	switch pe.machine {
	case 0x8664:
		loader, format = wine.Loader64, FormatPE64
		if pe.dll {
			format = FormatDLL64
		}
	case 0x14c:
		loader, format = wine.Loader32, FormatPE32
		if pe.dll {
			format = FormatDLL32
		}
	default:
		return Launch{}, fmt.Errorf("%w: PE for %s: this guest runs x86-64 and i386 Windows programs under Wine", ErrUnrunnable, machineName(peMachines, pe.machine))
	}
	if !exists(root, loader) {
		return Launch{}, fmt.Errorf("%w: %s needs Wine (%s), which this guest lacks: build the image with its root filesystem (vmimages/README.md)", ErrUnrunnable, format, loader)
	}
	// Wine picks how to load a file by its extension.
	ext := ".exe"
	if pe.dll {
		ext = ".dll"
	}
	target := file + ext
	_ = os.Remove(target)
	if err := os.Link(file, target); err != nil {
		return Launch{}, fmt.Errorf("%w: link %s: %v", ErrUnrunnable, target, err)
	}
	l := Launch{Format: format, Path: loader, Env: wine.Env(), Wine: true}
	if pe.dll {
		if export == "" {
			export = "#1"
		}
		// rundll32 takes a Windows path: Wine's Z: drive is the Unix root.
		win := "Z:" + strings.ReplaceAll(target, "/", `\`)
		l.Runner = []string{loader, "rundll32.exe", filepath.Base(target) + "," + export}
		l.Args = []string{loader, "rundll32.exe", win + "," + export}
		return l, nil
	}
	l.Runner = []string{loader}
	l.Args = []string{loader, target}
	return l, nil
}
