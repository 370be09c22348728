package cli

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

// runGC asks the running orchestrator to apply a retention policy now.
func runGC(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "gc")
	var cn conn
	cn.register(fs)
	var p store.Policy
	var size string
	var asJSON bool
	fs.DurationVar(&p.MaxAge, "max-age", 0, "delete finished jobs older than this, e.g. 720h (default: the server's retention)")
	fs.StringVar(&size, "max-size", "", "delete the oldest finished jobs while the store is larger, e.g. 50GiB (default: the server's retention)")
	fs.BoolVar(&p.Compact, "compact", false, "compact the database file afterwards")
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

var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
	{"B", 1}, {"", 1},
}

// parseSize reads "50GiB", "1.5T", "500MB" or a plain byte count. Single
// letters are binary units, like du and df.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	for _, u := range sizeUnits {
		if !strings.HasSuffix(strings.ToUpper(t), strings.ToUpper(u.suffix)) {
			continue
		}
		num := strings.TrimSpace(t[:len(t)-len(u.suffix)])
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f*u.mult >= math.MaxInt64 {
			break
		}
		return int64(f * u.mult), nil
	}
	return 0, fmt.Errorf("%q: want a non-negative size such as 50GiB, 500MB or 1048576", s)
}

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
