package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
)

// runGC asks the running orchestrator to apply a retention policy now.
func runGC(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "gc")
	var cn conn
	cn.register(fs)
	var p api.Policy
	var size string
	var asJSON bool
	fs.DurationVar(&p.MaxAge, "max-age", 0, "delete finished jobs older than this, e.g. 720h (default: the server's retention)")
	fs.StringVar(&size, "max-size", "", "delete the oldest finished jobs while the store is larger, e.g. 50GiB (default: the server's retention)")
	fs.BoolVar(&p.Compact, "compact", false, "compact the database file afterwards")
	fs.BoolVar(&p.DryRun, "dry-run", false, "list what would be deleted; delete nothing")
	fs.BoolVar(&asJSON, "json", false, "print the GC report as JSON")
	if _, code, ok := parse(fs, args, 0); !ok {
		return code
	}
	if size != "" {
		n, err := parseSize(size)
		if err != nil {
			fmt.Fprintf(e.Stderr, "scalemalnet gc: --max-size: %v\n", err)
			return ExitUsage
		}
		p.MaxBytes = n
	}
	if p.MaxAge < 0 {
		fmt.Fprintln(e.Stderr, "scalemalnet gc: --max-age must not be negative")
		return ExitUsage
	}
	c, err := cn.client(e)
	if err != nil {
		return fail(e, err)
	}
	rep, err := c.GC(ctx, p)
	if err != nil {
		return fail(e, fmt.Errorf("gc: %w", err))
	}
	if asJSON {
		return printJSON(e, rep)
	}
	if rep.DryRun {
		fmt.Fprintf(e.Stdout, "dry run: nothing deleted\nwould delete %d jobs (%d past max age, %d for size), %d samples; would free %s\n",
			rep.JobsExpired+rep.JobsEvicted, rep.JobsExpired, rep.JobsEvicted, rep.SamplesDeleted, formatSize(rep.BytesFreed))
		for _, id := range rep.JobsDeleted {
			fmt.Fprintf(e.Stdout, "  %s\n", clean(id))
		}
		return ExitOK
	}
	fmt.Fprintf(e.Stdout, "deleted %d jobs (%d past max age, %d for size), %d samples, %d orphaned files\n",
		rep.JobsExpired+rep.JobsEvicted, rep.JobsExpired, rep.JobsEvicted, rep.SamplesDeleted, rep.OrphansRemoved)
	fmt.Fprintf(e.Stdout, "freed %s; store %s -> %s\n", formatSize(rep.BytesFreed), formatSize(rep.BytesBefore), formatSize(rep.BytesAfter))
	if rep.Compacted {
		fmt.Fprintf(e.Stdout, "database compacted: %s -> %s\n", formatSize(rep.DBBytesBefore), formatSize(rep.DBBytesAfter))
	}
	if rep.FileErrors > 0 {
		fmt.Fprintf(e.Stdout, "%d files could not be removed (see the server log; the next gc retries)\n", rep.FileErrors)
	}
	fmt.Fprintf(e.Stdout, "took %s\n", rep.Duration.Round(time.Millisecond))
	return ExitOK
}

// parseSize reads "50GiB", "1.5T", "500MB" or a plain byte count; the
// configuration file reads sizes the same way.
var parseSize = defaults.ParseSize

// formatSize prints bytes with a binary unit.
func formatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
