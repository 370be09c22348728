//go:build !(linux && amd64)

package builtin

import "errors"

// syscallNames: the tracer's x86-64 system call table is generated for
// linux/amd64 only, so the callseq featurizer cannot be configured
// elsewhere; the other built-ins work on any platform.
func syscallNames() ([]string, error) {
	return nil, errors.New("callseq: the system call vocabulary is only built on linux/amd64")
}
