package analysis

import (
	"errors"
	"strings"
	"testing"
)

func TestLimitWriter(t *testing.T) {
	var sb strings.Builder
	w := &limitWriter{w: &sb, max: 10}
	if n, err := w.Write([]byte("12345678")); n != 8 || err != nil {
		t.Fatal(n, err)
	}
	if n, err := w.Write([]byte("abc")); n != 0 || !errors.Is(err, ErrArtifactTooLarge) || !strings.Contains(err.Error(), "MaxArtifactBytes") {
		t.Fatal(n, err)
	}
	if sb.String() != "12345678" {
		t.Fatalf("%q", sb.String())
	}
}
