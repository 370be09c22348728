package tracer

import "sort"

// SyscallNames returns the x86-64 system call names this tracer records,
// sorted: the vocabulary of the project's own traces.
func SyscallNames() []string {
	out := make([]string, 0, len(syscallNames))
	for _, n := range syscallNames {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
