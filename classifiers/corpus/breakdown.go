package corpus

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/scalemalnet/scalemalnet/classifiers/fusion"
)

// GroupOf returns a function naming the group of a run ID from a corpus
// index (the ID itself when the index does not hold it).
func GroupOf(ents []Entry) func(id string) string {
	g := make(map[string]string, len(ents))
	for _, e := range ents {
		g[e.ID] = e.Group
	}
	return func(id string) string {
		if s, ok := g[id]; ok {
			return s
		}
		return id
	}
}

// GroupRow is one group's out-of-fold results: for a malicious group
// (an ATT&CK technique) the share of its runs detected, for a benign group
// (a program) the share falsely flagged; one value per entry.
type GroupRow struct {
	Group     string
	Malicious bool
	Runs      int
	Flagged   []float64 // per entry: share of the group's runs predicted malicious
}

// Breakdown groups every entry's out-of-fold predictions by the group of
// each record (records the index does not hold are left out).
func Breakdown(ents []Entry, entries []fusion.EvalEntry) []GroupRow {
	by := map[string]Entry{}
	for _, e := range ents {
		by[e.ID] = e
	}
	rows := map[string]*GroupRow{}
	for k, en := range entries {
		for _, p := range en.Predictions {
			e, ok := by[p.ID]
			if !ok {
				continue
			}
			r := rows[e.Group]
			if r == nil {
				r = &GroupRow{Group: e.Group, Malicious: e.Label == LabelMalware, Flagged: make([]float64, len(entries))}
				rows[e.Group] = r
			}
			if k == 0 {
				r.Runs++
			}
			if p.Predicted {
				r.Flagged[k]++
			}
		}
	}
	out := make([]GroupRow, 0, len(rows))
	for _, r := range rows {
		for k := range r.Flagged {
			if r.Runs > 0 {
				r.Flagged[k] /= float64(r.Runs)
			}
		}
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Malicious != out[j].Malicious {
			return out[i].Malicious
		}
		return out[i].Group < out[j].Group
	})
	return out
}

// WriteBreakdown prints the rows as a Markdown table: detection per
// technique, then false positives per benign program.
func WriteBreakdown(w io.Writer, rows []GroupRow, entries []fusion.EvalEntry) {
	head := func(what string) {
		fmt.Fprintf(w, "| %s | runs |", what)
		for _, en := range entries {
			fmt.Fprintf(w, " %s |", en.Name)
		}
		fmt.Fprintf(w, "\n|---|---|%s\n", strings.Repeat("---|", len(entries)))
	}
	mal := true
	fmt.Fprintln(w, "Detected share of each ATT&CK technique's runs (out of fold, each technique held out whole):")
	head("technique")
	for _, r := range rows {
		if r.Malicious != mal {
			fmt.Fprintln(w, "\nFalsely flagged share of each benign program's runs (out of fold):")
			head("benign program")
			mal = false
		}
		fmt.Fprintf(w, "| %s | %d |", r.Group, r.Runs)
		for _, v := range r.Flagged {
			fmt.Fprintf(w, " %.2f |", v)
		}
		fmt.Fprintln(w)
	}
}
