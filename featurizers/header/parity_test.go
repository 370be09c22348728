package header

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// parityRecord is one line of scripts/pefile-parity.py's output.
type parityRecord struct {
	Path       string     `json:"path"`
	Size       int        `json:"size"`
	Error      *string    `json:"error"`
	Raw        []*float64 `json:"raw"`
	Integrated []*float64 `json:"integrated"`
}

// standInColumns are Integrated columns FEATURES.md allows to differ: the
// PEiD signatures behind them are not public; pefile-parity.py writes null.
var standInColumns = map[string]bool{"packer": true, "packer_type": true}

// floatColumns are compared to within floatTolerance (Go's and glibc's log
// may differ in the last bit); exact matches are counted separately.
var floatColumns = map[string]bool{"E_text": true, "E_data": true, "E_file": true}

const floatTolerance = 1e-12

// pefilePython returns a python3 that can import pefile, or "".
func pefilePython() string {
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import pefile").Run() == nil {
			return py
		}
	}
	return ""
}

// TestPefileParity compares ClaMPRaw and ClaMPIntegrated with pefile on
// every PE file the wine and mingw-w64 packages install. Set
// PEFILE_PARITY_JSONL to reuse a file written by scripts/pefile-parity.py.
func TestPefileParity(t *testing.T) {
	if testing.Short() {
		t.Skip("parity runs pefile over hundreds of files; skipped in -short mode")
	}
	recs := loadParityRecords(t)
	if len(recs) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("no PE files found: install wine64 and mingw-w64")
		}
		t.Skip("no PE files found (install wine64 mingw-w64)")
	}
	type colStat struct {
		checked, mismatch, exact int
		maxDiff                  float64
		example                  string
	}
	stats := map[string]*colStat{}
	var acceptMismatch []string
	files, cols := 0, 0
	check := func(set string, names []string, want []*float64, got []float64, path string) {
		if len(want) != len(names) || len(got) != len(names) {
			t.Errorf("%s %s: %d reference values, %d extracted, %d columns", path, set, len(want), len(got), len(names))
			return
		}
		for i, name := range names {
			key := set + "." + name
			st := stats[key]
			if st == nil {
				st = &colStat{}
				stats[key] = st
			}
			if standInColumns[name] || want[i] == nil {
				continue
			}
			st.checked++
			cols++
			w, g := *want[i], got[i]
			d := math.Abs(w - g)
			if d == 0 {
				st.exact++
			}
			if d > st.maxDiff {
				st.maxDiff = d
			}
			if d == 0 || (floatColumns[name] && d <= floatTolerance) {
				continue
			}
			st.mismatch++
			if st.example == "" {
				st.example = fmt.Sprintf("%s: pefile %v, Go %v", path, w, g)
			}
		}
	}
	for _, r := range recs {
		b, err := os.ReadFile(r.Path)
		if err != nil {
			t.Fatalf("reading %s: %v", r.Path, err)
		}
		f, perr := ParsePE(b)
		if (perr != nil) != (r.Error != nil) {
			acceptMismatch = append(acceptMismatch, fmt.Sprintf("%s: pefile error %v, Go error %v", r.Path, deref(r.Error), perr))
			continue
		}
		files++
		if perr != nil {
			continue
		}
		raw, _ := ClaMPRaw(f)
		integ, _ := ClaMPIntegrated(f)
		check("raw", ClaMPRawColumns, r.Raw, raw, r.Path)
		check("integrated", ClaMPIntegratedColumns, r.Integrated, integ, r.Path)
	}
	var rep strings.Builder
	fmt.Fprintf(&rep, "pefile parity: %d files agreed on acceptance, %d disagreed; %d column values checked\n", files, len(acceptMismatch), cols)
	keys := make([]string, 0, len(stats))
	for k := range stats {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	total := 0
	for _, k := range keys {
		st := stats[k]
		name := k[strings.IndexByte(k, '.')+1:]
		switch {
		case standInColumns[name]:
			fmt.Fprintf(&rep, "  %-40s stand-in (not compared)\n", k)
		case floatColumns[name]:
			fmt.Fprintf(&rep, "  %-40s checked %d mismatches %d (bit-exact %d, max |diff| %.3g)\n", k, st.checked, st.mismatch, st.exact, st.maxDiff)
		default:
			fmt.Fprintf(&rep, "  %-40s checked %d mismatches %d\n", k, st.checked, st.mismatch)
		}
		if st.example != "" {
			fmt.Fprintf(&rep, "      e.g. %s\n", st.example)
		}
		total += st.mismatch
	}
	for _, m := range acceptMismatch {
		fmt.Fprintf(&rep, "  acceptance: %s\n", m)
	}
	fmt.Fprintf(&rep, "total mismatches: %d (+%d acceptance)\n", total, len(acceptMismatch))
	t.Log("\n" + rep.String())
	if p := os.Getenv("PEFILE_PARITY_REPORT"); p != "" {
		if err := os.WriteFile(p, []byte(rep.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
	if total > 0 || len(acceptMismatch) > 0 {
		t.Errorf("%d column mismatches, %d acceptance mismatches", total, len(acceptMismatch))
	}
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// loadParityRecords runs scripts/pefile-parity.py (or reads
// PEFILE_PARITY_JSONL).
func loadParityRecords(t *testing.T) []parityRecord {
	var rd *bufio.Scanner
	if p := os.Getenv("PEFILE_PARITY_JSONL"); p != "" {
		fh, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fh.Close() })
		rd = bufio.NewScanner(fh)
	} else {
		py := pefilePython()
		if py == "" {
			if os.Getenv("CI") == "true" {
				t.Fatal("python3-pefile is not installed (apt-get install python3-pefile)")
			}
			t.Skip("python3-pefile not installed")
		}
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "pefile-parity.py")
		out, err := exec.Command(py, script, "-j", "2").Output()
		if err != nil {
			t.Fatalf("%s: %v", script, err)
		}
		rd = bufio.NewScanner(strings.NewReader(string(out)))
	}
	rd.Buffer(make([]byte, 1<<20), 1<<24)
	var recs []parityRecord
	for rd.Scan() {
		var r parityRecord
		if err := json.Unmarshal(rd.Bytes(), &r); err != nil {
			t.Fatalf("parity record: %v", err)
		}
		recs = append(recs, r)
	}
	return recs
}
