//go:build !linux

package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/scalemalnet/scalemalnet/guest/agent"
)

func openConsole() io.Writer { return os.Stderr }

func runInit(ctx context.Context, cfg agent.Config, log *slog.Logger) {
	log.Error("smn-agent: init mode needs linux")
	select {}
}
