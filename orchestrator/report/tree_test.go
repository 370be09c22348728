package report

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

func chain(n int) []trace.Process {
	procs := make([]trace.Process, n)
	for i := range procs {
		procs[i] = trace.Process{PID: 100 + i, PPID: 99 + i, Start: int64(i)}
	}
	procs[0].PPID = 0
	return procs
}

// walkTree returns the pids in the tree and its nesting depth.
func walkTree(nodes []ProcessNode) (pids []int, depth int) {
	type item struct {
		n ProcessNode
		d int
	}
	var stack []item
	for _, n := range nodes {
		stack = append(stack, item{n, 1})
	}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		pids = append(pids, it.n.PID)
		depth = max(depth, it.d)
		for _, c := range it.n.Children {
			stack = append(stack, item{c, it.d + 1})
		}
	}
	return pids, depth
}

// Finding 8 (issue 13): a fork chain deeper than 65 silently lost
// processes from the report tree (100 became 66). Every process must be in
// the tree, nesting at most MaxTreeDepth+1 levels, and the report must
// survive a JSON round trip (encoding/json refuses nesting past 10,000).
func TestTreeDeepChainLosesNothing(t *testing.T) {
	for _, n := range []int{100, 10_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			tree := Tree(chain(n))
			pids, depth := walkTree(tree)
			if len(pids) != n {
				t.Fatalf("%d processes in the tree, want %d", len(pids), n)
			}
			seen := map[int]bool{}
			for _, p := range pids {
				if seen[p] {
					t.Fatalf("pid %d twice", p)
				}
				seen[p] = true
			}
			if depth > MaxTreeDepth+2 {
				t.Errorf("tree nests %d levels", depth)
			}
			// The ancestor at MaxTreeDepth lists the rest of the chain flat.
			nd := tree[0]
			for i := 0; i < MaxTreeDepth; i++ {
				nd = nd.Children[0]
			}
			if nd.Flattened != n-MaxTreeDepth-1 || len(nd.Children) != n-MaxTreeDepth-1 || nd.Children[0].PPID != nd.PID {
				t.Errorf("at depth %d: %d flattened, %d children", MaxTreeDepth, nd.Flattened, len(nd.Children))
			}
			b, err := json.Marshal(Behavior{Processes: tree})
			if err != nil {
				t.Fatal(err)
			}
			var back Behavior
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("report does not decode: %v", err)
			}
		})
	}
}

// Hostile process tables: duplicate pids and parent cycles keep every
// entry exactly once and cannot blow the tree up.
func TestTreeHostileTables(t *testing.T) {
	var procs []trace.Process
	// 30 levels of two entries per pid: a naive tree would have 2^30 nodes.
	for i := 0; i < 30; i++ {
		p := trace.Process{PID: 10 + i, PPID: 9 + i}
		procs = append(procs, p, p)
	}
	procs = append(procs, trace.Process{PID: 500, PPID: 501}, trace.Process{PID: 501, PPID: 500}) // a cycle
	pids, _ := walkTree(Tree(procs))
	if len(pids) != len(procs) {
		t.Fatalf("%d nodes for %d entries", len(pids), len(procs))
	}
}
