package datasets

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// ADFA-LD folder and file names.
const (
	ADFADir        = "adfa-ld"
	ADFASyscallMap = "syscall_numbers_i386_to_x86_64.tsv"
	adfaTraining   = "Training_Data_Master"
	adfaValidation = "Validation_Data_Master"
	adfaAttack     = "Attack_Data_Master"
)

// SyscallMap maps ADFA-LD's i386 system call numbers to names.
type SyscallMap struct {
	I386   map[int]string // i386 name, e.g. 192 -> "mmap2"
	X86_64 map[int]string // x86-64 call of the same meaning, e.g. 192 -> "mmap"; absent for multiplexers
}

// Name returns the name for nr: the x86-64 name when x86 is set and one
// exists, else the i386 name.
func (m *SyscallMap) Name(nr int, x86 bool) (string, bool) {
	if x86 {
		if s, ok := m.X86_64[nr]; ok {
			return s, true
		}
	}
	s, ok := m.I386[nr]
	return s, ok
}

// ReadSyscallMap reads the tab-separated map shipped with ADFA-LD: comment
// lines start with '#', a header line starts with "i386_nr", and each row
// is i386_nr, i386_name, count, x86_64_name, x86_64_nr, note. An empty
// x86_64_name (socketcall, ipc) leaves the number without an x86-64 name.
func ReadSyscallMap(r io.Reader, file string) (*SyscallMap, error) {
	m := &SyscallMap{I386: map[int]string{}, X86_64: map[int]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimRight(sc.Text(), "\r")
		if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, "i386_nr\t") {
			continue
		}
		f := strings.Split(t, "\t")
		if len(f) < 4 {
			return nil, formatErr(file, line, "%d columns, want at least 4", len(f))
		}
		nr, ok := atoi([]byte(f[0]))
		if !ok {
			return nil, formatErr(file, line, "bad i386 number %q", f[0])
		}
		if !validName(f[1]) {
			return nil, formatErr(file, line, "bad i386 name %q", f[1])
		}
		if _, dup := m.I386[nr]; dup {
			return nil, formatErr(file, line, "number %d listed twice", nr)
		}
		m.I386[nr] = f[1]
		if f[3] != "" {
			if !validName(f[3]) {
				return nil, formatErr(file, line, "bad x86-64 name %q", f[3])
			}
			m.X86_64[nr] = f[3]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, formatErr(file, line+1, "%v", err)
	}
	if len(m.I386) == 0 {
		return nil, formatErr(file, 0, "no system calls listed")
	}
	return m, nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

func validName(s string) bool { return nameRE.MatchString(s) }

// ReadADFATrace reads one ADFA-LD trace (space-separated i386 numbers, one
// line) and returns the call names (x86-64 names when x86 is set), keeping at
// most lim.MaxCalls. An unknown number is a format error.
func ReadADFATrace(r io.Reader, file string, m *SyscallMap, x86 bool, lim Limits) (calls []string, dropped int, err error) {
	lim = lim.withDefaults()
	c := newCalls(lim)
	s := newLineScanner(r, file, lim, false)
	for {
		err := s.scanLine(func(tok []byte) error {
			nr, ok := atoi(tok)
			if !ok {
				return formatErr(file, s.line, "bad system call number %q", tok)
			}
			name, ok := m.Name(nr, x86)
			if !ok {
				return formatErr(file, s.line, "system call number %d not in the map", nr)
			}
			c.add(name)
			return nil
		})
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, err
		}
	}
	return c.list, c.dropped, nil
}

// ADFAOptions tunes LoadADFA.
type ADFAOptions struct {
	I386Names bool // keep i386 names (mmap2, stat64, ...) instead of x86-64 ones
	Limits    Limits
}

var adfaRun = regexp.MustCompile(`^([A-Za-z_]+?)_([0-9]+)$`)

// LoadADFA reads ADFA-LD from dir (the adfa-ld folder): Training and
// Validation traces labelled normal (Subset "training"/"validation"),
// Attack_Data_Master traces labelled attack with Class the attack type and
// Group the run folder (e.g. "Hydra_FTP_3"). IDs are paths relative to dir.
// Records are in path order.
func LoadADFA(dir string, opt ADFAOptions) ([]SeqRecord, error) {
	lim := opt.Limits.withDefaults()
	mapFile := filepath.Join(dir, ADFASyscallMap)
	f, err := os.Open(mapFile)
	if err != nil {
		return nil, err
	}
	m, err := ReadSyscallMap(f, mapFile)
	f.Close()
	if err != nil {
		return nil, err
	}
	var out []SeqRecord
	load := func(rel, subset, label, class, group string) error {
		if len(out) >= lim.MaxRecords {
			return fmt.Errorf("%w: more than %d records in %s", ErrLimit, lim.MaxRecords, dir)
		}
		path := filepath.Join(dir, rel)
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		calls, dropped, err := ReadADFATrace(f, path, m, !opt.I386Names, lim)
		if err != nil {
			return err
		}
		out = append(out, SeqRecord{ID: filepath.ToSlash(rel), Source: SourceADFA, Label: label, Class: class,
			Calls: calls, Group: group, Subset: subset, Dropped: dropped})
		return nil
	}
	for _, part := range []struct{ folder, subset string }{{adfaTraining, "training"}, {adfaValidation, "validation"}} {
		names, err := txtFiles(filepath.Join(dir, part.folder))
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if err := load(filepath.Join(part.folder, n), part.subset, LabelNormal, "", ""); err != nil {
				return nil, err
			}
		}
	}
	runs, err := os.ReadDir(filepath.Join(dir, adfaAttack))
	if err != nil {
		return nil, err
	}
	for _, run := range runs {
		if !run.IsDir() {
			continue
		}
		mm := adfaRun.FindStringSubmatch(run.Name())
		if mm == nil {
			return nil, formatErr(filepath.Join(dir, adfaAttack, run.Name()), 0, "attack folder not named TYPE_RUN")
		}
		names, err := txtFiles(filepath.Join(dir, adfaAttack, run.Name()))
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if err := load(filepath.Join(adfaAttack, run.Name(), n), "attack", LabelAttack, mm[1], run.Name()); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// txtFiles lists the .txt files of dir in name order.
func txtFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".txt") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}
