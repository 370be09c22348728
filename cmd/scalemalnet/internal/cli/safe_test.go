package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// Finding 4 (issue 13): status and submit --wait printed a job's error and
// history notes raw, escape sequences included. What the CLI prints from
// the API carries no control or bidi characters and is bounded.
func TestPrintedJobIsSafe(t *testing.T) {
	evil := "\x1b]0;pwned\x07\x1b[2J tracer \u202egnp.exe\u2066" + strings.Repeat("x\r\n", 10_000)
	now := time.Now()
	j := jobs.Job{ID: "j1", State: jobs.Failed, Error: evil, Created: now, Updated: now,
		Sample:  jobs.Sample{Name: "a\x1b[31m.bin"},
		History: []jobs.Transition{{State: jobs.Failed, At: now, Note: evil}}}
	var out bytes.Buffer
	printJob(&out, j)
	p := progress{w: &out}
	p.update(j)
	printJobs(&out, []jobs.Job{j}, now)
	s := out.String()
	if strings.ContainsAny(s, "\x1b\x07\r\u202e\u2066") {
		t.Errorf("control characters printed: %q", s[:200])
	}
	if len(s) > 4*maxPrinted+2000 {
		t.Errorf("%d bytes printed", len(s))
	}
	if !strings.Contains(s, "tracer gnp.exe") {
		t.Errorf("error text lost: %q", s[:200])
	}
}
