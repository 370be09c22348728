package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSignaturesCommands(t *testing.T) {
	code, out, _ := runCLI("signatures", "list", "--markdown")
	if code != ExitOK || !strings.Contains(out, "| `socket-shell` | 5 critical | T1059.004, T1071 |") {
		t.Fatalf("list: %d\n%s", code, out)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("rules:\n  - id: x1\n    description: d\n    severity: 3\n    techniques: [T1082]\n    match:\n      any:\n        - argv: '(['\n"), 0o600)
	code, _, errOut := runCLI("signatures", "check", dir)
	if code != ExitFailure || !strings.Contains(errOut, "bad.yaml:8: argv: error parsing regexp") {
		t.Fatalf("check bad: %d %s", code, errOut)
	}
	corpus := t.TempDir()
	os.MkdirAll(filepath.Join(corpus, "traces"), 0o700)
	os.WriteFile(filepath.Join(corpus, "traces", "a.json"), []byte(`{"windows":[{"index":0,"start":0,"end":10,"events":[{"t":1,"pid":3,"name":"openat","path":"/etc/shadow","flags":"O_RDONLY","ret":3}]}],"summary":{"outcome":"exited"}}`), 0o600)
	os.WriteFile(filepath.Join(corpus, "corpus.jsonl"), []byte(`{"id":"a","label":"malware","group":"T1003.008","techniques":["T1003.008"],"status":"done","trace":"traces/a.json"}`+"\n"), 0o600)
	code, out, errOut = runCLI("signatures", "eval", "--corpus", corpus)
	if code != ExitOK || !strings.Contains(out, "| T1003.008 | 1 | 1 (100%) | 1 | 1 |") {
		t.Fatalf("eval: %d\n%s%s", code, out, errOut)
	}
	if code, _, _ := runCLI("signatures", "eval"); code != ExitUsage {
		t.Fatalf("eval without corpus: %d", code)
	}
}
