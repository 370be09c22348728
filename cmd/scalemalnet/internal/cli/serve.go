package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os/signal"
	"strings"
	"syscall"

	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
)

// runServe runs the orchestrator until SIGINT or SIGTERM.
func runServe(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "serve")
	var o ServeOptions
	var maxMiB int64
	var level slog.Level
	fs.StringVar(&o.DataDir, "data-dir", "", "data directory: database, samples, artifacts, token (default $"+defaults.EnvDataDir+" or "+defaults.DataDir()+")")
	fs.StringVar(&o.Listen, "listen", "", "API address: host:port or unix:/path (default $"+defaults.EnvAddr+" or "+defaults.Listen+")")
	fs.BoolVar(&o.AllowInsecureListen, "allow-insecure-listen", false, "allow a --listen address other machines can reach (plain HTTP: the token travels in clear text; prefer a TLS reverse proxy, docs/operations.md)")
	fs.IntVar(&o.Slots, "slots", 0, "number of VM slots (default: number of CPUs)")
	fs.IntVar(&o.ProcessWorkers, "process-workers", 0, "jobs featurized, classified and reported at once after their VM is gone (default 2)")
	fs.StringVar(&o.ImageDir, "image", "", "guest image directory (default build/image)")
	fs.StringVar(&o.Wine, "wine", "", "Wine warm-up before a slot's clean state is saved: warm (default: Windows samples start at once) or lazy (faster cold boots; Wine's services start inside the first Windows sample's trace)")
	fs.StringVar(&o.ModelDir, "models", "", "directory of trained model files served as classifiers (default build/models, made by `make models`)")
	fs.StringVar(&o.SignatureRules, "signature-rules", "", "directory of behaviour signature rules (*.yaml) replacing the shipped ones (docs/signatures.md); a bad rule file stops serve with its file and line")
	fs.StringVar(&o.LibvirtURI, "libvirt", "", "libvirt connection URI (default qemu:///system)")
	fs.StringVar(&o.Accel, "accel", "auto", "accelerator: auto (kvm if /dev/kvm exists), kvm or qemu (TCG)")
	fs.Int64Var(&maxMiB, "max-sample-mib", 0, "largest accepted sample in MiB (default 64)")
	var maxArtifact, minFree, retainSize string
	fs.DurationVar(&o.RetainMaxAge, "retain-max-age", 0, "delete finished jobs older than this, checked hourly (default: keep)")
	fs.StringVar(&retainSize, "retain-max-size", "", "delete the oldest finished jobs while the store is larger, e.g. 50GiB (default: no limit)")
	fs.StringVar(&minFree, "min-free", "", "refuse submissions below this much free disk, e.g. 1GiB (default 1GiB; \"off\" or 0 disables the check)")
	fs.StringVar(&maxArtifact, "max-artifact-size", "", "largest compressed trace per job, e.g. 256MiB (default 256MiB)")
	fs.StringVar(&o.FusionModel, "fusion-model", "", "fusion model from `scalemalnet train fusion` (default <models>/fusion.json if present; \"none\": no verdict)")
	fs.StringVar(&o.FusionRule, "fusion-rule", "", "stage-1 operating point: fpr (with --fusion-target-fpr), f1, youden or fixed (with --fusion-threshold); default: the model's")
	fs.Float64Var(&o.FusionTargetFPR, "fusion-target-fpr", 0, "with --fusion-rule fpr: the largest validation false-positive rate, e.g. 0.01")
	fs.Float64Var(&o.FusionThreshold, "fusion-threshold", 0, "with --fusion-rule fixed: malware when P(malware) >= this")
	fs.Float64Var(&o.FusionUnfittedWeight, "fusion-unfitted-weight", 0, "count votes of classifiers the fusion model was not fitted on (new plugins) with this prior weight, uncalibrated (default 0: ignored; see docs/fusion.md)")
	fs.StringVar(&o.FusionDecisive, "fusion-decisive", "", "a matched signature of this severity or above makes the verdict malware whatever the models say: critical (default), high, medium or off (docs/signatures.md)")
	fs.TextVar(&level, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	fs.StringVar(&o.ConfigFile, "config", "", "configuration file (TOML, see docs/scalemalnet.example.toml); flags given override it; its [pool] is reloaded when it changes and on SIGHUP")
	check := fs.String("check-config", "", "check this configuration file, print every problem (one per line) and exit: 0 when valid, 1 otherwise; starts nothing")
	if _, code, ok := parse(fs, args, 0); !ok {
		return code
	}
	if *check != "" {
		return checkConfig(e, *check)
	}
	switch o.Accel {
	case "auto", "kvm", "qemu":
	default:
		fmt.Fprintf(e.Stderr, "scalemalnet serve: --accel %q: want auto, kvm or qemu\n", o.Accel)
		return ExitUsage
	}
	if o.Slots < 0 || maxMiB < 0 {
		fmt.Fprintln(e.Stderr, "scalemalnet serve: --slots and --max-sample-mib must not be negative")
		return ExitUsage
	}
	o.MaxSample = maxMiB << 20
	for _, f := range []struct {
		name, val string
		dst       *int64
	}{{"retain-max-size", retainSize, &o.RetainMaxBytes}, {"min-free", minFree, &o.MinFreeBytes}, {"max-artifact-size", maxArtifact, &o.MaxArtifactBytes}} {
		switch {
		case f.val == "":
		case f.name == "min-free" && (f.val == "off" || f.val == "0"):
			*f.dst = -1
		default:
			n, err := parseSize(f.val)
			if err != nil || n == 0 && f.name == "max-artifact-size" {
				fmt.Fprintf(e.Stderr, "scalemalnet serve: --%s %q: want a positive size such as 50GiB\n", f.name, f.val)
				return ExitUsage
			}
			*f.dst = n
		}
	}
	switch o.FusionRule {
	case "", "fpr", "f1", "youden", "fixed":
	default:
		fmt.Fprintf(e.Stderr, "scalemalnet serve: --fusion-rule %q: want fpr, f1, youden or fixed\n", o.FusionRule)
		return ExitUsage
	}
	if o.FusionTargetFPR < 0 || o.FusionTargetFPR > 1 || o.FusionThreshold < 0 || o.FusionThreshold > 1 || o.FusionUnfittedWeight < 0 || o.FusionUnfittedWeight > 10 {
		fmt.Fprintln(e.Stderr, "scalemalnet serve: --fusion-target-fpr and --fusion-threshold must be in [0,1]")
		return ExitUsage
	}
	if o.RetainMaxAge < 0 {
		fmt.Fprintln(e.Stderr, "scalemalnet serve: --retain-max-age must not be negative")
		return ExitUsage
	}
	if o.ConfigFile == "" {
		o.DataDir = firstNonEmpty(o.DataDir, e.Getenv(defaults.EnvDataDir), defaults.DataDir())
		o.Listen = firstNonEmpty(o.Listen, e.Getenv(defaults.EnvAddr), defaults.Listen)
	} else {
		// Only what was given overrides the file (flag, then environment);
		// the daemon's defaults apply to what neither sets.
		o.DataDir = firstNonEmpty(o.DataDir, e.Getenv(defaults.EnvDataDir))
		o.Listen = firstNonEmpty(o.Listen, e.Getenv(defaults.EnvAddr))
		accelSet := false
		fs.Visit(func(f *flag.Flag) { accelSet = accelSet || f.Name == "accel" })
		if !accelSet {
			o.Accel = ""
		}
	}
	o.Logger = slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: level}))
	if e.Serve == nil {
		return fail(e, fmt.Errorf("serve: not available in this build"))
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := e.Serve(ctx, o); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") { // a configuration's problems: one log line each
			o.Logger.Error("orchestrator failed", "err", line)
		}
		return ExitFailure
	}
	return ExitOK
}

// checkConfig is serve --check-config FILE.
func checkConfig(e *Env, path string) int {
	if e.CheckConfig == nil {
		return fail(e, fmt.Errorf("serve --check-config: not available in this build"))
	}
	err := e.CheckConfig(path)
	if err == nil {
		fmt.Fprintf(e.Stdout, "%s: ok\n", path)
		return ExitOK
	}
	lines := strings.Split(err.Error(), "\n")
	for _, line := range lines {
		fmt.Fprintln(e.Stderr, line)
	}
	fmt.Fprintf(e.Stderr, "%s: %d problems\n", path, len(lines))
	return ExitFailure
}
