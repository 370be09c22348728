package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/cmd/scalemalnet/internal/cli"
)

// TestServeCheckConfig: serve --check-config prints every problem of the
// file, one per line, and exits 1; a valid file exits 0; nothing starts.
func TestServeCheckConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("listen = 1\n[pool]\nquarantine_after = \"x\"\nslotz = 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.toml")
	if err := os.WriteFile(good, []byte("[pool]\nslots = 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		served := false
		code := cli.Run(context.Background(), args, cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" },
			CheckConfig: checkConfig, Serve: func(context.Context, cli.ServeOptions) error { served = true; return nil }})
		if served {
			t.Fatal("--check-config started the orchestrator")
		}
		return code, out.String(), errb.String()
	}
	code, _, errOut := run("serve", "--check-config", bad)
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if code != cli.ExitFailure || len(lines) != 4 {
		t.Fatalf("bad file: exit %d, %d lines:\n%s", code, len(lines), errOut)
	}
	for i, want := range []string{"line 1: listen:", "line 3: pool.quarantine_after:", "line 4: pool.slotz: unknown key; did you mean slots?", "3 problems"} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d %q lacks %q", i, lines[i], want)
		}
	}
	if code, out, errOut := run("serve", "--check-config", good); code != cli.ExitOK || !strings.Contains(out, "good.toml: ok") || errOut != "" {
		t.Fatalf("good file: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := run("serve", "--check-config", filepath.Join(dir, "missing.toml")); code != cli.ExitFailure || !strings.Contains(errOut, "missing.toml") {
		t.Fatalf("missing file: %d %q", code, errOut)
	}
}
