package argfeat

import (
	"hash/fnv"
	"math"
	"net/netip"
	"strings"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// Bounds of the extractor's state: whatever a trace holds, Extract's memory
// stays below a few tens of MiB and its time linear in the trace.
const (
	maxFDEntries  = 1 << 16 // open fds remembered over all processes
	maxPIDs       = 1 << 14 // processes with an fd table or a cwd
	maxForkCopy   = 256     // fds copied from a parent to a child
	maxPaths      = 1 << 17 // distinct paths remembered (as 64-bit hashes)
	maxDistinct   = 1 << 14 // distinct program names, hosts, ports
	maxProcDepth  = 64
	maxFlagsLen   = 256
	maxCountValue = 1e15 // a per-name count is clamped to this
)

// Calls counted by name from the windows' per-name counts (complete even
// when events were dropped).
var countFeatures = map[string]int{}

func init() {
	for f, names := range map[int]string{
		fPrivSetuid: "setuid setgid setreuid setregid setresuid setresgid setfsuid setfsgid " +
			"setuid32 setgid32 setreuid32 setregid32 setresuid32 setresgid32 setfsuid32 setfsgid32",
		fPrivCapset: "capset",
		fPrivPtrace: "ptrace",
		fPrivVM:     "process_vm_readv process_vm_writev",
		fPrivMemfd:  "memfd_create",
		fPrivKill:   "kill tkill tgkill pidfd_send_signal",
		fPrivModule: "init_module finit_module delete_module",
		fPrivMount:  "mount umount umount2 pivot_root chroot unshare setns fsopen fsmount move_mount",
		fPrivBPF:    "bpf perf_event_open",
		fPrivAdmin:  "reboot kexec_load kexec_file_load sethostname setdomainname settimeofday clock_settime swapon swapoff iopl ioperm acct",
		fPrivPrctl:  "prctl",
		fNetSocket:  "socket",
		fNetConnect: "connect",
		fNetBind:    "bind",
		fNetListen:  "listen",
		fNetAccept:  "accept accept4",
	} {
		for _, n := range strings.Fields(names) {
			countFeatures[n] = f
		}
	}
}

// Path flags, per distinct path.
const (
	pWrote uint16 = 1 << iota
	pRead
	pExec
	pWroteExec // counted in file.written_exec
	pWroteChmod
	pWroteDel
	pExecDel
	pHidden
)

type fdEntry struct {
	path string // resolved path ("" unknown)
	sock bool
}

type proc struct {
	cwd string // "" when unknown
	fds map[int]fdEntry
}

// extractor is the state of one Extract call.
type extractor struct {
	c      []float64 // raw counts (log features), flags, numbers
	procs  map[int]*proc
	nfd    int
	paths  map[uint64]uint16
	progs  map[string]struct{}
	hosts  map[netip.Addr]struct{}
	ports  map[uint16]struct{}
	execed map[int]bool // pids with a kept successful exec
	drops  bool         // the trace dropped calls (budget)
	// The agent's exec of the sample (the root process's first exec) is
	// not the sample's behaviour: it only marks the path as executed.
	launchPID  int
	launchSeen bool
	kept       int
	failed     int
}

// Extract computes the argument features of a trace: one value per Schema
// column. It is deterministic, never fails, and bounds its work and memory
// whatever the trace holds (a hostile guest produced it). A nil trace gives
// all zeros.
func Extract(t *trace.Trace) Vector {
	x := &extractor{
		c:      make([]float64, len(schema)),
		procs:  map[int]*proc{},
		paths:  map[uint64]uint16{},
		progs:  map[string]struct{}{},
		hosts:  map[netip.Addr]struct{}{},
		ports:  map[uint16]struct{}{},
		execed: map[int]bool{},
	}
	if t == nil {
		return Vector(x.c)
	}
	x.launchPID = -1
	for _, p := range t.Summary.Processes {
		if p.PPID == 0 {
			x.launchPID = p.PID
			break
		}
	}
	if x.launchPID < 0 {
	first:
		for _, w := range t.Windows {
			for _, e := range w.Events {
				x.launchPID = e.PID
				break first
			}
		}
	}
	// Per-name counts are summed as saturating integers: the sum of
	// non-negative numbers saturated at a bound does not depend on the
	// order (map order is random), where float sums of huge counts would.
	var counted int64
	byFeature := map[int]int64{}
	dropped := 0.0
	for wi := range t.Windows {
		w := &t.Windows[wi]
		for name, n := range w.Counts {
			if n <= 0 {
				continue
			}
			counted = satAdd(counted, n)
			if f, ok := countFeatures[name]; ok {
				byFeature[f] = satAdd(byFeature[f], n)
			}
		}
		if w.Dropped > 0 {
			dropped += float64(w.Dropped)
		}
		for ei := range w.Events {
			x.event(&w.Events[ei])
		}
	}
	for f, n := range byFeature {
		x.c[f] = math.Min(float64(n), maxCountValue)
	}
	s := &t.Summary
	x.drops = dropped > 0 || s.Truncated || (s.Events > 0 && x.kept < s.Events)
	x.processes(s)

	events := float64(max(int64(s.Events), counted))
	x.c[fRunEvents] = math.Min(events, maxCountValue)
	x.c[fRunKept] = float64(x.kept)
	if events > 0 {
		x.c[fRunDropped] = math.Min(1, math.Max(0, dropped/events))
	}
	if s.DurationNs > 0 {
		x.c[fRunDuration] = float64(s.DurationNs) / 1e9
	}
	x.c[fRunTimeout] = b2f(s.Outcome == trace.OutcomeTimeout)
	x.c[fRunSignaled] = b2f(s.Outcome == trace.OutcomeSignaled)
	if x.kept > 0 {
		x.c[fErrRatio] = float64(x.failed) / float64(x.kept)
	}
	x.c[fExecDistinct] = float64(len(x.progs))
	x.c[fNetHosts] = float64(len(x.hosts))
	x.c[fNetPorts] = float64(len(x.ports))
	for _, fl := range x.paths {
		if fl&pWrote != 0 {
			x.c[fFileWritten]++
		}
		if fl&pRead != 0 && fl&pWrote == 0 {
			x.c[fFileRead]++
		}
	}

	for i, f := range schema {
		v := x.c[i]
		if math.IsNaN(v) || v < 0 {
			v = 0
		}
		switch f.Scale {
		case ScaleLog:
			v = math.Log1p(math.Min(v, maxCountValue))
		case ScaleBool:
			v = b2f(v > 0)
		case ScaleRatio:
			v = math.Min(v, 1)
		}
		x.c[i] = v
	}
	return Vector(x.c)
}

// satAdd adds a non-negative n to a non-negative sum, saturating.
func satAdd(sum int64, n int) int64 {
	if int64(n) > math.MaxInt64-sum {
		return math.MaxInt64
	}
	return sum + int64(n)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (x *extractor) proc(pid int) *proc {
	if p, ok := x.procs[pid]; ok {
		return p
	}
	if len(x.procs) >= maxPIDs {
		return &proc{} // not remembered
	}
	p := &proc{}
	x.procs[pid] = p
	return p
}

func (x *extractor) setFD(pid, fd int, e fdEntry) {
	if fd < 0 {
		return
	}
	p := x.proc(pid)
	if _, ok := p.fds[fd]; !ok {
		if x.nfd >= maxFDEntries {
			return
		}
		x.nfd++
	}
	if p.fds == nil {
		p.fds = map[int]fdEntry{}
	}
	p.fds[fd] = e
}

func (x *extractor) fd(pid int, fd *int) (fdEntry, bool) {
	if fd == nil {
		return fdEntry{}, false
	}
	p, ok := x.procs[pid]
	if !ok {
		return fdEntry{}, false
	}
	e, ok := p.fds[*fd]
	return e, ok
}

func (x *extractor) closeFD(pid int, fd *int) {
	if fd != nil {
		x.closeFDn(pid, *fd)
	}
}

func (x *extractor) closeFDn(pid, fd int) {
	if p, ok := x.procs[pid]; ok {
		if _, had := p.fds[fd]; had {
			delete(p.fds, fd)
			x.nfd--
		}
	}
}

func (x *extractor) fork(parent, child int) {
	if child <= 0 || child == parent {
		return
	}
	pp, ok := x.procs[parent]
	if !ok {
		return
	}
	cp := x.proc(child)
	cp.cwd = pp.cwd
	if len(pp.fds) <= maxForkCopy {
		for fd, e := range pp.fds {
			x.setFD(child, fd, e)
		}
		return
	}
	// Too many to copy: only the standard streams (which ones a bounded
	// copy of a map would keep is not deterministic).
	for _, fd := range []int{0, 1, 2} {
		if e, ok := pp.fds[fd]; ok {
			x.setFD(child, fd, e)
		}
	}
}

func hashPath(p string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(p))
	return h.Sum64()
}

// mark sets flags on a path and returns its previous flags; ok is false when
// the path is not remembered (bound reached).
func (x *extractor) mark(p string, fl uint16) (old uint16, ok bool) {
	if p == "" {
		return 0, false
	}
	k := hashPath(p)
	old, ok = x.paths[k]
	if !ok && len(x.paths) >= maxPaths {
		return 0, false
	}
	x.paths[k] = old | fl
	return old, true
}

func (x *extractor) pathOp(p string, op, pid int) {
	if c := classify(p, pid); c >= 0 {
		x.c[pathFeature(c, op)]++
	}
}

func (x *extractor) cwd(pid int) string {
	if p, ok := x.procs[pid]; ok {
		return p.cwd
	}
	return ""
}

func writeFlags(flags string) bool {
	if len(flags) > maxFlagsLen {
		flags = flags[:maxFlagsLen]
	}
	return strings.Contains(flags, "O_WRONLY") || strings.Contains(flags, "O_RDWR") || strings.Contains(flags, "O_CREAT") ||
		strings.Contains(flags, "O_TRUNC") || strings.Contains(flags, "O_APPEND")
}

// wrote records a write to the resolved path p.
func (x *extractor) wrote(p string, pid int) {
	x.pathOp(p, opWrite, pid)
	old, ok := x.mark(p, pWrote)
	if ok && old&pHidden == 0 && hidden(p) {
		x.paths[hashPath(p)] |= pHidden
		x.c[fFileHidden]++
	}
}

func (x *extractor) event(e *trace.Event) {
	x.kept++
	ok := e.Ret >= 0
	if e.Failed() {
		x.failed++
		if e.Err == "EACCES" || e.Err == "EPERM" {
			x.c[fErrAccess]++
		}
	}
	pid := e.PID
	switch e.Name {
	case "open", "openat", "openat2", "creat":
		if !ok {
			return
		}
		p := resolve(x.cwd(pid), e.Path)
		if e.Name == "creat" || writeFlags(e.Flags) {
			x.wrote(p, pid)
		} else {
			x.pathOp(p, opRead, pid)
			x.mark(p, pRead)
		}
		if e.Ret <= math.MaxInt32 {
			x.setFD(pid, int(e.Ret), fdEntry{path: p})
		}
	case "truncate", "mkdir", "mkdirat", "mknod", "mknodat":
		if ok {
			x.wrote(resolve(x.cwd(pid), e.Path), pid)
		}
	case "link", "linkat", "symlink", "symlinkat":
		if ok {
			x.wrote(resolve(x.cwd(pid), e.Path2), pid)
		}
	case "unlink", "unlinkat", "rmdir":
		if !ok {
			return
		}
		p := resolve(x.cwd(pid), e.Path)
		x.pathOp(p, opUnlink, pid)
		if old, ok := x.mark(p, 0); ok {
			if old&pWrote != 0 && old&pWroteDel == 0 {
				x.paths[hashPath(p)] |= pWroteDel
				x.c[fFileWrittenDel]++
			}
			if old&pExec != 0 && old&pExecDel == 0 {
				x.paths[hashPath(p)] |= pExecDel
				x.c[fFileExecDel]++
			}
		}
	case "chmod", "fchmodat", "fchmodat2", "chown", "lchown", "fchownat", "chown32", "lchown32":
		if ok {
			x.chmod(resolve(x.cwd(pid), e.Path), pid)
		}
	case "fchmod", "fchown", "fchown32":
		if fe, found := x.fd(pid, e.FD); ok && found {
			x.chmod(fe.path, pid)
		}
	case "rename", "renameat", "renameat2":
		if !ok {
			return
		}
		cwd := x.cwd(pid)
		from, to := resolve(cwd, e.Path), resolve(cwd, e.Path2)
		cf, ct := classify(from, pid), classify(to, pid)
		if cf >= 0 {
			x.c[pathFeature(cf, opRename)]++
		}
		if ct >= 0 && ct != cf {
			x.c[pathFeature(ct, opRename)]++
		}
		if old, found := x.mark(from, 0); found && old&pWrote != 0 {
			x.mark(to, pWrote)
		}
	case "chdir":
		if ok {
			if p := resolve(x.cwd(pid), e.Path); strings.HasPrefix(p, "/") {
				x.proc(pid).cwd = p
			}
		}
	case "fchdir":
		if fe, found := x.fd(pid, e.FD); ok && found && strings.HasPrefix(fe.path, "/") {
			x.proc(pid).cwd = fe.path
		}
	case "execve", "execveat":
		x.exec(e, pid)
	case "socket":
		if ok && e.Ret <= math.MaxInt32 {
			x.setFD(pid, int(e.Ret), fdEntry{sock: true})
		}
	case "accept", "accept4":
		if ok && e.Ret <= math.MaxInt32 {
			x.setFD(pid, int(e.Ret), fdEntry{sock: true})
		}
	case "connect":
		if e.FD != nil {
			x.setFD(pid, *e.FD, fdEntry{sock: true})
		}
		if fam, _, _ := parseAddr(e.Addr); e.Failed() && e.Err != "EINPROGRESS" && (fam == "inet" || fam == "inet6") {
			x.c[fNetConnFail]++
		}
		x.addr(e.Addr, true)
	case "sendto", "sendmsg":
		x.addr(e.Addr, false)
	case "bind":
		if e.FD != nil {
			x.setFD(pid, *e.FD, fdEntry{sock: true})
		}
		if fam, ap, okAddr := parseAddr(e.Addr); okAddr && (fam == "inet" || fam == "inet6") && ap.Addr().IsUnspecified() {
			x.c[fNetBindAny]++
		}
	case "dup", "dup2", "dup3":
		if !ok || e.Ret > math.MaxInt32 {
			return
		}
		src, found := x.fd(pid, e.FD)
		if !found {
			x.closeFDn(pid, int(e.Ret)) // the target now holds something unknown
			return
		}
		nfd := int(e.Ret)
		x.setFD(pid, nfd, src)
		if src.sock && nfd >= 0 && nfd <= 2 && *e.FD != nfd {
			x.c[fNetStdio]++
		}
	case "close":
		if ok {
			x.closeFD(pid, e.FD)
		}
	case "fork", "vfork", "clone", "clone3":
		if ok && e.Child > 0 {
			x.fork(pid, e.Child)
		}
	case "ptrace":
		if e.Failed() {
			x.c[fPrivPtrFail]++
		}
	}
}

func (x *extractor) chmod(p string, pid int) {
	x.pathOp(p, opChmod, pid)
	if old, ok := x.mark(p, 0); ok && old&pWrote != 0 && old&pWroteChmod == 0 {
		x.paths[hashPath(p)] |= pWroteChmod
		x.c[fFileWrittenChm]++
	}
}

// exec handles an execve/execveat event.
func (x *extractor) exec(e *trace.Event, pid int) {
	if e.Failed() {
		if e.Err == "EACCES" || e.Err == "EPERM" || e.Err == "ENOEXEC" {
			x.c[fExecDenied]++
		}
		return
	}
	if e.Ret != 0 {
		return
	}
	x.execed[pid] = true
	raw := e.Path
	if len(raw) > maxPathLen {
		raw = raw[:maxPathLen]
	}
	if !x.launchSeen && pid == x.launchPID {
		x.launchSeen = true
		x.mark(resolve(x.cwd(pid), raw), pExec)
		return
	}
	if raw == "" || strings.HasPrefix(raw, "/memfd:") || strings.HasPrefix(raw, "/dev/fd/") ||
		(strings.HasPrefix(raw, "/proc/") && strings.Contains(raw, "/fd/")) {
		x.c[fExecFileless]++
	}
	p := resolve(x.cwd(pid), raw)
	x.pathOp(p, opExec, pid)
	if old, ok := x.mark(p, pExec); ok && old&pWrote != 0 && old&pWroteExec == 0 {
		x.paths[hashPath(p)] |= pWroteExec
		x.c[fFileWrittenX]++
	}
	name := progName(p)
	if name == "" && len(e.Argv) > 0 {
		name = progName(e.Argv[0])
	}
	x.program(name, e.Argv)
	// A shell or interpreter whose stdin or stdout is a socket.
	if cat := x.categoryOf(name, e.Argv); cat == fExecShell || cat == fExecInterp {
		if p, ok := x.procs[pid]; ok && (p.fds[0].sock || p.fds[1].sock) {
			x.c[fNetShell] = 1
		}
	}
}

// categoryOf is the category of a program, through a wrapper.
func (x *extractor) categoryOf(name string, argv []string) int {
	if wrappers[name] {
		if w := wrapped(argv); w != "" {
			return category(w)
		}
	}
	return category(name)
}

// program counts one executed program (from an event or the process
// table).
func (x *extractor) program(name string, argv []string) {
	x.c[fExecTotal]++
	if name != "" && len(x.progs) < maxDistinct {
		x.progs[name] = struct{}{}
	}
	cats := []int{category(name)}
	if wrappers[name] {
		if w := wrapped(argv); w != "" {
			cats = append(cats, category(w))
			if len(x.progs) < maxDistinct {
				x.progs[w] = struct{}{}
			}
		}
	}
	for _, c := range cats {
		if c < 0 {
			continue
		}
		x.c[c]++
		if c == fExecShell && hasShellC(argv) {
			x.c[fExecShellC]++
		}
	}
	chmodArgv := argv
	if name != "chmod" && wrappers[name] {
		chmodArgv = nil
		if i := wrappedAt(argv); i > 0 && progName(argv[i]) == "chmod" {
			chmodArgv = argv[i:]
		}
	}
	if name == "chmod" || chmodArgv != nil && len(chmodArgv) > 0 && progName(chmodArgv[0]) == "chmod" {
		ex, sid := chmodMode(chmodArgv)
		if ex {
			x.c[fExecChmodX]++
		}
		if sid {
			x.c[fExecChmodS]++
		}
	}
	devNet, url, ip, decode := argvFlags(argv)
	for f, b := range map[int]bool{fExecDevNet: devNet, fExecURL: url, fExecIP: ip, fExecDecode: decode} {
		if b {
			x.c[f]++
		}
	}
}

// addr counts a destination address of a connect or sendto.
func (x *extractor) addr(a string, connect bool) {
	fam, ap, ok := parseAddr(a)
	if !ok {
		return
	}
	if connect {
		switch fam {
		case "inet":
			x.c[fNetConnInet]++
		case "inet6":
			x.c[fNetConnInet6]++
		case "unix":
			x.c[fNetConnUnix]++
			return
		}
	}
	if fam != "inet" && fam != "inet6" {
		return
	}
	ip := ap.Addr().Unmap()
	if connect {
		if ip.IsLoopback() {
			x.c[fNetConnLoop]++
		} else if !ip.IsUnspecified() {
			x.c[fNetConnRemote]++
		}
	}
	if ap.Port() == 53 {
		x.c[fNetDNS]++
	}
	if !ip.IsLoopback() && !ip.IsUnspecified() && len(x.hosts) < maxDistinct {
		x.hosts[ip.WithZone("")] = struct{}{}
	}
	if len(x.ports) < maxDistinct {
		x.ports[ap.Port()] = struct{}{}
	}
}

// parseAddr splits a tracer socket address ("inet 1.2.3.4:80", "inet6
// [::1]:22", "unix /run/x", "unix @name", "unix") into its family and, for
// inet and inet6, the address and port.
func parseAddr(a string) (fam string, ap netip.AddrPort, ok bool) {
	if len(a) > 256 {
		return "", ap, false
	}
	fam, rest, _ := strings.Cut(a, " ")
	switch fam {
	case "unix":
		return fam, ap, true
	case "inet", "inet6":
		ap, err := netip.ParseAddrPort(rest)
		if err != nil {
			return fam, ap, false
		}
		return fam, ap, true
	}
	return "", ap, false
}

// processes adds what the summary's process table says: counts, tree
// depth, and the programs of processes whose exec events were dropped.
func (x *extractor) processes(s *trace.Summary) {
	ps := s.Processes
	x.c[fProcCount] = float64(len(ps))
	if s.ProcessesDropped > 0 {
		x.c[fProcCount] += float64(s.ProcessesDropped)
	}
	byPID := make(map[int]int, len(ps))
	var threads int64
	for i, p := range ps {
		if _, dup := byPID[p.PID]; !dup {
			byPID[p.PID] = i
		}
		if p.Threads > 0 {
			threads = satAdd(threads, p.Threads)
		}
	}
	x.c[fProcThreads] = math.Min(float64(threads), maxCountValue)
	depth := make(map[int]int, len(ps))
	maxDepth := 0
	for _, p := range ps {
		// Walk up to a process of known depth, the root or the bound.
		var chain []int
		cur, d := p.PID, 0
		for len(chain) <= maxProcDepth {
			if k, ok := depth[cur]; ok {
				d = k
				break
			}
			chain = append(chain, cur)
			i, ok := byPID[cur]
			if !ok || ps[i].PPID == 0 || ps[i].PPID == cur {
				d = -1 // cur is a root (or its parent is unknown): depth 0
				break
			}
			cur = ps[i].PPID
		}
		for j := len(chain) - 1; j >= 0; j-- {
			d++
			if d > maxProcDepth {
				d = maxProcDepth
			}
			depth[chain[j]] = d
		}
		if dp := depth[p.PID]; dp > maxDepth {
			maxDepth = dp
		}
	}
	x.c[fProcDepth] = float64(maxDepth)

	// Programs of processes whose exec was not kept: only when calls were
	// dropped, and only when the process runs another program than its
	// parent (a fork keeps its parent's program in the table).
	if !x.drops {
		return
	}
	for _, p := range ps {
		if p.PPID == 0 || x.execed[p.PID] || p.Exe == "" {
			continue
		}
		i, ok := byPID[p.PPID]
		if !ok {
			continue
		}
		par := ps[i]
		if par.Exe == p.Exe && sameArgv(par.Argv, p.Argv) {
			continue
		}
		x.program(progName(resolve("", p.Exe)), p.Argv)
	}
}

func sameArgv(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
