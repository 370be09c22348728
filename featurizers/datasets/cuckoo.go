package datasets

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// CuckooOptions tunes ReadCuckooReport.
type CuckooOptions struct {
	// PerProcess returns one record per process (Group "name:pid") instead
	// of one for the whole report.
	PerProcess bool
	Label      string // copied to every record (reports carry no label)
	Class      string // copied to every record
	Limits     Limits // MaxBytes bounds the report, MaxCalls each record
}

// LoadCuckooReport reads a Cuckoo or CAPE report.json file, refusing files
// over Limits.MaxBytes before reading them. The file path is the ID.
func LoadCuckooReport(file string, opt CuckooOptions) ([]SeqRecord, error) {
	lim := opt.Limits.withDefaults()
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %s: %d bytes, limit %d", ErrLimit, file, st.Size(), lim.MaxBytes)
	}
	return ReadCuckooReport(f, file, opt)
}

// ReadCuckooReport streams a Cuckoo/CAPE report.json and collects
// behavior.processes[].calls[].api in order; everything else is skipped
// without being kept. The whole-report record concatenates the processes'
// calls in the order the report lists the processes. A report with no
// behaviour gives one record with no calls (or none when PerProcess). The
// input is refused past Limits.MaxBytes (ErrLimit); calls past MaxCalls are
// counted in Dropped. Malformed JSON or a call without an "api" string is an
// ErrFormat error naming the byte offset.
func ReadCuckooReport(r io.Reader, id string, opt CuckooOptions) ([]SeqRecord, error) {
	lim := opt.Limits.withDefaults()
	lr := &limitReader{r: r, left: lim.MaxBytes, file: id}
	w := &jsonWalker{dec: json.NewDecoder(bufio.NewReaderSize(lr, 64<<10)), file: id}
	in := interner{}
	whole := newCalls(lim)
	var out []SeqRecord
	proc := func() error {
		var name string
		var pid int64
		c := whole
		if opt.PerProcess {
			c = newCalls(lim)
		}
		err := w.object(func(key string) error {
			switch key {
			case "process_name":
				s, err := w.str()
				name = s
				return err
			case "process_id", "pid":
				n, err := w.num()
				pid = n
				return err
			case "calls":
				return w.array(func() error {
					api := ""
					err := w.object(func(key string) error {
						if key != "api" {
							return w.skip()
						}
						s, err := w.str()
						api = s
						return err
					})
					if err != nil {
						return err
					}
					if api == "" || len(api) > lim.MaxCallBytes {
						return w.errf("call without a valid api name")
					}
					c.add(in.get([]byte(api)))
					return nil
				})
			}
			return w.skip()
		})
		if err != nil {
			return err
		}
		if opt.PerProcess {
			if len(out) >= lim.MaxRecords {
				return fmt.Errorf("%w: %s: more than %d processes", ErrLimit, id, lim.MaxRecords)
			}
			out = append(out, SeqRecord{ID: fmt.Sprintf("%s#%d", id, len(out)), Source: SourceCuckoo,
				Label: opt.Label, Class: opt.Class, Calls: c.list, Dropped: c.dropped,
				Group: name + ":" + strconv.FormatInt(pid, 10)})
		}
		return nil
	}
	err := w.object(func(key string) error {
		if key != "behavior" {
			return w.skip()
		}
		return w.object(func(key string) error {
			if key != "processes" {
				return w.skip()
			}
			return w.array(proc)
		})
	})
	if err != nil {
		return nil, err
	}
	if _, err := w.dec.Token(); !errors.Is(err, io.EOF) {
		if errors.Is(err, ErrLimit) {
			return nil, err
		}
		return nil, w.errf("data after the report object")
	}
	if !opt.PerProcess {
		out = append(out, SeqRecord{ID: id, Source: SourceCuckoo, Label: opt.Label, Class: opt.Class,
			Calls: whole.list, Dropped: whole.dropped})
	}
	return out, nil
}

// limitReader fails with ErrLimit once more than left bytes are read.
type limitReader struct {
	r    io.Reader
	left int64
	file string
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, fmt.Errorf("%w: %s: larger than the size limit", ErrLimit, l.file)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return 0, fmt.Errorf("%w: %s: larger than the size limit", ErrLimit, l.file)
	}
	return n, err
}

// jsonWalker walks a JSON stream token by token, so skipped parts of a large
// document are never held in memory.
type jsonWalker struct {
	dec  *json.Decoder
	file string
}

func (w *jsonWalker) errf(format string, args ...any) error {
	return fmt.Errorf("%w: %s: offset %d: %s", ErrFormat, w.file, w.dec.InputOffset(), fmt.Sprintf(format, args...))
}

func (w *jsonWalker) token() (json.Token, error) {
	t, err := w.dec.Token()
	if err != nil {
		if errors.Is(err, ErrLimit) {
			return nil, err
		}
		return nil, w.errf("%v", err)
	}
	return t, nil
}

// object reads an object (or null), calling fn for each key; fn must consume
// the value.
func (w *jsonWalker) object(fn func(key string) error) error {
	t, err := w.token()
	if err != nil || t == nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return w.errf("want an object, got %v", t)
	}
	for w.dec.More() {
		k, err := w.token()
		if err != nil {
			return err
		}
		if err := fn(k.(string)); err != nil {
			return err
		}
	}
	_, err = w.token() // '}'
	return err
}

// array reads an array (or null), calling fn to consume each element.
func (w *jsonWalker) array(fn func() error) error {
	t, err := w.token()
	if err != nil || t == nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != '[' {
		return w.errf("want an array, got %v", t)
	}
	for w.dec.More() {
		if err := fn(); err != nil {
			return err
		}
	}
	_, err = w.token() // ']'
	return err
}

func (w *jsonWalker) str() (string, error) {
	t, err := w.token()
	if err != nil {
		return "", err
	}
	switch v := t.(type) {
	case string:
		return v, nil
	case nil:
		return "", nil
	}
	return "", w.errf("want a string, got %v", t)
}

func (w *jsonWalker) num() (int64, error) {
	t, err := w.token()
	if err != nil {
		return 0, err
	}
	switch v := t.(type) {
	case float64:
		return int64(v), nil
	case nil:
		return 0, nil
	}
	return 0, w.errf("want a number, got %v", t)
}

// skip consumes one value of any kind.
func (w *jsonWalker) skip() error {
	depth := 0
	for {
		t, err := w.token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}
