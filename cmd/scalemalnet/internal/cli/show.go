package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/client"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

const timeLayout = "2006-01-02 15:04:05"

// runStatus prints one job.
func runStatus(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "status")
	var cn conn
	cn.register(fs)
	asJSON := fs.Bool("json", false, "print the job as JSON")
	c, pos, code, ok := connect(e, fs, &cn, args, 1)
	if !ok {
		return code
	}
	j, err := c.Job(ctx, pos[0])
	if err != nil {
		return fail(e, err)
	}
	if *asJSON {
		return printJSON(e, j)
	}
	printJob(e.Stdout, j)
	return ExitOK
}

func printJob(w io.Writer, j jobs.Job) {
	j = safeJob(j)
	state := string(j.State)
	if j.Step != "" {
		state += " (step " + j.Step + ")"
	}
	if j.Slot != "" && !j.State.Final() {
		state += " on " + j.Slot
	}
	fmt.Fprintf(w, "Job       %s\n", j.ID)
	fmt.Fprintf(w, "State     %s\n", state)
	if j.State == jobs.Queued && j.Waiting != "" {
		fmt.Fprintf(w, "Waiting   queued: %s\n", j.Waiting)
	}
	if j.Error != "" {
		fmt.Fprintf(w, "Error     %s\n", j.Error)
	}
	fmt.Fprintf(w, "Sample    %s, %d bytes, %s\n", j.Sample.Name, j.Sample.Size, j.Sample.Type)
	fmt.Fprintf(w, "  sha256  %s\n", j.Sample.SHA256)
	fmt.Fprintf(w, "Options   timeout %s, window %s", j.Options.Timeout, j.Options.Window)
	if len(j.Options.Args) > 0 {
		fmt.Fprintf(w, ", args %q", j.Options.Args)
	}
	if j.Options.Network != jobs.NetworkNone {
		fmt.Fprintf(w, ", network %s", j.Options.Network)
	}
	if len(j.Options.Tags) > 0 {
		fmt.Fprintf(w, ", tags %s", strings.Join(j.Options.Tags, ","))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Created   %s\n", j.Created.Local().Format(timeLayout))
	fmt.Fprintf(w, "Updated   %s (%s after creation)\n", j.Updated.Local().Format(timeLayout), j.Updated.Sub(j.Created).Round(time.Millisecond))
	fmt.Fprintf(w, "Attempts  %d, report: %v\n", j.Attempts, j.HasReport)
	if len(j.History) > 0 {
		fmt.Fprintln(w, "History")
		p := progress{w: w}
		p.update(jobs.Job{History: j.History, Created: j.Created, State: j.State})
	}
}

// runReport prints a finished job's report.
func runReport(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "report")
	var cn conn
	cn.register(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	c, pos, code, ok := connect(e, fs, &cn, args, 1)
	if !ok {
		return code
	}
	r, err := c.Report(ctx, pos[0])
	if err != nil {
		if errors.Is(err, client.ErrNotReady) {
			return fail(e, fmt.Errorf("report of %s not ready yet: %w", pos[0], err))
		}
		return fail(e, err)
	}
	if *asJSON {
		return printJSON(e, r)
	}
	if err := report.Render(e.Stdout, r); err != nil {
		return fail(e, err)
	}
	return ExitOK
}

// runTrace downloads a job's trace artifact.
func runTrace(ctx context.Context, e *Env, args []string) int {
	return download(ctx, e, args, "trace", ".jsonl.gz", "gzip-compressed JSON lines", (*client.Client).Trace)
}

// runPcap downloads a job's packet capture (network isolated).
func runPcap(ctx context.Context, e *Env, args []string) int {
	return download(ctx, e, args, "pcap", ".pcap", "libpcap", (*client.Client).Pcap)
}

// download saves an artifact of a job to a file (ID+ext by default).
func download(ctx context.Context, e *Env, args []string, cmd, ext, what string, open func(*client.Client, context.Context, string) (io.ReadCloser, error)) int {
	fs := newFlags(e, cmd)
	var cn conn
	cn.register(fs)
	out := fs.String("o", "", `output file (default ID`+ext+`; "-" for standard output)`)
	c, pos, code, ok := connect(e, fs, &cn, args, 1)
	if !ok {
		return code
	}
	rc, err := open(c, ctx, pos[0])
	if err != nil {
		return fail(e, err)
	}
	defer rc.Close()
	if *out == "-" {
		if _, err := io.Copy(e.Stdout, rc); err != nil {
			return fail(e, err)
		}
		return ExitOK
	}
	path := *out
	if path == "" {
		path = safeName(pos[0]) + ext
	}
	n, err := writeFileAtomic(path, rc)
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.Stderr, "wrote %s (%d bytes, %s)\n", path, n, what)
	return ExitOK
}

// writeFileAtomic writes r to a temporary file beside path and renames it,
// so an interrupted download never leaves a partial file under path.
func writeFileAtomic(path string, r io.Reader) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part-*")
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	return n, nil
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// runJobs prints a table of jobs.
func runJobs(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "jobs")
	var cn conn
	cn.register(fs)
	var q api.ListQuery
	state := fs.String("state", "", "only jobs in this state: queued, restoring, running, collecting, processing, done or failed")
	fs.IntVar(&q.Limit, "limit", 20, fmt.Sprintf("at most this many jobs (1..%d)", api.MaxListLimit))
	fs.StringVar(&q.Before, "before", "", "only jobs older than this job id (paging)")
	fs.StringVar(&q.Cursor, "cursor", "", "the next page: the cursor the previous page printed")
	fs.StringVar(&q.SHA256, "sha256", "", "only samples with this SHA-256")
	fs.StringVar(&q.SHA1, "sha1", "", "only samples with this SHA-1")
	fs.StringVar(&q.MD5, "md5", "", "only samples with this MD5")
	fs.StringVar(&q.Name, "name", "", "only samples whose name contains this (any case)")
	fs.StringVar(&q.Verdict, "verdict", "", "only this verdict: malware, benign or unknown")
	fs.StringVar(&q.Family, "family", "", "only this malware family (any case)")
	fs.StringVar(&q.Signature, "signature", "", "only jobs whose report matched this signature")
	since := fs.String("since", "", "only jobs created at or after this time (RFC 3339 or YYYY-MM-DD, UTC)")
	until := fs.String("until", "", "only jobs created before this time (RFC 3339 or YYYY-MM-DD, UTC)")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, code, ok := parse(fs, args, 0); !ok {
		return code
	}
	for _, tv := range []struct {
		flag string
		s    string
		t    *time.Time
	}{{"since", *since, &q.Since}, {"until", *until, &q.Until}} {
		if tv.s == "" {
			continue
		}
		t, err := parseWhen(tv.s)
		if err != nil {
			fmt.Fprintf(e.Stderr, "scalemalnet jobs: --%s %q: want RFC 3339 (2026-11-24T01:40:00Z) or YYYY-MM-DD\n", tv.flag, tv.s)
			return ExitUsage
		}
		*tv.t = t
	}
	q.State = jobs.State(*state)
	if q.State != "" && !q.State.Valid() {
		fmt.Fprintf(e.Stderr, "scalemalnet jobs: unknown state %q\n", *state)
		return ExitUsage
	}
	c, err := cn.client(e)
	if err != nil {
		return fail(e, err)
	}
	page, err := c.SearchJobs(ctx, q)
	if err != nil {
		return fail(e, err)
	}
	if page.NextCursor != "" {
		fmt.Fprintf(e.Stderr, "more: --cursor %s\n", page.NextCursor)
	}
	if *asJSON {
		return printJSON(e, page.Jobs)
	}
	printJobs(e.Stdout, page.Jobs, time.Now())
	return ExitOK
}

// parseWhen reads an RFC 3339 time or a UTC date.
func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", s)
}

func printJobs(w io.Writer, js []jobs.Job, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tNAME\tSHA256\tCREATED\tDURATION\tVERDICT")
	for _, j := range js {
		j = safeJob(j)
		end := now
		if j.State.Final() {
			end = j.Updated
		}
		name := j.Sample.Name
		if len([]rune(name)) > 32 {
			name = string([]rune(name)[:31]) + "…"
		}
		name = strings.Map(func(r rune) rune {
			if r == '\t' {
				return ' '
			}
			return r
		}, name)
		verdict := "-"
		if j.Verdict != nil {
			verdict = strings.Map(func(r rune) rune {
				if unicode.IsControl(r) {
					return '?'
				}
				return r
			}, j.Verdict.String())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, j.State, name, short(j.Sample.SHA256, 12),
			j.Created.Local().Format(timeLayout), end.Sub(j.Created).Round(100*time.Millisecond), verdict)
	}
	tw.Flush()
}

// runHealth prints the orchestrator's health.
func runHealth(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "health")
	var cn conn
	cn.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	c, _, code, ok := connect(e, fs, &cn, args, 0)
	if !ok {
		return code
	}
	h, err := c.Health(ctx)
	if err != nil {
		return fail(e, err)
	}
	rc := ExitOK
	if *asJSON {
		rc = printJSON(e, h)
	} else {
		printHealth(e.Stdout, h)
	}
	if rc == ExitOK && h.Status != "ok" {
		rc = ExitFailure // degraded: scripts and probes see it in the exit status
	}
	return rc
}

// printHealth prints the health and, when degraded, why.
func printHealth(w io.Writer, h api.Health) {
	fmt.Fprintf(w, "Status      %s (version %s)\nHypervisor  %s\nSlots       %d idle of %d\nQueued      %d\n",
		clean(h.Status), clean(h.Version), clean(h.Hypervisor), h.SlotsIdle, h.SlotsTotal, h.Queued)
	if len(h.Problems) > 0 {
		for _, p := range h.Problems {
			fmt.Fprintf(w, "  degraded: %s: %s\n", clean(p.Kind), oneLine(p.Message, 200))
		}
		return
	}
	// An older orchestrator: its reasons and plugin problems.
	reasons := h.Reasons
	if len(reasons) == 0 && h.ReloadError != "" { // an older orchestrator without reasons
		reasons = []string{"configuration reload failed: " + h.ReloadError}
	}
	if len(reasons) == 0 && h.Status != "ok" && h.SlotsQuarantined > 0 {
		reasons = []string{fmt.Sprintf("%d slots quarantined or broken (see pool health)", h.SlotsQuarantined)}
	}
	for _, r := range reasons {
		fmt.Fprintf(w, "  degraded: %s\n", clean(r))
	}
	for _, p := range h.PluginProblems {
		fmt.Fprintf(w, "  degraded: plugin %s\n", oneLine(p, 160))
	}
}
