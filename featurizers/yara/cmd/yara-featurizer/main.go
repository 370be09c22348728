// Command yara-featurizer is the YARA featurizer plugin: it matches YARA
// rules (featurizers/yara; Debian's libyara) against each sample and
// returns the matches as a matches set. It is a separate binary, started by
// the orchestrator like any registered plugin, so that a crash of libyara
// costs one vote. Build it with `make build` (build/plugins/yara-featurizer)
// and register it: `scalemalnet plugins register build/plugins/yara-featurizer
// [--config '{"rules_dir": "/path/to/rules"}']` (docs/signatures.md).
package main

import (
	"io/fs"
	"os"

	"github.com/scalemalnet/scalemalnet/featurizers/yara"
	"github.com/scalemalnet/scalemalnet/plugins/sdk"
)

func main() {
	sdk.ServeFeaturizer(yara.New(func(dir string) fs.FS { return os.DirFS(dir) }))
}
