package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A configured signature rules directory is loaded at start: a bad rule
// file stops the start with its file and line; a good one becomes the
// signatures featurizer's configuration.
func TestSignatureRulesAtStart(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	if raw, err := signatureConfig(Config{Logger: log}); err != nil || raw != nil {
		t.Fatalf("shipped rules: %s %v", raw, err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mine.yaml"), []byte("rules:\n  - id: x1\n    description: d\n    severity: low\n    techniques: [T1082]\n    match:\n      any:\n        - exe: [uname]\n"), 0o600)
	raw, err := signatureConfig(Config{Logger: log, SignatureRules: dir})
	if err != nil || !strings.Contains(string(raw), `"rules_dir":"`+dir+`"`) {
		t.Fatalf("good rules: %s %v", raw, err)
	}
	os.WriteFile(filepath.Join(dir, "typo.yaml"), []byte("rules:\n  - id: x2\n    description: d\n    severity: low\n    techniques: [T1082]\n    match:\n      any:\n        - calls: [unamee]\n"), 0o600)
	_, err = signatureConfig(Config{Logger: log, SignatureRules: dir})
	if err == nil || !strings.Contains(err.Error(), `typo.yaml:8: unknown system call "unamee"`) {
		t.Fatalf("bad rules: %v", err)
	}
	// Run refuses to start, before it needs an image or libvirt.
	_, err = New(context.Background(), Config{Logger: log, DataDir: t.TempDir(), SignatureRules: dir, ImageDir: "/nonexistent"})
	if err == nil || !strings.Contains(err.Error(), "typo.yaml:8") {
		t.Fatalf("start with bad rules: %v", err)
	}
}
