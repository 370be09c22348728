package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/client"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

// runSubmit uploads a sample and, with --wait, follows the job to its end.
func runSubmit(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "submit")
	var cn conn
	cn.register(fs)
	var opts jobs.Options
	var argList, tagList stringList
	var wait, asJSON bool
	var name string
	fs.DurationVar(&opts.Timeout, "timeout", 0, fmt.Sprintf("run time before the sample's process tree is killed (default %s)", jobs.DefaultTimeout))
	fs.DurationVar(&opts.Window, "window", 0, fmt.Sprintf("length of one trace window (default %s)", jobs.DefaultWindow))
	fs.Var(&argList, "arg", "argument passed to the sample (repeat for several, in order)")
	fs.StringVar(&opts.Network, "network", "", "guest network: none (default: no network device), isolated (the fake internet: DNS, HTTP and TLS names logged, pcap kept; needs a slot with network isolated) or user (NAT to anything the host reaches; only if the orchestrator allows it)")
	fs.Var(&tagList, "tag", "run only on a slot with this tag (repeat for several: the slot must have all; see pool ls)")
	fs.StringVar(&opts.Export, "export", "", "for a DLL sample: the export rundll32 calls (default #1, the first ordinal)")
	fs.StringVar(&name, "name", "", "display name of the sample (default the file's base name)")
	fs.BoolVar(&wait, "wait", false, "follow the job until it ends, then print its report")
	fs.BoolVar(&asJSON, "json", false, "print JSON (the job, or the report with --wait)")
	pos, code, ok := parse(fs, args, 1)
	if !ok {
		return code
	}
	opts.Args = argList
	opts.Tags = tagList
	c, err := cn.client(e)
	if err != nil {
		return fail(e, err)
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return fail(e, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return fail(e, err)
	} else if !st.Mode().IsRegular() {
		return fail(e, fmt.Errorf("%s: not a regular file", pos[0]))
	}
	if name == "" {
		name = filepath.Base(pos[0])
	}
	j, err := c.Submit(ctx, name, f, opts)
	if err != nil {
		return fail(e, fmt.Errorf("submit %s: %w", pos[0], err))
	}
	if !wait {
		if asJSON {
			return printJSON(e, j)
		}
		fmt.Fprintln(e.Stdout, j.ID)
		return ExitOK
	}
	fmt.Fprintf(e.Stderr, "submitted %s as job %s (%s, sha256 %s)\n", safe(j.Sample.Name), safe(j.ID), safe(j.Sample.Type), short(safe(j.Sample.SHA256), 16))
	return follow(ctx, e, c, j.ID, asJSON)
}

// follow waits for a job, printing each state and step change to stderr,
// then prints the report (or the failure).
func follow(ctx context.Context, e *Env, c *client.Client, id string, asJSON bool) int {
	p := progress{w: e.Stderr}
	j, err := c.Watch(ctx, id, e.PollInterval, p.update)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(e.Stderr, "\ninterrupted; the job goes on: scalemalnet status %s\n", id)
			return ExitInterrupted
		}
		return fail(e, err)
	}
	if j.State == jobs.Failed {
		fmt.Fprintf(e.Stderr, "job %s failed: %s\n", safe(id), safe(j.Error))
		if asJSON {
			printJSON(e, j)
		}
		return ExitFailure
	}
	r, err := c.Report(ctx, id)
	if err != nil {
		return fail(e, err)
	}
	if asJSON {
		return printJSON(e, r)
	}
	if err := report.Render(e.Stdout, r); err != nil {
		return fail(e, err)
	}
	return ExitOK
}

// progress prints transitions from a job's history (so changes between two
// polls are not lost) and step changes, with the time since creation.
type progress struct {
	w       io.Writer
	history int
	step    string
}

func (p *progress) update(j jobs.Job) {
	j = safeJob(j)
	for _, t := range j.History[min(p.history, len(j.History)):] {
		line := fmt.Sprintf("  %8s  %-10s", elapsed(t.At.Sub(j.Created)), t.State)
		if t.State == jobs.Restoring && j.Slot != "" && t.Note == "" {
			line += "  on " + j.Slot
		}
		if t.Note != "" {
			line += "  " + t.Note
		}
		fmt.Fprintln(p.w, strings.TrimRight(line, " "))
	}
	p.history = len(j.History)
	if j.Step != "" && j.Step != p.step && !j.State.Final() {
		fmt.Fprintf(p.w, "  %8s  %-10s  step %s\n", elapsed(j.Updated.Sub(j.Created)), j.State, j.Step)
	}
	p.step = j.Step
}

func elapsed(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return fmt.Sprintf("+%.1fs", d.Seconds())
}

func printJSON(e *Env, v any) int {
	enc := json.NewEncoder(e.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fail(e, err)
	}
	return ExitOK
}

func short(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
