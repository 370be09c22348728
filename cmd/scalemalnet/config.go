package main

import (
	"fmt"

	"github.com/scalemalnet/scalemalnet/cmd/scalemalnet/internal/cli"
	"github.com/scalemalnet/scalemalnet/orchestrator/config"
	"github.com/scalemalnet/scalemalnet/orchestrator/daemon"
	"github.com/scalemalnet/scalemalnet/orchestrator/verdict"
)

// serveConfig is the daemon configuration of the serve command: the
// configuration file (--config) if any, with every flag that was given on
// top ("" and 0 mean "not given"). --slots N replaces the file's pool with
// N default slots. It is also the daemon's Reload function: the file is
// read again, the same flags applied again.
func serveConfig(o cli.ServeOptions) (daemon.Config, error) {
	var cfg daemon.Config
	if o.ConfigFile != "" {
		c, err := config.Load(o.ConfigFile)
		if err != nil {
			return daemon.Config{}, err
		}
		cfg = c
	}
	str := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	num := func(dst *int64, v int64) {
		if v != 0 {
			*dst = v
		}
	}
	str(&cfg.DataDir, o.DataDir)
	str(&cfg.Listen, o.Listen)
	if o.AllowInsecureListen {
		cfg.AllowInsecureListen = true
	}
	str(&cfg.ImageDir, o.ImageDir)
	str(&cfg.Wine, o.Wine)
	str(&cfg.LibvirtURI, o.LibvirtURI)
	str(&cfg.Accel, o.Accel)
	str(&cfg.ModelDir, o.ModelDir)
	str(&cfg.SignatureRules, o.SignatureRules)
	if o.ProcessWorkers > 0 {
		cfg.ProcessWorkers = o.ProcessWorkers
	}
	if o.Slots > 0 {
		cfg.Slots, cfg.Pool, cfg.PoolOrigin = o.Slots, nil, daemon.OriginFlags
	}
	num(&cfg.MaxSample, o.MaxSample)
	num(&cfg.MaxArtifactBytes, o.MaxArtifactBytes)
	num(&cfg.MinFreeBytes, o.MinFreeBytes)
	num(&cfg.Retention.MaxBytes, o.RetainMaxBytes)
	if o.RetainMaxAge != 0 {
		cfg.Retention.MaxAge = o.RetainMaxAge
	}
	str(&cfg.Fusion.Model, o.FusionModel)
	str(&cfg.Fusion.Rule, o.FusionRule)
	if o.FusionTargetFPR != 0 {
		cfg.Fusion.TargetFPR = o.FusionTargetFPR
	}
	if o.FusionThreshold != 0 {
		cfg.Fusion.Threshold = o.FusionThreshold
	}
	if o.FusionUnfittedWeight != 0 {
		cfg.Fusion.UnfittedWeight = o.FusionUnfittedWeight
	}
	if o.FusionDecisive != "" {
		if _, ok := verdict.ParseDecisive(o.FusionDecisive); !ok {
			return cfg, fmt.Errorf("--fusion-decisive %q: want critical, high, medium or off", o.FusionDecisive)
		}
		cfg.Fusion.Decisive = o.FusionDecisive
	}
	cfg.Logger = o.Logger
	return cfg, nil
}

// checkConfig is serve --check-config: every problem of the file.
func checkConfig(path string) error {
	_, err := config.Load(path)
	return err
}
