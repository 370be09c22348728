package features

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// A matches set is the generic way for a featurizer to report rules that
// matched a sample or its run (behaviour signatures, YARA rules, an
// external plugin's own rules). It is a KindVector set with one column per
// matched rule (Schema: the rule ids; Vector: each rule's severity, 1-5),
// Meta[MetaSchema] = MatchesSchema and Meta[MetaMatches] the matches
// themselves as JSON ([]Match). The orchestrator lists every match of every
// matches set in the report's signatures section.
const (
	MetaSchema    = "schema"
	MetaMatches   = "matches"
	MatchesSchema = "matches/1"
)

// Bounds of a matches set: a featurizer's matches past them are dropped
// (MatchesSet) and a set breaking them is refused (DecodeMatches), so a
// plugin cannot make a report grow without bound.
const (
	MaxMatches      = 256 // matches in one set
	MaxEvidence     = 8   // evidence lines per match
	MaxEvidenceLen  = 512 // bytes per evidence line
	MaxDescription  = 512 // bytes of a description
	MaxTechniques   = 16  // ATT&CK technique ids per match
	MaxMatchesBytes = 1 << 20
)

// Severity bounds: 1 (informational) to 5 (critical).
const (
	SeverityMin = 1
	SeverityMax = 5
)

// Match is one rule that matched.
type Match struct {
	ID          string   `json:"id"`              // rule id, unique within its source
	Source      string   `json:"source"`          // what matched it: "signatures", "yara", a plugin name
	Description string   `json:"description"`     // one line for analysts
	Severity    int      `json:"severity"`        // 1 (info) .. 5 (critical)
	Techniques  []string `json:"techniques"`      // MITRE ATT&CK technique ids, e.g. "T1059.004"
	Evidence    []string `json:"evidence"`        // what matched: events, strings (bounded)
	Count       int      `json:"count,omitempty"` // matching events or strings in all, evidence or not
	Tags        []string `json:"tags,omitempty"`  // free-form (YARA tags)
}

var (
	matchID   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)
	technique = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
)

// ValidTechnique reports whether s is an ATT&CK technique id ("T1059" or
// "T1059.004").
func ValidTechnique(s string) bool { return technique.MatchString(s) }

// Check validates one match against the bounds.
func (m *Match) Check() error {
	switch {
	case !matchID.MatchString(m.ID):
		return fmt.Errorf("%w: match id %q", ErrInvalid, cut(m.ID, 64))
	case m.Source == "" || len(m.Source) > 64:
		return fmt.Errorf("%w: match %s: source must be 1-64 bytes", ErrInvalid, m.ID)
	case m.Severity < SeverityMin || m.Severity > SeverityMax:
		return fmt.Errorf("%w: match %s: severity %d outside %d-%d", ErrInvalid, m.ID, m.Severity, SeverityMin, SeverityMax)
	case len(m.Description) > MaxDescription || !utf8.ValidString(m.Description):
		return fmt.Errorf("%w: match %s: description longer than %d bytes or not UTF-8", ErrInvalid, m.ID, MaxDescription)
	case len(m.Techniques) > MaxTechniques:
		return fmt.Errorf("%w: match %s: %d techniques (at most %d)", ErrInvalid, m.ID, len(m.Techniques), MaxTechniques)
	case len(m.Evidence) > MaxEvidence:
		return fmt.Errorf("%w: match %s: %d evidence lines (at most %d)", ErrInvalid, m.ID, len(m.Evidence), MaxEvidence)
	case len(m.Tags) > MaxTechniques:
		return fmt.Errorf("%w: match %s: %d tags (at most %d)", ErrInvalid, m.ID, len(m.Tags), MaxTechniques)
	case m.Count < 0:
		return fmt.Errorf("%w: match %s: negative count", ErrInvalid, m.ID)
	}
	for _, t := range m.Techniques {
		if !ValidTechnique(t) {
			return fmt.Errorf("%w: match %s: technique %q is not an ATT&CK id like T1059 or T1059.004", ErrInvalid, m.ID, cut(t, 32))
		}
	}
	for _, e := range m.Evidence {
		if len(e) > MaxEvidenceLen {
			return fmt.Errorf("%w: match %s: evidence line longer than %d bytes", ErrInvalid, m.ID, MaxEvidenceLen)
		}
	}
	for _, t := range m.Tags {
		if len(t) > 128 {
			return fmt.Errorf("%w: match %s: tag longer than 128 bytes", ErrInvalid, m.ID)
		}
	}
	return nil
}

// Evidence renders one evidence line within MaxEvidenceLen bytes, valid
// UTF-8, control characters escaped.
func Evidence(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return cut(b.String(), MaxEvidenceLen)
}

// cut shortens s to at most n bytes on a rune boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	i := n - len(mark)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + mark
}

// MatchesSet builds a matches set named name. Matches are sorted by
// severity (highest first) then id; past MaxMatches they are dropped and
// Meta "dropped" says how many. Every match must pass Check.
func MatchesSet(name, version string, ms []Match) (*Set, error) {
	ms = append([]Match(nil), ms...)
	sort.SliceStable(ms, func(i, j int) bool {
		if ms[i].Severity != ms[j].Severity {
			return ms[i].Severity > ms[j].Severity
		}
		return ms[i].ID < ms[j].ID
	})
	meta := map[string]string{MetaSchema: MatchesSchema}
	if len(ms) > MaxMatches {
		meta["dropped"] = fmt.Sprint(len(ms) - MaxMatches)
		ms = ms[:MaxMatches]
	}
	s := &Set{Name: name, Version: version, Kind: KindVector, Schema: []string{}, Vector: []float64{}, Meta: meta}
	for i := range ms {
		if ms[i].Techniques == nil {
			ms[i].Techniques = []string{}
		}
		if ms[i].Evidence == nil {
			ms[i].Evidence = []string{}
		}
		if err := ms[i].Check(); err != nil {
			return nil, err
		}
		s.Schema = append(s.Schema, ms[i].ID)
		s.Vector = append(s.Vector, float64(ms[i].Severity))
	}
	b, err := json.Marshal(ms)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxMatchesBytes {
		return nil, fmt.Errorf("%w: matches take %d bytes (at most %d)", ErrInvalid, len(b), MaxMatchesBytes)
	}
	meta[MetaMatches] = string(b)
	return s, nil
}

// IsMatches reports whether s is a matches set.
func IsMatches(s *Set) bool { return s != nil && s.Meta[MetaSchema] == MatchesSchema }

// DecodeMatches returns the matches of a matches set, checked against the
// bounds and against its vector (one column per match, same id and
// severity). A set breaking them is refused whole with ErrInvalid.
func DecodeMatches(s *Set) ([]Match, error) {
	if !IsMatches(s) {
		return nil, fmt.Errorf("%w: set %q is not a %s set", ErrInvalid, s.Name, MatchesSchema)
	}
	raw := s.Meta[MetaMatches]
	if len(raw) > MaxMatchesBytes {
		return nil, fmt.Errorf("%w: set %q: matches take %d bytes (at most %d)", ErrInvalid, s.Name, len(raw), MaxMatchesBytes)
	}
	var ms []Match
	if raw != "" {
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ms); err != nil {
			return nil, fmt.Errorf("%w: set %q: matches: %v", ErrInvalid, s.Name, err)
		}
	}
	if len(ms) > MaxMatches {
		return nil, fmt.Errorf("%w: set %q: %d matches (at most %d)", ErrInvalid, s.Name, len(ms), MaxMatches)
	}
	if len(ms) != len(s.Schema) || len(ms) != len(s.Vector) {
		return nil, fmt.Errorf("%w: set %q: %d matches for %d columns", ErrInvalid, s.Name, len(ms), len(s.Schema))
	}
	for i := range ms {
		if err := ms[i].Check(); err != nil {
			return nil, fmt.Errorf("set %q: %w", s.Name, err)
		}
		if ms[i].ID != s.Schema[i] || float64(ms[i].Severity) != s.Vector[i] {
			return nil, fmt.Errorf("%w: set %q: match %d (%s) does not agree with its column", ErrInvalid, s.Name, i, ms[i].ID)
		}
	}
	return ms, nil
}
