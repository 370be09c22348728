package datasets

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MalBehavD-V1 file names.
const (
	MalBehavDDir  = "malbehavd_v1"
	MalBehavDFile = "MalBehavD-V1-dataset.csv"
)

// LoadMalBehavD reads the MalBehavD-V1 CSV file.
func LoadMalBehavD(file string, lim Limits) ([]SeqRecord, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadMalBehavD(f, file, lim)
}

// ReadMalBehavD reads MalBehavD-V1 CSV rows: "sha256,labels,0..N" with
// labels 1 = malware, 0 = benign and the API names in order of first call,
// padded with empty cells. ID is the sha256; there is no Class. A name after
// an empty cell, a bad label or a row of the wrong width is a format error.
func ReadMalBehavD(r io.Reader, file string, lim Limits) ([]SeqRecord, error) {
	lim = lim.withDefaults()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), lim.MaxLineBytes)
	in := interner{}
	var out []SeqRecord
	width := 0
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		cr := csv.NewReader(strings.NewReader(text))
		cr.FieldsPerRecord = -1
		row, err := cr.Read()
		if err != nil {
			return nil, formatErr(file, line, "%v", err)
		}
		if width == 0 {
			if len(row) < 3 || row[0] != "sha256" || row[1] != "labels" {
				return nil, formatErr(file, line, "header does not start with sha256,labels,0")
			}
			width = len(row)
			continue
		}
		if len(row) != width {
			return nil, formatErr(file, line, "%d cells, header has %d", len(row), width)
		}
		if len(out) >= lim.MaxRecords {
			return nil, fmt.Errorf("%w: %s: more than %d records", ErrLimit, file, lim.MaxRecords)
		}
		rec := SeqRecord{ID: row[0], Source: SourceMalBehavD}
		if rec.ID == "" {
			return nil, formatErr(file, line, "empty sha256")
		}
		switch row[1] {
		case "1":
			rec.Label = LabelMalware
		case "0":
			rec.Label = LabelBenign
		default:
			return nil, formatErr(file, line, "label %q, want 0 or 1", row[1])
		}
		c := newCalls(lim)
		ended := false
		for i, cell := range row[2:] {
			if cell == "" {
				ended = true
				continue
			}
			if ended {
				return nil, formatErr(file, line, "API name %q in column %d after an empty cell", cell, i+2)
			}
			if len(cell) > lim.MaxCallBytes || !validName(cell) {
				return nil, formatErr(file, line, "bad API name %q in column %d", cell, i+2)
			}
			c.add(in.get([]byte(cell)))
		}
		rec.Calls, rec.Dropped = c.list, c.dropped
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%w: %s:%d: line longer than %d bytes", ErrLimit, file, line+1, lim.MaxLineBytes)
		}
		return nil, fmt.Errorf("%s:%d: %w", file, line+1, err)
	}
	if width == 0 {
		return nil, formatErr(file, 0, "no header")
	}
	return out, nil
}
