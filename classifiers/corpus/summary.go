package corpus

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Summary counts a corpus's runs.
type Summary struct {
	Total, Done, Failed, Pending int
	Malware, Benign              int // done runs by label
	Techniques, Programs         int // distinct groups of done runs
	Seconds                      float64
	BySource                     map[string][2]int // source → done, failed
	FailedRuns                   []Entry
	Skipped                      []Skip
	SkipReasons                  []ReasonCount
}

// ReasonCount is how many skipped tests share a kind of reason (the
// reasons' details are in Skipped).
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// Summarize counts entries and skips.
func Summarize(ents []Entry, skipped []Skip) Summary {
	s := Summary{Total: len(ents), BySource: map[string][2]int{}, Skipped: skipped}
	groups := map[string]map[string]bool{LabelMalware: {}, LabelBenign: {}}
	for _, e := range ents {
		c := s.BySource[e.Source]
		switch e.Status {
		case StatusDone:
			s.Done++
			c[0]++
			s.Seconds += e.Seconds
			if e.Label == LabelMalware {
				s.Malware++
			} else {
				s.Benign++
			}
			if g, ok := groups[e.Label]; ok {
				g[e.Group] = true
			}
		case StatusFailed:
			s.Failed++
			c[1]++
			s.FailedRuns = append(s.FailedRuns, e)
		default:
			s.Pending++
		}
		s.BySource[e.Source] = c
	}
	s.Techniques, s.Programs = len(groups[LabelMalware]), len(groups[LabelBenign])
	for r, c := range SkipCounts(skipped) {
		s.SkipReasons = append(s.SkipReasons, ReasonCount{r, c})
	}
	sort.Slice(s.SkipReasons, func(i, j int) bool {
		a, b := s.SkipReasons[i], s.SkipReasons[j]
		return a.Count > b.Count || a.Count == b.Count && a.Reason < b.Reason
	})
	return s
}

// ReadSkipped reads a corpus folder's skipped tests (none when the file is
// absent).
func ReadSkipped(dir string) ([]Skip, error) {
	b, err := os.ReadFile(filepath.Join(dir, SkippedFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s []Skip
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrIndex, SkippedFile, err)
	}
	return s, nil
}
