package datasets

import (
	"archive/zip"
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Mal-API-2019 file names.
const (
	MalAPIDir   = "catak_mal_api_2019"
	MalAPICalls = "calls.zip" // holds calls.txt
	MalAPITypes = "types.txt"
	MalAPIIndex = "ApiIndex.txt"
)

// ReadAPIIndex reads Mal-API-2019's ApiIndex.txt: "name=index" lines (the
// SOURCE calls it name;index; both separators are accepted), returning the
// names by index. Indices must be unique and cover 0..n-1.
func ReadAPIIndex(r io.Reader, file string) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	byIdx := map[int]string{}
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" {
			continue
		}
		i := strings.LastIndexAny(t, "=;")
		if i <= 0 {
			return nil, formatErr(file, line, "want name=index")
		}
		name := t[:i]
		idx, ok := atoi([]byte(t[i+1:]))
		if !ok || !validName(name) {
			return nil, formatErr(file, line, "bad entry %q", t)
		}
		if _, dup := byIdx[idx]; dup {
			return nil, formatErr(file, line, "index %d listed twice", idx)
		}
		byIdx[idx] = name
	}
	if err := sc.Err(); err != nil {
		return nil, formatErr(file, line+1, "%v", err)
	}
	if len(byIdx) == 0 {
		return nil, formatErr(file, 0, "no entries")
	}
	top := 0
	for i := range byIdx {
		top = max(top, i)
	}
	if top >= 4*len(byIdx)+16 {
		return nil, formatErr(file, 0, "index %d too sparse for %d entries", top, len(byIdx))
	}
	names := make([]string, top+1)
	for i, n := range byIdx {
		names[i] = n
	}
	return names, nil
}

// ReadMalAPI reads Mal-API-2019's calls (one sample a line, comma-separated
// indices into names) and types (the malware type of the sample on the same
// line). Every record is labelled malware with Class the type; ID is
// "calls.txt:LINE". Line counts must match.
func ReadMalAPI(calls io.Reader, types io.Reader, names []string, lim Limits) ([]SeqRecord, error) {
	lim = lim.withDefaults()
	const cfile, tfile = "calls.txt", MalAPITypes
	ts := bufio.NewScanner(types)
	ts.Buffer(make([]byte, 0, 4096), 64<<10)
	s := newLineScanner(calls, cfile, lim, true)
	var out []SeqRecord
	for {
		c := newCalls(lim)
		err := s.scanLine(func(tok []byte) error {
			i, ok := atoi(tok)
			if !ok || i >= len(names) || names[i] == "" {
				return formatErr(cfile, s.line, "bad API index %q", tok)
			}
			c.add(names[i])
			return nil
		})
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if !ts.Scan() {
			if err := ts.Err(); err != nil {
				return nil, formatErr(tfile, s.line, "%v", err)
			}
			return nil, formatErr(tfile, s.line, "fewer types than call lines")
		}
		typ := strings.TrimSpace(ts.Text())
		if !validName(typ) {
			return nil, formatErr(tfile, s.line, "bad type %q", typ)
		}
		if len(c.list) == 0 && c.dropped == 0 {
			return nil, formatErr(cfile, s.line, "empty call sequence")
		}
		if len(out) >= lim.MaxRecords {
			return nil, fmt.Errorf("%w: %s: more than %d records", ErrLimit, cfile, lim.MaxRecords)
		}
		out = append(out, SeqRecord{ID: fmt.Sprintf("%s:%d", cfile, s.line), Source: SourceMalAPI,
			Label: LabelMalware, Class: typ, Calls: c.list, Dropped: c.dropped})
	}
	for ts.Scan() {
		if strings.TrimSpace(ts.Text()) != "" {
			return nil, formatErr(tfile, len(out)+1, "more types than call lines (%d)", len(out))
		}
	}
	if err := ts.Err(); err != nil {
		return nil, formatErr(tfile, 0, "%v", err)
	}
	return out, nil
}

// LoadMalAPI reads Mal-API-2019 from dir (the catak_mal_api_2019 folder):
// calls.zip (its calls.txt entry), types.txt and ApiIndex.txt.
func LoadMalAPI(dir string, lim Limits) ([]SeqRecord, error) {
	lim = lim.withDefaults()
	f, err := os.Open(filepath.Join(dir, MalAPIIndex))
	if err != nil {
		return nil, err
	}
	names, err := ReadAPIIndex(f, f.Name())
	f.Close()
	if err != nil {
		return nil, err
	}
	zpath := filepath.Join(dir, MalAPICalls)
	zr, err := zip.OpenReader(zpath)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, zpath, err)
	}
	defer zr.Close()
	var entry *zip.File
	for _, e := range zr.File {
		if e.Name == "calls.txt" {
			entry = e
		}
	}
	if entry == nil {
		return nil, formatErr(zpath, 0, "no calls.txt entry")
	}
	cr, err := entry.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, zpath, err)
	}
	defer cr.Close()
	tf, err := os.Open(filepath.Join(dir, MalAPITypes))
	if err != nil {
		return nil, err
	}
	defer tf.Close()
	recs, err := ReadMalAPI(cr, tf, names, lim)
	if errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) {
		return nil, fmt.Errorf("%w: %s: %w", ErrFormat, zpath, err)
	}
	return recs, err
}

// ReadAPIIndexFile reads an ApiIndex.txt file.
func ReadAPIIndexFile(file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAPIIndex(f, file)
}
