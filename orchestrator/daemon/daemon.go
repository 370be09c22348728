package daemon

import (
	"context"
	"errors"
)

// Run starts the orchestrator and blocks until ctx is cancelled.
func Run(ctx context.Context, cfg Config) error {
	return errors.New("daemon: not implemented yet")
}
