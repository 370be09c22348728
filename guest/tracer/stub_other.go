//go:build !(linux && amd64)

package tracer

import (
	"context"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// Run is only implemented on linux/amd64.
func Run(ctx context.Context, cfg Config, emit func(trace.Window) error) (trace.Summary, error) {
	return trace.Summary{Outcome: trace.OutcomeError, Error: ErrUnsupported.Error()}, ErrUnsupported
}

// ReapOrphans does nothing on this platform.
func ReapOrphans() {}
