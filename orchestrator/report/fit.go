package report

import (
	"encoding/json"
	"errors"
	"fmt"
)

// MaxStoredBytes bounds a stored report's JSON: a report is one bbolt value,
// read whole on every GET.
const MaxStoredBytes = 16 << 20

// ErrTooLarge is returned by Fit when a report cannot be cut to its bound.
var ErrTooLarge = errors.New("report too large")

// section is a part of a report that Fit may cut: its length in entries
// and a way to keep its first n.
type section struct {
	name string
	len  func(r *Report) int
	keep func(r *Report, n int)
	size func(r *Report) int // JSON bytes, to pick the largest
}

func jsonSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b)
}

func listSection[T any](name string, list func(r *Report) *[]T) section {
	return section{
		name: name,
		len:  func(r *Report) int { return len(*list(r)) },
		keep: func(r *Report, n int) { l := list(r); *l = (*l)[:n:n] },
		size: func(r *Report) int { return jsonSize(*list(r)) },
	}
}

// The sections made from the guest's data, which a hostile sample can make
// large; everything else in a report is small and bounded by the host.
var sections = []section{
	listSection("windows", func(r *Report) *[]WindowStat { return &r.Windows }),
	listSection("behavior.files_opened", func(r *Report) *[]string { return &r.Behavior.FilesOpened }),
	listSection("behavior.files_written", func(r *Report) *[]string { return &r.Behavior.FilesWritten }),
	listSection("behavior.files_deleted", func(r *Report) *[]string { return &r.Behavior.FilesDeleted }),
	listSection("behavior.executed", func(r *Report) *[]Exec { return &r.Behavior.Executed }),
	listSection("behavior.connections", func(r *Report) *[]Connection { return &r.Behavior.Connections }),
	listSection("signatures", func(r *Report) *[]Signature { return &r.Signatures }),
	{
		name: "behavior.processes",
		len:  func(r *Report) int { return countNodes(r.Behavior.Processes) },
		keep: func(r *Report, n int) { r.Behavior.Processes, _ = pruneTree(r.Behavior.Processes, n) },
		size: func(r *Report) int { return jsonSize(r.Behavior.Processes) },
	},
	{
		name: "outcome.output",
		len:  func(r *Report) int { return len(r.Outcome.Output) },
		keep: func(r *Report, n int) { r.Outcome.Output = r.Outcome.Output[:n] },
		size: func(r *Report) int { return len(r.Outcome.Output) },
	},
}

// Fit returns r's JSON encoding, at most max bytes: while it is larger, the
// largest of the guest-made sections (windows, behaviour lists, process
// tree, output) is cut to half its entries, and each cut is recorded in
// r.Truncated (r is changed in place). ErrTooLarge if that cannot bring
// it under max.
func Fit(r *Report, max int) ([]byte, error) {
	totals := map[string]int{}
	for round := 0; ; round++ {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("encode report: %w", err)
		}
		if len(b) <= max {
			return b, nil
		}
		best, bestSize := -1, 0
		for i, s := range sections {
			if s.len(r) == 0 {
				continue
			}
			if sz := s.size(r); sz > bestSize {
				best, bestSize = i, sz
			}
		}
		if best < 0 || round > 64*len(sections) {
			return nil, fmt.Errorf("%w: %d bytes after cutting every section (bound %d)", ErrTooLarge, len(b), max)
		}
		s := sections[best]
		n := s.len(r)
		if _, ok := totals[s.name]; !ok {
			totals[s.name] = n
		}
		s.keep(r, n/2)
		r.markTruncated(s.name, n/2, totals[s.name])
	}
}

func (r *Report) markTruncated(name string, kept, total int) {
	for i := range r.Truncated {
		if r.Truncated[i].Section == name {
			r.Truncated[i].Kept = kept
			return
		}
	}
	r.Truncated = append(r.Truncated, Truncation{Section: name, Kept: kept, Total: total})
}

func countNodes(nodes []ProcessNode) int {
	n := 0
	for _, nd := range nodes {
		n += 1 + countNodes(nd.Children)
	}
	return n
}

// pruneTree keeps the first n nodes of the tree in pre-order; it returns
// the pruned tree and how many of the n it used. Tree depth is bounded by
// MaxTreeDepth, so the recursion is too.
func pruneTree(nodes []ProcessNode, n int) ([]ProcessNode, int) {
	var out []ProcessNode
	used := 0
	for _, nd := range nodes {
		if used >= n {
			break
		}
		used++
		kids, u := pruneTree(nd.Children, n-used)
		used += u
		if len(kids) < len(nd.Children) && nd.Flattened > 0 {
			nd.Flattened -= min(nd.Flattened, len(nd.Children)-len(kids))
		}
		nd.Children = kids
		out = append(out, nd)
	}
	return out, used
}
