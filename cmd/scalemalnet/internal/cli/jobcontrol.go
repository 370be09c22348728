package cli

import (
	"context"
	"fmt"
)

// runCancel cancels a job: queued ones end cancelled, running ones are
// stopped and their VM destroyed.
func runCancel(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "cancel")
	var cn conn
	cn.register(fs)
	asJSON := fs.Bool("json", false, "print the job as JSON")
	c, pos, code, ok := connect(e, fs, &cn, args, 1)
	if !ok {
		return code
	}
	j, err := c.Cancel(ctx, pos[0])
	if err != nil {
		return fail(e, err)
	}
	if *asJSON {
		return printJSON(e, j)
	}
	printJob(e.Stdout, j)
	return ExitOK
}

// runDelete deletes a finished job with its report and artifacts.
func runDelete(ctx context.Context, e *Env, args []string) int {
	fs := newFlags(e, "delete")
	var cn conn
	cn.register(fs)
	asJSON := fs.Bool("json", false, "print the deleted job as JSON")
	c, pos, code, ok := connect(e, fs, &cn, args, 1)
	if !ok {
		return code
	}
	j, err := c.Delete(ctx, pos[0])
	if err != nil {
		return fail(e, err)
	}
	if *asJSON {
		return printJSON(e, j)
	}
	fmt.Fprintf(e.Stdout, "deleted job %s (%s, %s) with its report and artifacts\n", j.ID, j.State, clean(j.Sample.Name))
	return ExitOK
}
