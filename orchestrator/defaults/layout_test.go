package defaults

import (
	"path/filepath"
	"testing"
)

// The layout's paths are the ones the data directory has always had, so
// existing data directories keep working.
func TestLayoutNames(t *testing.T) {
	l := Layout{Root: "/d"}
	sha := "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
	for got, want := range map[string]string{
		l.DB():                          "/d/scalemalnet.db",
		l.Token():                       "/d/token",
		l.PoolFile():                    "/d/pool.json",
		l.Sample(sha):                   "/d/samples/ab/cd/" + sha,
		l.Artifact("j1", TraceArtifact): "/d/artifacts/j1/trace.jsonl.gz",
		l.Tmp():                         "/d/tmp",
		l.Plugins():                     "/d/plugins",
		l.SlotDir("slot0"):              "/d/vms/slot0",
		l.Console("slot0"):              "/d/vms/slot0/console.log",
	} {
		if got != filepath.FromSlash(want) {
			t.Errorf("%s, want %s", got, want)
		}
	}
}
