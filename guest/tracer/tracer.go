// Package tracer runs a program under ptrace and records every system call of
// every process and thread it creates, as a trace.Window stream plus a
// trace.Summary.
//
// Design:
//
//   - One goroutine, locked to its OS thread for its whole life, starts the
//     program (ForkExec with PTRACE_TRACEME) and runs the Wait4(-1, __WALL)
//     loop; every ptrace request is made from that thread. The thread is never
//     unlocked, so it dies with the goroutine and PTRACE_O_EXITKILL then kills
//     any tracee left behind.
//   - Run's own goroutine is the clock: it closes windows on time (so a
//     compute-bound sample still yields empty windows), enforces the timeout
//     and the window budget by SIGKILLing the tree, and a third goroutine hands
//     closed windows to the emit callback in order, so a slow consumer never
//     stalls the tracee.
//   - A call is timestamped at its entry stop and recorded at its exit stop in
//     the window containing its entry time, or in the open window when that one
//     is already closed (a long sleep): its T may then precede the window's
//     Start. A call cut short by its thread's death (exit, exit_group, a kill)
//     is recorded at the death with Ret 0.
//   - Memory of the tracee is read with process_vm_readv (PTRACE_PEEKDATA as a
//     fallback), always bounded: paths to MaxPath bytes, exec argv to
//     MaxArgs x MaxArgLen, socket addresses to 128 bytes.
//
// Only one Run executes at a time in a process: Wait4(-1) would otherwise
// steal another run's tracees. Callers that reap orphans (an init process)
// must use ReapOrphans, which stands aside while a run is active.
package tracer

//go:generate go run ./internal/mksysnames -o zsysnames_linux_amd64.go

import (
	"errors"
	"fmt"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// Bounds on data read from tracee memory.
const (
	MaxPath     = 4096 // bytes of a path argument
	MaxArgs     = 64   // exec argv entries kept
	MaxArgLen   = 256  // bytes per exec argv entry
	MaxSockaddr = 128
)

// Defaults applied by Config.withDefaults for zero fields.
const (
	DefaultTimeout     = 60 * time.Second
	DefaultWindow      = time.Second
	DefaultMaxEvents   = 100_000
	DefaultMaxWindows  = 3600
	DefaultOutputLimit = 64 << 10
)

// Error kinds returned by Run.
var (
	ErrConfig      = errors.New("invalid tracer configuration")
	ErrUnsupported = errors.New("tracer not supported on this platform")
	ErrTrace       = errors.New("tracing failed")
	ErrEmit        = errors.New("window consumer failed")
)

// Config describes one traced run.
type Config struct {
	Path        string        // program to execute
	Args        []string      // argv including argv[0]; [Path] if empty
	Env         []string      // environment of the program
	Dir         string        // working directory ("" = the caller's)
	Timeout     time.Duration // the tree is killed after this long
	Window      time.Duration // window width
	MaxEvents   int           // calls kept with details; later ones are only counted
	MaxWindows  int           // windows emitted at most; the tree is killed past it
	OutputLimit int           // bytes of stdout+stderr kept; 0 = default, <0 = none

	// APILines, when set, makes the program's stderr a pipe of its own whose
	// lines it is given one by one (without the newline, at most
	// MaxAPILine bytes): a line it accepts is a Windows API call, or the
	// return of one, recorded in the windows beside the system calls under
	// the same budget (MaxEvents calls kept, the rest counted). Other lines
	// join the kept output. Used for Wine's relay channel (package relay).
	APILines func(line []byte) (APILine, bool)
}

// APILine is one line of an API log, as APILines parses it.
type APILine struct {
	// Ret marks the return of Call.TID's innermost open call of
	// Call.Module.Func, whose value is Call.Ret; the call itself is updated
	// while its window is still open.
	Ret  bool
	Call trace.APICall // T is set by the tracer when the line is read
}

// Bounds on the API log.
const (
	MaxAPILine    = 64 << 10 // bytes of one line; the rest of a longer line is dropped
	MaxAPINames   = 4096     // distinct Module.Func names counted per run; later ones count as APIOverflowName
	maxAPIDepth   = 64       // open calls remembered per thread to match returns
	maxAPIThreads = 4096     // threads whose open calls are remembered
)

// APIOverflowName counts calls whose names came after MaxAPINames others.
const APIOverflowName = "(other).(names over limit)"

func (c Config) withDefaults() (Config, error) {
	if c.Path == "" {
		return c, fmt.Errorf("%w: empty path", ErrConfig)
	}
	if len(c.Args) == 0 {
		c.Args = []string{c.Path}
	}
	if c.Timeout < 0 || c.Window < 0 || c.MaxEvents < 0 || c.MaxWindows < 0 {
		return c, fmt.Errorf("%w: negative limit", ErrConfig)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.MaxEvents == 0 {
		c.MaxEvents = DefaultMaxEvents
	}
	if c.MaxWindows == 0 {
		c.MaxWindows = DefaultMaxWindows
	}
	switch {
	case c.OutputLimit == 0:
		c.OutputLimit = DefaultOutputLimit
	case c.OutputLimit < 0:
		c.OutputLimit = 0
	}
	return c, nil
}
