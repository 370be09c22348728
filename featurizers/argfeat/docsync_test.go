package argfeat

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated schema in docs/features.md")

const (
	docBegin = "<!-- BEGIN trace-args schema: generated from featurizers/argfeat (argfeat.Doc); TestDocSync checks it -->\n"
	docEnd   = "<!-- END trace-args schema -->"
)

// TestDocSync checks that docs/features.md lists the schema as the code
// defines it; with -update it rewrites the generated part:
//
//	go test ./featurizers/argfeat -run DocSync -update
func TestDocSync(t *testing.T) {
	p := filepath.Join("..", "..", "docs", "features.md")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, docBegin), strings.Index(s, docEnd)
	if i < 0 || j < i {
		t.Fatalf("%s: markers of the generated schema not found", p)
	}
	got, want := s[i+len(docBegin):j], Doc()
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(p, []byte(s[:i+len(docBegin)]+want+s[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is not the schema the code defines: run `go test ./featurizers/argfeat -run DocSync -update`", p)
}
