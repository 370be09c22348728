package datasets

import (
	"errors"
	"fmt"
)

// Labels used by SeqRecord.Label. Malware sets use Malware/Benign; intrusion
// sets (ADFA-LD, FHIDS) use Normal/Attack.
const (
	LabelMalware = "malware"
	LabelBenign  = "benign"
	LabelNormal  = "normal"
	LabelAttack  = "attack"
)

// Source names set in SeqRecord.Source.
const (
	SourceADFA      = "adfa-ld"
	SourceFHIDS     = "fhids"
	SourceMalBehavD = "malbehavd_v1"
	SourceMalAPI    = "catak_mal_api_2019"
	SourceCuckoo    = "cuckoo"
	SourceTrace     = "trace"
)

// SeqRecord is one labelled call sequence.
type SeqRecord struct {
	ID     string   `json:"id"`               // unique within its source, e.g. a path or a sha256
	Source string   `json:"source"`           // one of the Source* names
	Label  string   `json:"label,omitempty"`  // one of the Label* names; empty when unknown
	Class  string   `json:"class,omitempty"`  // family, malware type or attack kind, where known
	Calls  []string `json:"calls"`            // call names in order, as the source spells them
	Group  string   `json:"group,omitempty"`  // process, service or attack run, where known
	Subset string   `json:"subset,omitempty"` // the source's own split, e.g. ADFA-LD "training"
	// Dropped counts calls past Limits.MaxCalls that were read but not kept.
	Dropped int `json:"dropped,omitempty"`
}

// Malicious reports whether the label is malware or attack.
func (r *SeqRecord) Malicious() bool { return r.Label == LabelMalware || r.Label == LabelAttack }

// ErrFormat is wrapped by every error about malformed input.
var ErrFormat = errors.New("malformed data set file")

// ErrLimit is wrapped by errors about input that exceeds a Limits bound
// which cannot be handled by truncation (e.g. a report over MaxBytes).
var ErrLimit = errors.New("data set input exceeds a limit")

// formatErr builds an error wrapping ErrFormat that names file and line (line
// 0 means the whole file).
func formatErr(file string, line int, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		return fmt.Errorf("%w: %s:%d: %s", ErrFormat, file, line, msg)
	}
	return fmt.Errorf("%w: %s: %s", ErrFormat, file, msg)
}

// Limits bounds what a loader holds in memory.
type Limits struct {
	// MaxCalls is the most calls kept per record; the rest are counted in
	// SeqRecord.Dropped. 0 means DefaultMaxCalls.
	MaxCalls int
	// MaxCallBytes is the longest call name (or number) accepted; longer
	// ones are a format error. 0 means DefaultMaxCallBytes.
	MaxCallBytes int
	// MaxLineBytes is the longest line (or one-line file) accepted; longer
	// ones are an ErrLimit error. 0 means DefaultMaxLineBytes.
	MaxLineBytes int
	// MaxRecords is the most records one loader returns; more is an ErrLimit
	// error. 0 means DefaultMaxRecords.
	MaxRecords int
	// MaxBytes bounds a whole single-document input (a Cuckoo report). 0
	// means DefaultMaxBytes.
	MaxBytes int64
}

// Defaults for zero Limits fields.
const (
	DefaultMaxCalls     = 1 << 20
	DefaultMaxCallBytes = 256
	DefaultMaxLineBytes = 64 << 20
	DefaultMaxRecords   = 1 << 20
	DefaultMaxBytes     = 512 << 20
)

func (l Limits) withDefaults() Limits {
	if l.MaxCalls <= 0 {
		l.MaxCalls = DefaultMaxCalls
	}
	if l.MaxCallBytes <= 0 {
		l.MaxCallBytes = DefaultMaxCallBytes
	}
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = DefaultMaxLineBytes
	}
	if l.MaxRecords <= 0 {
		l.MaxRecords = DefaultMaxRecords
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}

// calls accumulates a record's call list under a MaxCalls cap.
type calls struct {
	max     int
	list    []string
	dropped int
}

func (c *calls) add(name string) {
	if len(c.list) >= c.max {
		c.dropped++
		return
	}
	c.list = append(c.list, name)
}

// interner shares one string per distinct call name, so a record of a
// million calls costs a million string headers, not a million strings.
type interner map[string]string

func (in interner) get(b []byte) string {
	if s, ok := in[string(b)]; ok {
		return s
	}
	s := string(b)
	in[s] = s
	return s
}

func newCalls(lim Limits) *calls { return &calls{max: lim.MaxCalls} }

// newCallsHint is newCalls with room for about hint calls reserved.
func newCallsHint(lim Limits, hint int64) *calls {
	n := int(min(max(hint, 0), int64(lim.MaxCalls), 1<<22))
	return &calls{max: lim.MaxCalls, list: make([]string, 0, n)}
}
