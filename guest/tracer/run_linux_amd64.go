//go:build linux && amd64

package tracer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// killGrace bounds how long Run waits for killed tracees to be reported gone
// before it returns the trace anyway.
const killGrace = 5 * time.Second

// runMu serialises runs: a Wait4(-1) loop reaps every child of the process.
var runMu sync.Mutex

// ReapOrphans reaps exited children of the calling process (an init process
// inherits orphans) unless a run is active, whose loop reaps them itself.
func ReapOrphans() {
	if !runMu.TryLock() {
		return
	}
	defer runMu.Unlock()
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG|syscall.WALL, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// thread is the tracer's view of one traced thread.
type thread struct {
	tid, tgid   int
	awaitStop   bool // announced by a fork/clone event; its initial SIGSTOP is pending
	needOptions bool // the root's first stop: set ptrace options then
	inCall      bool
	call        pendingCall
	mem         tracee
}

// pendingCall is a call between its entry and exit stops.
type pendingCall struct {
	ev       trace.Event
	args     [6]uint64
	spec     *argSpec
	keep     bool
	execPath string
	execArgv []string
}

type process struct {
	trace.Process
	live  int // threads alive
	ended bool
}

// run is the state of one traced run. mu guards everything below it.
type run struct {
	cfg   Config
	start time.Time
	win   *windower

	mu        sync.Mutex
	threads   map[int]*thread
	procs     map[int]*process
	rootPID   int
	events    int
	kept      int
	truncated bool
	killing   bool
	killed    bool
	noInfo    bool // PTRACE_GET_SYSCALL_INFO unsupported: use GETREGS
	endNs     int64
	fatal     error

	// Windows API calls (Config.APILines).
	apiEvents    int
	apiKept      int
	apiTruncated bool
	apiClosed    bool                  // windows finished: later lines are ignored
	apiNames     map[string]bool       // distinct names counted
	apiOpen      map[int][]apiOpenCall // per thread: kept calls awaiting their return
}

// apiOpenCall is a kept API call whose return line has not come yet.
type apiOpenCall struct {
	window, index int
	name          string
}

func (r *run) now() int64 { return int64(time.Since(r.start)) }

// Run executes cfg.Path under the tracer and calls emit with every window, in
// order, from a single goroutine. It returns when every traced process is
// gone: after the program tree ends, or after it was killed at the timeout,
// at the window budget, when ctx is cancelled or when emit fails (Run then
// returns the partial summary and an error wrapping ctx.Err() or ErrEmit). A
// program that cannot be started gives Outcome error and a nil error.
func Run(ctx context.Context, cfg Config, emit func(trace.Window) error) (trace.Summary, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return trace.Summary{Outcome: trace.OutcomeError, Error: err.Error()}, err
	}
	runMu.Lock()
	unlock := true
	defer func() {
		if unlock {
			runMu.Unlock()
		}
	}()

	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return trace.Summary{Outcome: trace.OutcomeError, Error: err.Error()}, fmt.Errorf("%w: %w", ErrTrace, err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		devnull.Close()
		return trace.Summary{Outcome: trace.OutcomeError, Error: err.Error()}, fmt.Errorf("%w: %w", ErrTrace, err)
	}
	out := &output{limit: cfg.OutputLimit}
	outDone := make(chan struct{})
	go func() { out.collect(pr); close(outDone) }()
	// The API log: the program's stderr on a pipe of its own.
	errW := pw
	var apiR *os.File
	apiDone := make(chan struct{})
	if cfg.APILines != nil {
		apiR, errW, err = os.Pipe()
		if err != nil {
			devnull.Close()
			pr.Close()
			pw.Close()
			return trace.Summary{Outcome: trace.OutcomeError, Error: err.Error()}, fmt.Errorf("%w: %w", ErrTrace, err)
		}
	} else {
		close(apiDone)
	}

	r := &run{
		cfg:      cfg,
		win:      newWindower(int64(cfg.Window), cfg.MaxWindows),
		threads:  make(map[int]*thread),
		procs:    make(map[int]*process),
		apiNames: make(map[string]bool),
		apiOpen:  make(map[int][]apiOpenCall),
	}
	started := make(chan error, 1)
	loopDone := make(chan struct{})
	go r.traceLoop(devnull, pw, errW, started, loopDone)
	startErr := <-started
	pw.Close()
	if apiR != nil {
		errW.Close()
		go func() { r.readAPI(apiR, out); close(apiDone) }()
	}
	devnull.Close()
	if startErr != nil {
		<-loopDone
		<-outDone
		pr.Close()
		if apiR != nil {
			<-apiDone
			apiR.Close()
		}
		return trace.Summary{
			Outcome: trace.OutcomeError,
			Error:   fmt.Sprintf("start %s: %v", cfg.Path, startErr),
		}, nil
	}

	emitErr := make(chan error, 1)
	emitDone := make(chan struct{})
	emitted := 0
	go func() {
		defer close(emitDone)
		failed := false
		for {
			wins, ok := r.win.take()
			if !ok {
				return
			}
			for _, w := range wins {
				if failed {
					continue
				}
				if err := emit(w); err != nil {
					failed = true
					emitErr <- err
					continue
				}
				emitted++
			}
		}
	}()

	runErr := r.clock(ctx, loopDone, emitErr)

	if apiR != nil {
		// Calls still in the pipe belong to the run; a writer that escaped
		// the tree (a daemon it started) is not waited for.
		select {
		case <-apiDone:
		case <-time.After(500 * time.Millisecond):
		}
		apiR.Close()
	}
	r.mu.Lock()
	r.apiClosed = true
	if r.endNs == 0 {
		r.endNs = r.now()
	}
	r.win.finish(r.endNs)
	sum := r.summary()
	r.mu.Unlock()
	<-emitDone
	if runErr == nil {
		select {
		case err := <-emitErr:
			runErr = fmt.Errorf("%w: %w", ErrEmit, err)
		default:
		}
	}
	sum.Windows = emitted

	select {
	case <-outDone:
	case <-time.After(500 * time.Millisecond): // a writer escaped us: stop reading
	}
	pr.Close()
	<-outDone
	sum.Stdout, sum.StdoutTrunc = string(out.buf), out.trunc

	select {
	case <-loopDone:
	default: // tracees did not die in time: keep other runs out until they do
		unlock = false
		go func() { <-loopDone; runMu.Unlock() }()
	}
	return sum, runErr
}

// clock drives windows and deadlines until the trace loop ends.
func (r *run) clock(ctx context.Context, loopDone <-chan struct{}, emitErr <-chan error) error {
	runCtx, cancel := context.WithDeadline(ctx, r.start.Add(r.cfg.Timeout))
	defer cancel()
	deadline := runCtx.Done()
	timer := time.NewTimer(r.untilBoundary())
	defer timer.Stop()
	var grace <-chan time.Time
	var runErr error
	stop := func() {
		r.mu.Lock()
		r.killTree()
		r.mu.Unlock()
		if grace == nil {
			grace = time.After(killGrace)
		}
	}
	for {
		select {
		case <-loopDone:
			return runErr
		case <-timer.C:
			r.mu.Lock()
			if r.win.advance(r.now()) {
				r.killTree()
			}
			r.mu.Unlock()
			timer.Reset(r.untilBoundary())
		case <-deadline:
			deadline = nil
			if ctx.Err() != nil {
				runErr = ctx.Err()
			}
			stop()
		case err := <-emitErr:
			runErr = fmt.Errorf("%w: %w", ErrEmit, err)
			stop()
		case <-grace:
			r.mu.Lock()
			r.endNs = r.now()
			r.mu.Unlock()
			return errors.Join(runErr, fmt.Errorf("%w: traced processes still present %v after SIGKILL", ErrTrace, killGrace))
		}
	}
}

func (r *run) untilBoundary() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.win.open {
		return time.Hour
	}
	d := time.Duration(r.win.cur.End - r.now())
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return d
}

// traceLoop runs on its own locked OS thread: it starts the program and
// handles every ptrace stop until no traced thread is left.
func (r *run) traceLoop(devnull, pw, errW *os.File, started chan<- error, done chan<- struct{}) {
	defer close(done)
	// Never unlocked: the thread exits with the goroutine, and EXITKILL then
	// kills any tracee left.
	runtime.LockOSThread()
	attr := &syscall.ProcAttr{
		Dir:   r.cfg.Dir,
		Env:   r.cfg.Env,
		Files: []uintptr{devnull.Fd(), pw.Fd(), errW.Fd()},
		Sys:   &syscall.SysProcAttr{Ptrace: true, Setpgid: true},
	}
	r.start = time.Now()
	pid, err := syscall.ForkExec(r.cfg.Path, r.cfg.Args, attr)
	if err != nil {
		started <- err
		return
	}
	r.mu.Lock()
	r.rootPID = pid
	root := r.newThread(pid, pid, 0, 0, false)
	root.needOptions = true
	p := r.procs[pid]
	p.Exe, p.Argv = r.cfg.Path, boundArgv(r.cfg.Args)
	r.mu.Unlock()
	started <- nil

	for {
		r.mu.Lock()
		live := len(r.threads)
		r.mu.Unlock()
		if live == 0 {
			break
		}
		var ws syscall.WaitStatus
		wpid, err := syscall.Wait4(-1, &ws, syscall.WALL, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			if err != syscall.ECHILD {
				r.mu.Lock()
				r.fatal = fmt.Errorf("%w: wait4: %w", ErrTrace, err)
				r.killTree()
				r.mu.Unlock()
			}
			break
		}
		r.mu.Lock()
		r.handle(wpid, ws)
		r.mu.Unlock()
	}
	r.mu.Lock()
	if r.endNs == 0 {
		r.endNs = r.now()
	}
	r.mu.Unlock()
}

// handle processes one wait status. Called with r.mu held.
func (r *run) handle(wpid int, ws syscall.WaitStatus) {
	now := r.now()
	th := r.threads[wpid]
	if ws.Exited() || ws.Signaled() {
		if th != nil {
			r.threadGone(th, ws, now)
		}
		return // else an orphan or an untraced child: reaped, nothing to record
	}
	if !ws.Stopped() {
		return
	}
	sig := ws.StopSignal()
	if th == nil {
		// A new tracee whose initial stop came before its parent's event.
		tgid, ppid, ok := procStatus(wpid)
		if !ok {
			tgid, ppid = wpid, 0
		}
		th = r.newThread(wpid, tgid, ppid, now, sig == syscall.SIGSTOP)
	}
	if th.needOptions {
		th.needOptions = false
		if err := syscall.PtraceSetOptions(wpid, ptraceOptions); err != nil {
			r.fatal = fmt.Errorf("%w: set ptrace options: %w", ErrTrace, err)
			r.killTree()
			return
		}
		r.recordRootExec(th, now)
		r.resume(th, 0)
		return
	}
	switch {
	case sig == syscall.SIGTRAP|0x80:
		r.syscallStop(th, now)
		r.resume(th, 0)
	case sig == syscall.SIGTRAP && ws.TrapCause() > 0:
		th = r.eventStop(th, ws.TrapCause(), now)
		r.resume(th, 0)
	case sig == syscall.SIGSTOP && th.awaitStop:
		th.awaitStop = false
		r.resume(th, 0)
	case isGroupStop(th.tid):
		r.resume(th, 0)
	default: // signal-delivery stop: deliver the signal
		r.resume(th, int(sig))
	}
}

func (r *run) resume(th *thread, sig int) {
	// ESRCH: killed meanwhile; its death is reported by Wait4.
	_ = syscall.PtraceSyscall(th.tid, sig)
}

// newThread registers a traced thread, and its process when new.
func (r *run) newThread(tid, tgid, ppid int, now int64, awaitStop bool) *thread {
	th := &thread{tid: tid, tgid: tgid, awaitStop: awaitStop, mem: tracee{tid: tid}}
	r.threads[tid] = th
	p := r.procs[tgid]
	if p == nil {
		p = &process{Process: trace.Process{PID: tgid, PPID: ppid, Start: now}}
		if parent := r.procs[ppid]; parent != nil {
			p.Exe, p.Argv = parent.Exe, parent.Argv // a fork runs its parent's program
		}
		r.procs[tgid] = p
	}
	p.Threads++
	p.live++
	if r.killing && tid > 1 {
		p.Killed = true
		_ = syscall.Kill(tid, syscall.SIGKILL)
	}
	return th
}

// recordRootExec records the root's execve, which happened before tracing
// options were set and so had no syscall stops.
func (r *run) recordRootExec(th *thread, now int64) {
	keep := r.kept < r.cfg.MaxEvents
	if keep {
		r.kept++
	}
	ev := trace.Event{T: 0, Dur: now, PID: th.tgid, TID: th.tid, Nr: nrExecve, Name: "execve"}
	if keep {
		ev.Path, ev.Argv = r.cfg.Path, boundArgv(r.cfg.Args)
	}
	r.record(th.tgid, &ev, keep, now)
}

func boundArgv(args []string) []string {
	var out []string
	for i, a := range args {
		if i == MaxArgs {
			return append(out, "...")
		}
		if len(a) > MaxArgLen {
			a = a[:MaxArgLen]
		}
		out = append(out, a)
	}
	return out
}

func (r *run) syscallStop(th *thread, now int64) {
	var info syscallInfo
	if !r.noInfo {
		err := getSyscallInfo(th.tid, &info)
		if err == syscall.EIO || err == syscall.EINVAL {
			r.noInfo = true
		} else if err != nil {
			return // ESRCH: gone
		}
	}
	if r.noInfo {
		var regs syscall.PtraceRegs
		if err := syscall.PtraceGetRegs(th.tid, &regs); err != nil {
			return
		}
		info = syscallInfo{Arch: auditArchX86_64}
		if th.inCall {
			info.Op = syscallInfoExit
			info.Data[0] = regs.Rax
		} else {
			info.Op = syscallInfoEntry
			info.Data = [8]uint64{regs.Orig_rax, regs.Rdi, regs.Rsi, regs.Rdx, regs.R10, regs.R8, regs.R9}
		}
	}
	switch info.Op {
	case syscallInfoEntry:
		var args [6]uint64
		copy(args[:], info.Data[1:7])
		r.enter(th, now, int(info.Data[0]), args, info.Arch != auditArchX86_64)
	case syscallInfoExit:
		if th.inCall {
			r.exit(th, now, int64(info.Data[0]))
		}
	}
}

func (r *run) enter(th *thread, now int64, nr int, args [6]uint64, compat bool) {
	if th.inCall && th.call.keep { // missed exit (should not happen): keep the reservation honest
		r.kept--
	}
	th.inCall = true
	name, spec, abi := syscallName(nr), specs[nr], ""
	isExec := nr == nrExecve || nr == nrExecat
	if compat {
		name, spec, abi = syscallName32(nr), specs32[nr], trace.ABII386
		isExec = nr == nrExecve32 || nr == nrExecat32
	}
	keep := r.kept < r.cfg.MaxEvents
	if keep {
		r.kept++
	}
	th.call = pendingCall{
		ev:   trace.Event{T: now, PID: th.tgid, TID: th.tid, Nr: nr, Name: name, ABI: abi},
		args: args, spec: spec, keep: keep,
	}
	if spec == nil {
		return
	}
	if keep {
		decodeEntry(spec, &th.mem, &args, &th.call.ev)
	}
	if isExec {
		if keep {
			th.call.execPath, th.call.execArgv = th.call.ev.Path, th.call.ev.Argv
		} else {
			th.call.execPath = pathArg(&th.mem, args[spec.path-1])
			th.call.execArgv = readArgvWidth(&th.mem, args[spec.argv-1], MaxArgs, MaxArgLen, compat)
		}
	}
}

func (r *run) exit(th *thread, now int64, ret int64) {
	c := &th.call
	th.inCall = false
	ev := c.ev
	ev.Dur = now - ev.T
	ev.Ret = ret
	if ret < 0 && ret > -4096 {
		ev.Err = errnoName(int(-ret))
	}
	if c.spec != nil && c.keep {
		decodeExit(c.spec, &th.mem, &c.args, ret, &ev)
	}
	r.record(th.tgid, &ev, c.keep, now)
}

// unfinished records the in-flight call of a thread that died or vanished.
func (r *run) unfinished(th *thread, now int64) {
	if !th.inCall {
		return
	}
	th.inCall = false
	ev := th.call.ev
	ev.Dur = now - ev.T
	r.record(th.tgid, &ev, th.call.keep, now)
}

// record counts a completed call and stores it in its window.
func (r *run) record(tgid int, ev *trace.Event, keep bool, now int64) {
	r.events++
	if p := r.procs[tgid]; p != nil {
		p.Syscalls++
	}
	if r.win.advance(now) {
		r.killTree()
	}
	if !keep {
		r.truncated = true
	}
	if !r.win.add(ev, keep) && keep {
		r.kept-- // no window left to hold it
	}
}

func (r *run) eventStop(th *thread, cause int, now int64) *thread {
	msg, err := syscall.PtraceGetEventMsg(th.tid)
	if err != nil {
		return th
	}
	switch cause {
	case syscall.PTRACE_EVENT_FORK, syscall.PTRACE_EVENT_VFORK, syscall.PTRACE_EVENT_CLONE:
		child := int(msg)
		tgid := child
		if cause == syscall.PTRACE_EVENT_CLONE && r.cloneIsThread(th, child) {
			tgid = th.tgid
		}
		if c := r.threads[child]; c != nil { // its initial stop came first
			if p := r.procs[child]; p != nil && tgid == child {
				p.PPID = th.tgid
			}
			return th
		}
		r.newThread(child, tgid, th.tgid, now, true)
	case syscall.PTRACE_EVENT_EXEC:
		if former := int(msg); former != th.tid {
			// A non-leader thread exec'd: it took the leader's tid and the
			// old leader vanished without an exit report.
			if old := r.threads[former]; old != nil {
				r.unfinished(th, now)
				if p := r.procs[th.tgid]; p != nil {
					p.live--
				}
				delete(r.threads, former)
				old.tid = th.tid
				old.mem = tracee{tid: th.tid}
				r.threads[th.tid] = old
				th = old
			}
		}
		if p := r.procs[th.tgid]; p != nil && th.inCall {
			p.Exe, p.Argv = th.call.execPath, th.call.execArgv
		}
	}
	return th
}

// cloneIsThread reports whether clone created a thread of th's process.
func (r *run) cloneIsThread(th *thread, child int) bool {
	if tgid, _, ok := procStatus(child); ok {
		return tgid != child
	}
	if !th.inCall {
		return false
	}
	switch th.call.ev.Nr {
	case nrClone:
		return th.call.args[0]&cloneThread != 0
	case nrClone3:
		f, err := readWord(&th.mem, th.call.args[0])
		return err == nil && f&cloneThread != 0
	}
	return false
}

func (r *run) threadGone(th *thread, ws syscall.WaitStatus, now int64) {
	r.unfinished(th, now)
	delete(r.threads, th.tid)
	p := r.procs[th.tgid]
	if p == nil {
		return
	}
	p.live--
	if (th.tid == p.PID || p.live == 0) && !p.ended {
		p.ended = true
		p.End = now
		if ws.Exited() {
			code := ws.ExitStatus()
			p.Exit = &code
		} else {
			p.Signal = SignalName(int(ws.Signal()))
		}
	}
}

// killTree SIGKILLs every live traced process and the root's process group.
func (r *run) killTree() {
	r.killing = true
	r.win.freeze()
	for _, p := range r.procs {
		if !p.ended && p.PID > 1 {
			p.Killed = true
			r.killed = true
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
	}
	if r.rootPID > 1 {
		_ = syscall.Kill(-r.rootPID, syscall.SIGKILL)
	}
}

// summary builds the run's summary. Called with r.mu held.
func (r *run) summary() trace.Summary {
	s := trace.Summary{
		DurationNs: r.endNs,
		Events:     r.events,
		Kept:       r.kept,
		Truncated:  r.truncated,
		Outcome:    trace.OutcomeExited,

		APICalls:     r.apiEvents,
		APIKept:      r.apiKept,
		APITruncated: r.apiTruncated,
	}
	if root := r.procs[r.rootPID]; root != nil {
		if root.Exit != nil {
			s.ExitCode = *root.Exit
		}
		s.Signal = root.Signal
		if root.Signal != "" {
			s.Outcome = trace.OutcomeSignaled
		}
	}
	if r.killed {
		s.Outcome = trace.OutcomeTimeout
	}
	if r.fatal != nil {
		s.Outcome = trace.OutcomeError
		s.Error = r.fatal.Error()
	}
	for _, p := range r.procs {
		s.Processes = append(s.Processes, p.Process)
	}
	sort.Slice(s.Processes, func(i, j int) bool {
		a, b := s.Processes[i], s.Processes[j]
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		return a.PID < b.PID
	})
	return s
}

// output keeps the first limit bytes of the program's output and discards
// the rest. Two readers may write to it (stdout, and stderr's non-API lines).
type output struct {
	mu    sync.Mutex
	limit int
	buf   []byte
	trunc bool
}

func (o *output) write(p []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	keep := len(p)
	if room := o.limit - len(o.buf); keep > room {
		keep = room
		o.trunc = true
	}
	o.buf = append(o.buf, p[:keep]...)
}

func (o *output) collect(r io.Reader) {
	b := make([]byte, 32<<10)
	for {
		n, err := r.Read(b)
		if n > 0 {
			o.write(b[:n])
		}
		if err != nil {
			return
		}
	}
}

// readAPI reads the API log line by line until it ends.
func (r *run) readAPI(f io.Reader, out *output) {
	br := bufio.NewReaderSize(f, MaxAPILine)
	for {
		line, err := br.ReadSlice('\n')
		long := errors.Is(err, bufio.ErrBufferFull)
		text := bytes.TrimRight(line, "\r\n")
		if len(text) > 0 {
			if l, ok := r.cfg.APILines(text); ok {
				r.recordAPI(l)
			} else {
				out.write(line)
			}
		}
		if long { // drop the rest of an over-long line
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// recordAPI counts one API line and keeps the call while the budget lasts.
func (r *run) recordAPI(l APILine) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.apiClosed {
		return
	}
	now := r.now()
	c := l.Call
	name := c.Name()
	if l.Ret {
		stack := r.apiOpen[c.TID]
		for i := len(stack) - 1; i >= 0; i-- {
			if stack[i].name != name {
				continue
			}
			o := stack[i]
			r.apiOpen[c.TID] = stack[:i]
			if r.win.open && r.win.cur.Index == o.window && o.index < len(r.win.cur.API) {
				r.win.cur.API[o.index].Ret = c.Ret
			}
			break
		}
		return
	}
	r.apiEvents++
	if r.win.advance(now) {
		r.killTree()
	}
	if !r.apiNames[name] {
		if len(r.apiNames) >= MaxAPINames {
			name = APIOverflowName
		}
		r.apiNames[name] = true
	}
	keep := r.apiKept < r.cfg.MaxEvents
	if !keep {
		r.apiTruncated = true
	}
	c.T = now
	idx, ok := r.win.addAPI(&c, name, keep)
	if !ok || idx < 0 {
		return
	}
	r.apiKept++
	stack := r.apiOpen[c.TID]
	if stack == nil && len(r.apiOpen) >= maxAPIThreads {
		return
	}
	if len(stack) >= maxAPIDepth {
		stack = stack[1:]
	}
	r.apiOpen[c.TID] = append(stack, apiOpenCall{window: r.win.cur.Index, index: idx, name: c.Name()})
}
