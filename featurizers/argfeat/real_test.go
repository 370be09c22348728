package argfeat_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// TestRealTraceSeeds checks the features of real VM traces without a VM:
// the traces TestRealTraces recorded (guest of this repository, Debian 12
// root filesystem) are committed as seeds of FuzzExtract
// (testdata/fuzz/FuzzExtract/real-*).
func TestRealTraceSeeds(t *testing.T) {
	traces := map[string]*trace.Trace{}
	for _, s := range []string{"test-adduser", "test-revshell", "test-miner", "benign-reader"} {
		b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzExtract", "real-"+s))
		if err != nil {
			t.Fatal(err)
		}
		// "go test fuzz v1\n[]byte(\"...\")\n"
		_, lit, ok := strings.Cut(string(b), "\n")
		lit = strings.TrimSpace(lit)
		if !ok || !strings.HasPrefix(lit, "[]byte(") || !strings.HasSuffix(lit, ")") {
			t.Fatalf("%s: not a fuzz corpus file", s)
		}
		raw, err := strconv.Unquote(lit[len("[]byte(") : len(lit)-1])
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if traces[s], err = trace.ReadJSONL(strings.NewReader(raw)); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	checkReal(t, traces)
}
