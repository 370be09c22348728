package features

import (
	"errors"
	"strings"
	"testing"
)

func TestMatchesRoundTripAndBounds(t *testing.T) {
	ms := []Match{
		{ID: "low-one", Source: "s", Description: "d", Severity: 2, Techniques: []string{"T1082"}},
		{ID: "crit", Source: "s", Description: "d", Severity: 5, Techniques: []string{"T1059.004"}, Evidence: []string{Evidence("a\x1b[31m" + strings.Repeat("x", 600))}},
	}
	s, err := MatchesSet("m", "1", ms)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil || !IsMatches(s) || s.Schema[0] != "crit" || s.Vector[0] != 5 {
		t.Fatalf("set %+v: %v", s, err)
	}
	got, err := DecodeMatches(s)
	if err != nil || len(got) != 2 || got[0].ID != "crit" || len(got[0].Evidence[0]) > MaxEvidenceLen || strings.Contains(got[0].Evidence[0], "\x1b") {
		t.Fatalf("decoded %+v: %v", got, err)
	}
	// Tampered or out-of-bounds sets are refused whole.
	bad := func(edit func(s *Set)) error {
		c := *s
		c.Meta = map[string]string{MetaSchema: MatchesSchema, MetaMatches: s.Meta[MetaMatches]}
		c.Schema, c.Vector = append([]string{}, s.Schema...), append([]float64{}, s.Vector...)
		edit(&c)
		_, err := DecodeMatches(&c)
		return err
	}
	for name, edit := range map[string]func(s *Set){
		"column disagrees": func(s *Set) { s.Vector[0] = 1 },
		"missing column":   func(s *Set) { s.Schema, s.Vector = s.Schema[:1], s.Vector[:1] },
		"garbage":          func(s *Set) { s.Meta[MetaMatches] = "{" },
		"unknown field":    func(s *Set) { s.Meta[MetaMatches] = `[{"id":"a","zzz":1}]` },
		"bad technique":    func(s *Set) { s.Meta[MetaMatches] = strings.Replace(s.Meta[MetaMatches], "T1082", "X1", 1) },
		"not matches":      func(s *Set) { delete(s.Meta, MetaSchema) },
	} {
		if err := bad(edit); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := MatchesSet("m", "1", []Match{{ID: "x", Source: "s", Severity: 7}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("severity 7 accepted: %v", err)
	}
	many := make([]Match, MaxMatches+3)
	for i := range many {
		many[i] = Match{ID: "m" + strings.Repeat("x", i%50) + string(rune('a'+i%26)), Source: "s", Severity: 1}
	}
	s, err = MatchesSet("m", "1", many)
	if err != nil || len(s.Schema) != MaxMatches || s.Meta["dropped"] != "3" {
		t.Fatalf("cap: %v %d %v", err, len(s.Schema), s.Meta["dropped"])
	}
}
