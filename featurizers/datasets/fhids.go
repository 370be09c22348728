package datasets

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/ulikunitz/xz"
)

// FHIDS file names.
const (
	FHIDSDir     = "fhids"
	FHIDSArchive = "fhids.tar.xz"
)

// ReadCallNames reads one trace of whitespace-separated call names (the
// FHIDS format: one line, x86-64 system call names), keeping at most
// lim.MaxCalls and counting the rest in dropped.
func ReadCallNames(r io.Reader, file string, lim Limits) (calls []string, dropped int, err error) {
	return readCallNames(r, file, lim.withDefaults(), interner{}, 0)
}

// readCallNames is ReadCallNames sharing name strings through in.
// hint is the expected number of calls.
func readCallNames(r io.Reader, file string, lim Limits, in interner, hint int64) (calls []string, dropped int, err error) {
	c := newCallsHint(lim, hint)
	s := newLineScanner(r, file, lim, false)
	for {
		err := s.scanLine(func(tok []byte) error {
			name, ok := in[string(tok)]
			if !ok {
				if !validName(string(tok)) {
					return formatErr(file, s.line, "bad call name %q", tok)
				}
				name = in.get(tok)
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

// LoadFHIDS reads FHIDS from its .tar.xz archive (decompressed in pure Go).
func LoadFHIDS(archive string, lim Limits) ([]SeqRecord, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	xr, err := xz.NewReader(bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, archive, err)
	}
	recs, err := ReadFHIDSTar(xr, archive, lim)
	if err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrLimit) {
		// Read errors inside a compressed archive are corrupt data.
		return nil, fmt.Errorf("%w: %s: %w", ErrFormat, archive, err)
	}
	return recs, err
}

// ReadFHIDSTar reads an uncompressed tar stream laid out as
// FHIDS/{normal,attack}/KIND/N.txt. Normal traces get Group = the service
// (FTP, Git, Hadoop, Nginx, Redis, SSH) and no Class; attack traces get
// Class = Group = the attack folder (Cryptomining, or the service attacked).
// IDs are the archive paths. Directories and non-.txt files are skipped; a
// .txt file elsewhere in the layout is a format error. Records are sorted by
// ID.
func ReadFHIDSTar(r io.Reader, file string, lim Limits) ([]SeqRecord, error) {
	lim = lim.withDefaults()
	tr := tar.NewReader(r)
	in := interner{}
	var out []SeqRecord
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: entry %d: %v", ErrFormat, file, len(out)+1, err)
		}
		name := strings.TrimPrefix(path.Clean(h.Name), "./")
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(name, ".txt") {
			continue
		}
		parts := strings.Split(name, "/")
		if len(parts) != 4 || parts[0] != "FHIDS" || (parts[1] != LabelNormal && parts[1] != LabelAttack) || !validName(parts[2]) {
			return nil, formatErr(file, 0, "entry %q is not FHIDS/{normal,attack}/KIND/N.txt", h.Name)
		}
		if len(out) >= lim.MaxRecords {
			return nil, fmt.Errorf("%w: %s: more than %d records", ErrLimit, file, lim.MaxRecords)
		}
		if h.Size > int64(lim.MaxLineBytes) {
			return nil, fmt.Errorf("%w: %s: %s: %d bytes, limit %d", ErrLimit, file, name, h.Size, lim.MaxLineBytes)
		}
		calls, dropped, err := readCallNames(tr, file+":"+name, lim, in, h.Size/7)
		if err != nil {
			return nil, err
		}
		rec := SeqRecord{ID: name, Source: SourceFHIDS, Label: parts[1], Calls: calls, Group: parts[2], Dropped: dropped}
		if rec.Label == LabelAttack {
			rec.Class = parts[2]
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
