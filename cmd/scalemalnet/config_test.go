package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/cmd/scalemalnet/internal/cli"
	"github.com/scalemalnet/scalemalnet/orchestrator/config"
	"github.com/scalemalnet/scalemalnet/orchestrator/daemon"
)

func TestServeConfigFlagsOverrideFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "smn.toml")
	src := `data_dir = "/from/file"
listen = "127.0.0.1:9999"
accel = "qemu"
[storage]
min_free = "2GiB"
[pool]
quarantine_after = 4
[[pool.slot]]
name = "a"
[fusion]
rule = "f1"
`
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := serveConfig(cli.ServeOptions{ConfigFile: file})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/from/file" || cfg.Listen != "127.0.0.1:9999" || cfg.Accel != "qemu" || cfg.MinFreeBytes != 2<<30 ||
		cfg.QuarantineAfter != 4 || len(cfg.Pool) != 1 || cfg.Fusion.Rule != "f1" {
		t.Fatalf("file values: %+v", cfg)
	}
	cfg, err = serveConfig(cli.ServeOptions{ConfigFile: file, DataDir: "/from/flag", Accel: "kvm", MinFreeBytes: -1,
		RetainMaxAge: time.Hour, Slots: 3, FusionRule: "youden"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/from/flag" || cfg.Listen != "127.0.0.1:9999" || cfg.Accel != "kvm" || cfg.MinFreeBytes != -1 ||
		cfg.Retention.MaxAge != time.Hour || cfg.Slots != 3 || cfg.Pool != nil || cfg.PoolOrigin != daemon.OriginFlags || cfg.Fusion.Rule != "youden" {
		t.Fatalf("flags over file: %+v", cfg)
	}
	if err := os.WriteFile(file, []byte("[pool]\nquarantine_after = -1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := serveConfig(cli.ServeOptions{ConfigFile: file}); !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("bad file: %v", err)
	}
	// No file: the flags alone.
	if cfg, err := serveConfig(cli.ServeOptions{Slots: 2, DataDir: "/d"}); err != nil || cfg.Slots != 2 || cfg.DataDir != "/d" || cfg.ProcessWorkers != 0 {
		t.Fatalf("flags only: %+v %v", cfg, err)
	}
	if cfg, err := serveConfig(cli.ServeOptions{ProcessWorkers: 3}); err != nil || cfg.ProcessWorkers != 3 {
		t.Fatalf("--process-workers: %d %v", cfg.ProcessWorkers, err)
	}
}
