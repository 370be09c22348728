// Package defaults holds the settings the orchestrator daemon and the CLI
// must agree on: where the data directory is, which address the API listens
// on, and the environment variables that override them.
package defaults

import (
	"os"
	"path/filepath"
)

// Listen is the API's default address (TCP on loopback only).
const Listen = "127.0.0.1:7433"

// TokenFile is the name of the API bearer token file in the data directory.
const TokenFile = "token"

// Environment variables read by the CLI.
const (
	EnvAddr    = "SCALEMALNET_ADDR"     // API address, e.g. "127.0.0.1:7433" or "unix:/run/scalemalnet.sock"
	EnvToken   = "SCALEMALNET_TOKEN"    // API bearer token
	EnvDataDir = "SCALEMALNET_DATA_DIR" // data directory (token file, database, samples)
)

// DataDir is the default data directory: /var/lib/scalemalnet for root,
// otherwise $XDG_DATA_HOME/scalemalnet or ~/.local/share/scalemalnet.
func DataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/scalemalnet"
	}
	if x := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "scalemalnet")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "share", "scalemalnet")
	}
	return filepath.Join(os.TempDir(), "scalemalnet-"+os.Getenv("USER"))
}
