package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
)

// poolGroup is "scalemalnet pool".
var poolGroup = &group{
	name:    "pool",
	summary: "manage the VM pool of the running orchestrator",
	footer:  "Changes made here are kept in DATA_DIR/pool.json, on top of the configuration\nfile's [pool]; see docs/operations.md.",
}

func runPoolList(ctx context.Context, e *Env, args []string) int {
	fs := poolGroup.flags(e, "ls")
	var cn conn
	cn.register(fs)
	asJSON := fs.Bool("json", false, "print JSON, with each slot's last transitions")
	c, _, code, ok := connect(e, fs, &cn, args, 0)
	if !ok {
		return code
	}
	l, err := c.Pool(ctx)
	if err != nil {
		err = fmt.Errorf("pool: %w", err)
	}
	return output(e, l, err, *asJSON, func(w io.Writer, l api.PoolList) { printPool(w, l.Slots, time.Now()) })
}

func printPool(w io.Writer, slots []api.PoolSlot, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SLOT\tHOST\tSTATE\tFOR\tJOB\tANALYSES\tFAILS\tMEMORY\tNETWORK\tTAGS\tORIGIN\tLAST ERROR")
	for _, s := range slots {
		state := s.State
		if s.Pending != "" {
			state += " (" + s.Pending + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d MiB\t%s\t%s\t%s\t%s\n", clean(s.Name), clean(s.Host), clean(state),
			now.Sub(s.Since).Round(time.Second), dash(clean(s.Job)), s.Analyses, s.ConsecutiveFailures, s.MemoryMiB,
			clean(s.Network), dash(ellipsis(clean(strings.Join(s.Tags, ",")), 40)), clean(s.Origin), dash(ellipsis(clean(s.LastError), 80)))
	}
	tw.Flush()
}

func runPoolAdd(ctx context.Context, e *Env, args []string) int {
	fs := poolGroup.flags(e, "add")
	var cn conn
	cn.register(fs)
	var req api.SlotRequest
	var tags stringList
	fs.IntVar(&req.MemoryMiB, "memory", 0, "guest memory in MiB (default: the orchestrator's, 256)")
	fs.StringVar(&req.Network, "network", "", "guest network: none (default), isolated (the fake internet; jobs submitted with --network isolated run only on such slots) or user (QEMU NAT; only if the orchestrator allows it)")
	fs.Var(&tags, "tag", "a label shown by pool ls (repeatable); jobs submitted with --tag T run only on slots with T")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, code, ok := parse(fs, args, 1)
	if !ok {
		return code
	}
	if req.MemoryMiB < 0 {
		fmt.Fprintln(e.Stderr, "scalemalnet pool add: --memory must not be negative")
		return ExitUsage
	}
	req.Name, req.Tags = pos[0], tags
	c, err := cn.client(e)
	if err != nil {
		return fail(e, err)
	}
	ch, err := c.AddSlot(ctx, req)
	if err != nil {
		return fail(e, fmt.Errorf("pool add %s: %w", req.Name, err))
	}
	return printChange(e, ch, *asJSON)
}

// runPoolEdit returns the command for remove, drain, undrain or reset.
func runPoolEdit(action string) func(ctx context.Context, e *Env, args []string) int {
	return func(ctx context.Context, e *Env, args []string) int {
		fs := poolGroup.flags(e, action)
		var cn conn
		cn.register(fs)
		asJSON := fs.Bool("json", false, "print the result as JSON")
		var host *string
		if action != "remove" {
			host = fs.String("host", "", "instead of one slot NAME, every slot of this hypervisor host (the HOST column of pool ls; docs/scale-out.md)")
		}
		c, pos, code, ok := connect(e, fs, &cn, args, -1)
		if !ok {
			return code
		}
		byHost := host != nil && *host != ""
		if (byHost && len(pos) != 0) || (!byHost && len(pos) != 1) {
			fmt.Fprintf(e.Stderr, "scalemalnet pool %s: want one slot NAME, or --host HOST alone\n", action)
			return ExitUsage
		}
		f := map[string]func(context.Context, string) (api.PoolChange, error){
			"remove": c.RemoveSlot, "drain": c.DrainSlot, "reset": c.ResetSlot, "undrain": c.UndrainSlot,
		}[action]
		if !byHost {
			ch, err := f(ctx, pos[0])
			if err != nil {
				return fail(e, fmt.Errorf("pool %s %s: %w", action, pos[0], err))
			}
			return printChange(e, ch, *asJSON)
		}
		l, err := c.Pool(ctx)
		if err != nil {
			return fail(e, fmt.Errorf("pool: %w", err))
		}
		var changes []api.PoolChange
		for _, s := range l.Slots {
			if s.Host != *host {
				continue
			}
			ch, err := f(ctx, s.Name)
			if err != nil {
				return fail(e, fmt.Errorf("pool %s %s (host %s): %w", action, s.Name, *host, err))
			}
			changes = append(changes, ch)
		}
		if len(changes) == 0 {
			return fail(e, fmt.Errorf("pool %s --host %s: no slot on that host (pool ls shows the hosts)", action, *host))
		}
		if *asJSON {
			return printJSON(e, changes)
		}
		for _, ch := range changes {
			printChange(e, ch, false)
		}
		return ExitOK
	}
}

func printChange(e *Env, ch api.PoolChange, asJSON bool) int {
	if asJSON {
		return printJSON(e, ch)
	}
	what := map[string]string{
		"add":     "added; making its clean state (cold boot), then it takes jobs",
		"remove":  "is being removed: it takes no more jobs; its VM and files go once its current job is over",
		"drain":   "is draining: it takes no more jobs after its current one (\"pool undrain\" returns it to service)",
		"undrain": "takes jobs again with its clean state (no cold boot)",
		"reset":   "will discard its clean state and make a new one from a cold boot (after its current job)",
	}[ch.Action]
	fmt.Fprintf(e.Stdout, "slot %s %s\n", clean(ch.Slot.Name), what)
	fmt.Fprintf(e.Stdout, "state %s", clean(ch.Slot.State))
	if ch.Slot.Job != "" {
		fmt.Fprintf(e.Stdout, ", running job %s", clean(ch.Slot.Job))
	}
	fmt.Fprintln(e.Stdout)
	for _, w := range ch.Warnings {
		fmt.Fprintf(e.Stderr, "warning: %s\n", clean(w))
	}
	return ExitOK
}

func runPoolHealth(ctx context.Context, e *Env, args []string) int {
	fs := poolGroup.flags(e, "health")
	var cn conn
	cn.register(fs)
	asJSON := fs.Bool("json", false, "print JSON, with each slot's last transitions (up to 50)")
	n := fs.Int("transitions", 5, "transitions shown per slot")
	c, _, code, ok := connect(e, fs, &cn, args, 0)
	if !ok {
		return code
	}
	h, err := c.PoolHealth(ctx)
	if err != nil {
		return fail(e, fmt.Errorf("pool health: %w", err))
	}
	status := ExitOK
	if h.Status != "ok" {
		status = ExitFailure
	}
	if *asJSON {
		if rc := printJSON(e, h); rc != ExitOK {
			return rc
		}
		return status
	}
	fmt.Fprintf(e.Stdout, "pool %s: %d of %d slots serving; quarantine after %d failures in a row\n",
		clean(h.Status), h.Serving, len(h.Slots), h.QuarantineAfter)
	for _, p := range h.Problems {
		fmt.Fprintf(e.Stdout, "  problem: %s\n", clean(p))
	}
	for _, w := range h.Warnings {
		fmt.Fprintf(e.Stdout, "  warning: %s\n", clean(w))
	}
	for _, s := range h.Slots {
		mark := "ok"
		if !s.Healthy {
			mark = "UNHEALTHY"
		}
		fmt.Fprintf(e.Stdout, "\n%s: %s (%s), %d failures in a row", clean(s.Name), clean(s.State), mark, s.ConsecutiveFailures)
		if s.CleanStateBuilt != nil {
			fmt.Fprintf(e.Stdout, ", clean state built %s", s.CleanStateBuilt.Local().Format(timeLayout))
		}
		fmt.Fprintln(e.Stdout)
		if s.LastError != "" {
			at := ""
			if s.LastErrorAt != nil {
				at = " " + s.LastErrorAt.Local().Format(timeLayout)
			}
			fmt.Fprintf(e.Stdout, "  last error%s: %s\n", at, ellipsis(clean(s.LastError), 300))
		}
		tr := s.Transitions
		if *n >= 0 && len(tr) > *n {
			tr = tr[len(tr)-*n:]
		}
		for _, t := range tr {
			fmt.Fprintf(e.Stdout, "  %s  %-11s -> %-11s %s\n", t.At.Local().Format("15:04:05.000"), dash(clean(t.From)), clean(t.To), ellipsis(clean(t.Reason), 200))
		}
	}
	return status
}

// clean replaces control characters, so server text cannot drive the
// terminal.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

func ellipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
