//go:build linux && amd64

package signatures

import "github.com/scalemalnet/scalemalnet/guest/tracer"

// calls is the vocabulary of the project's traces: the x86-64 system calls
// the guest tracer names (its i386 names are the same words).
var calls = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range tracer.SyscallNames() {
		m[n] = true
	}
	return m
}()

// knownCall reports whether a rule may name system call s.
func knownCall(s string) bool { return calls[s] }
