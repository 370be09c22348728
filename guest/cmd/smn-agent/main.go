// Command smn-agent is the ScaleMalNet guest agent. Built static
// (CGO_ENABLED=0), it is /init of the guest initramfs: as PID 1 it mounts the
// pseudo filesystems, loads the virtio modules, brings up loopback (and the
// network device, when the VM has one), finds the agent's virtio-serial port
// and serves host sessions on it forever.
//
// On a host, for tests, it serves without any of that:
//
//	smn-agent -listen unix:/tmp/agent.sock   # one session per connection
//	smn-agent -stdio                         # one connection on stdin/stdout
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/scalemalnet/scalemalnet/guest/agent"
)

func main() {
	pid1 := os.Getpid() == 1
	// As init, argv holds whatever the kernel command line left over: never
	// exit on a bad flag (PID 1 exiting panics the kernel).
	flag.CommandLine.Init(os.Args[0], flag.ContinueOnError)
	listen := flag.String("listen", "", "serve on this address instead of the virtio port (unix:/path)")
	stdio := flag.Bool("stdio", false, "serve one connection on stdin/stdout")
	workDir := flag.String("workdir", "/tmp/smn", "sample directory (the sample's cwd)")
	verbose := flag.Bool("v", false, "debug logging")
	printInclude := flag.Bool("relay-include", false, "print Wine's RelayInclude value for the recorded API set and exit (used by vmimages/build.sh)")
	if err := flag.CommandLine.Parse(os.Args[1:]); err != nil && !pid1 {
		os.Exit(2)
	}

	if *printInclude && !pid1 {
		fmt.Print(relayInclude())
		return
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logOut := io.Writer(os.Stderr)
	if pid1 {
		logOut = openConsole()
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	cfg := agent.Config{WorkDir: *workDir, Logger: log, SetClock: pid1, APILines: apiLines}
	if pid1 {
		cfg.Interfaces = agent.NetInterfaces // the VM's own; a host's are not reported
	}
	ctx := context.Background()

	switch {
	case *stdio:
		a := agent.New(cfg)
		if err := a.Serve(ctx, stdioRW{}); err != nil && !errors.Is(err, io.EOF) {
			log.Error("session", "err", err)
			os.Exit(1)
		}
	case *listen != "":
		if err := serveListener(ctx, *listen, agent.New(cfg), log); err != nil {
			log.Error("listen", "err", err)
			os.Exit(1)
		}
	case pid1:
		runInit(ctx, cfg, log) // never returns
	default:
		fmt.Fprintln(os.Stderr, "smn-agent: not PID 1: use -listen unix:/path or -stdio")
		os.Exit(2)
	}
}

type stdioRW struct{}

func (stdioRW) Read(p []byte) (int, error)  { return os.Stdin.Read(p) }
func (stdioRW) Write(p []byte) (int, error) { return os.Stdout.Write(p) }

// serveListener serves connections one at a time (one run at a time).
func serveListener(ctx context.Context, addr string, a *agent.Agent, log *slog.Logger) error {
	path, ok := strings.CutPrefix(addr, "unix:")
	if !ok {
		return fmt.Errorf("unsupported address %q (want unix:/path)", addr)
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	defer ln.Close()
	log.Info("smn-agent: ready", "listen", addr)
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		err = a.Serve(ctx, c)
		c.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			log.Warn("session ended", "err", err)
		}
	}
}
