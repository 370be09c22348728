package builtin

import "github.com/scalemalnet/scalemalnet/guest/tracer"

// syscallNames is the vocabulary of the project's own traces: the x86-64
// system calls the guest tracer records.
func syscallNames() ([]string, error) { return tracer.SyscallNames(), nil }
