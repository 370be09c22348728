// Command scalemalnet is the ScaleMalNet orchestrator and its client: "serve"
// runs the orchestrator; the other commands talk to its REST API. Run
// "scalemalnet help" for usage.
//
// `scalemalnet plugin serve NAME` is how the orchestrator runs a built-in
// plugin: as a separate process of this same binary, through the plugin
// contract external plugins use (see docs/plugins.md); `scalemalnet plugin
// serve-model FILE` serves a trained model file as a classifier plugin.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/scalemalnet/scalemalnet/cmd/scalemalnet/internal/cli"
	"github.com/scalemalnet/scalemalnet/orchestrator/daemon"
	"github.com/scalemalnet/scalemalnet/plugins/builtin"
)

func main() {
	if len(os.Args) == 4 && os.Args[1] == "plugin" && (os.Args[2] == "serve" || os.Args[2] == "serve-model") {
		serve := builtin.Serve
		if os.Args[2] == "serve-model" {
			serve = builtin.ServeModel
		}
		if err := serve(os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "scalemalnet plugin serve:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(cli.Run(context.Background(), os.Args[1:], cli.Env{Serve: serve, CheckConfig: checkConfig}))
}

// serve runs the orchestrator daemon with the serve command's options
// (and its configuration file; see serveConfig).
func serve(ctx context.Context, o cli.ServeOptions) error {
	// A SIGHUP before the daemon installs its handler (while it opens the
	// store and recovers) must not end the process: catch it here and let
	// it go (a full one-slot channel drops further signals).
	signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP)
	cfg, err := serveConfig(o)
	if err != nil {
		return err
	}
	if o.ConfigFile != "" {
		cfg.ConfigFile = o.ConfigFile
		cfg.Reload = func() (daemon.Config, error) { return serveConfig(o) }
	}
	return daemon.Run(ctx, cfg)
}
