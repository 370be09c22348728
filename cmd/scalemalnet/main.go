// Command scalemalnet is the ScaleMalNet orchestrator and its client: "serve"
// runs the orchestrator; the other commands talk to its REST API. Run
// "scalemalnet help" for usage.
package main

import (
	"context"
	"os"

	"github.com/scalemalnet/scalemalnet/cmd/scalemalnet/internal/cli"
	"github.com/scalemalnet/scalemalnet/orchestrator/daemon"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:], cli.Env{Serve: serve}))
}

// serve runs the orchestrator daemon with the serve command's options.
func serve(ctx context.Context, o cli.ServeOptions) error {
	return daemon.Run(ctx, daemon.Config{
		DataDir:    o.DataDir,
		Listen:     o.Listen,
		Slots:      o.Slots,
		ImageDir:   o.ImageDir,
		LibvirtURI: o.LibvirtURI,
		Accel:      o.Accel,
		MaxSample:  o.MaxSample,
		Logger:     o.Logger,
	})
}
