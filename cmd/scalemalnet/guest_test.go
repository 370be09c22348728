package main

// The real guest on real VMs (issue 12): samples that need the Debian root
// filesystem (dynamically linked x86-64 and i386 programs, bash and python3
// scripts), a refused ARM ELF, and Windows programs under Wine with their
// API calls recorded. One orchestrator (the real binary, real libvirt and
// QEMU, the image `make image` builds) runs them all.

import (
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/internal/vmtest"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

// guestRun is one finished analysis: its job, report and trace.
type guestRun struct {
	job    jobs.Job
	report *report.Report
	trace  *trace.Trace
}

// analyse submits a sample and waits for its job to end.
func (o *orchestrator) analyse(t *testing.T, path, name string, opts jobs.Options, timeout time.Duration) guestRun {
	t.Helper()
	j, err := o.submit(path, name, opts)
	if err != nil {
		t.Fatalf("submit %s: %v", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	j, err = o.c.Watch(ctx, j.ID, 500*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("job %s (%s): %v", j.ID, name, err)
	}
	return o.collect(t, j)
}

// collect reads a finished job's report and trace.
func (o *orchestrator) collect(t *testing.T, j jobs.Job) guestRun {
	t.Helper()
	if j.State != jobs.Done {
		t.Fatalf("job %s (%s) ended %s: %s\nhistory: %s", j.ID, j.Sample.Name, j.State, j.Error, vmtest.HistoryNotes(j))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := o.c.Report(ctx, j.ID)
	if err != nil {
		t.Fatalf("report %s: %v", j.ID, err)
	}
	rc, err := o.c.Trace(ctx, j.ID)
	if err != nil {
		t.Fatalf("trace %s: %v", j.ID, err)
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		t.Fatalf("trace %s: %v", j.ID, err)
	}
	tr, err := trace.ReadJSONL(zr)
	if err != nil {
		t.Fatalf("trace %s: %v", j.ID, err)
	}
	return guestRun{job: j, report: rep, trace: tr}
}

func (g guestRun) eventsNamed(name string) []trace.Event {
	var out []trace.Event
	for _, e := range g.trace.Events() {
		if e.Name == name {
			out = append(out, e)
		}
	}
	return out
}

func (g guestRun) opened(path string) bool {
	for _, e := range g.trace.Events() {
		if (e.Name == "open" || e.Name == "openat") && e.Path == path {
			return true
		}
	}
	return false
}

func (g guestRun) requireExited0(t *testing.T) {
	t.Helper()
	s := g.trace.Summary
	if s.Outcome != trace.OutcomeExited || s.ExitCode != 0 {
		t.Fatalf("outcome %s exit %d error %q; output:\n%s", s.Outcome, s.ExitCode, s.Error, s.Stdout)
	}
}

// TestGuestLinuxSamples runs what the busybox guest could not: dynamically
// linked programs, i386 programs with named calls, scripts through their
// interpreters, and refuses an ARM ELF with its reason.
func TestGuestLinuxSamples(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	dir := filepath.Join(samplesDir, "guest")
	if _, err := os.Stat(filepath.Join(imageDir, "rootfs.squashfs")); err != nil {
		t.Fatalf("the image has no root filesystem (%v): build it with `make image` (vmimages/build.sh, ROOTFS=1)", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "dyn-hello")); err != nil {
		t.Fatalf("guest samples missing (%v): run `make samples`", err)
	}
	o := newOrchestrator(t, buildBinary(t), imageDir, 1)
	o.start()
	defer o.stop()
	opts := jobs.Options{Timeout: 60 * time.Second, Window: time.Second}
	const wait = 8 * time.Minute

	t.Run("dynamic x86-64 ELF", func(t *testing.T) {
		g := o.analyse(t, filepath.Join(dir, "dyn-hello"), "dyn-hello", opts, wait)
		g.requireExited0(t)
		s := g.trace.Summary
		if s.Format != "elf-x86_64" {
			t.Errorf("format %q, want elf-x86_64", s.Format)
		}
		if !strings.Contains(s.Stdout, "dyn-hello: PRETTY_NAME=\"Debian GNU/Linux 12") {
			t.Errorf("output %q: want the guest's os-release line", s.Stdout)
		}
		if !g.opened("/etc/os-release") {
			t.Errorf("no open of /etc/os-release in the trace")
		}
		loader := false
		for _, e := range g.trace.Events() {
			if strings.Contains(e.Path, "libc.so.6") {
				loader = true
			}
		}
		if !loader {
			t.Errorf("the dynamic loader's open of libc.so.6 is not in the trace")
		}
	})

	t.Run("i386 ELF has named calls", func(t *testing.T) {
		g := o.analyse(t, filepath.Join(dir, "i386-hello"), "i386-hello", opts, wait)
		g.requireExited0(t)
		if g.trace.Summary.Format != "elf-i386" {
			t.Errorf("format %q, want elf-i386", g.trace.Summary.Format)
		}
		i386, unnamed := 0, 0
		sawExec := false
		for _, e := range g.trace.Events() {
			if e.ABI == trace.ABII386 {
				i386++
			}
			if strings.HasPrefix(e.Name, "sys32_") {
				unnamed++
			}
			if e.ABI == trace.ABII386 && e.Name == "execve" && len(e.Argv) == 2 && e.Argv[1] == "from-i386" {
				sawExec = true
			}
		}
		if i386 < 20 || unnamed > 0 {
			t.Errorf("%d i386 calls, %d unnamed: want the program's calls under i386 names", i386, unnamed)
		}
		if !sawExec {
			t.Errorf("no i386 execve with its argv decoded")
		}
		found := false
		for _, e := range g.trace.Events() {
			if e.ABI == trace.ABII386 && (e.Name == "open" || e.Name == "openat") && e.Path == "/etc/hostname" {
				found = true
			}
		}
		if !found {
			t.Errorf("no i386 open of /etc/hostname with its path")
		}
	})

	t.Run("bash script", func(t *testing.T) {
		g := o.analyse(t, filepath.Join(dir, "script.sh"), "script.sh", opts, wait)
		g.requireExited0(t)
		s := g.trace.Summary
		if s.Format != "script" || len(s.Runner) == 0 || s.Runner[0] != "/bin/bash" {
			t.Errorf("format %q runner %q, want script through /bin/bash", s.Format, s.Runner)
		}
		if !strings.Contains(s.Stdout, "payload ran") || !strings.Contains(s.Stdout, "script.sh: bash 5.") {
			t.Errorf("output %q", s.Stdout)
		}
		if len(g.eventsNamed("execve")) < 3 {
			t.Errorf("want the script's child programs' execve calls")
		}
	})

	t.Run("python3 script", func(t *testing.T) {
		g := o.analyse(t, filepath.Join(dir, "script.py"), "script.py", opts, wait)
		g.requireExited0(t)
		s := g.trace.Summary
		if s.Format != "script" || len(s.Runner) == 0 || s.Runner[0] != "/usr/bin/python3" {
			t.Errorf("format %q runner %q", s.Format, s.Runner)
		}
		if !strings.Contains(s.Stdout, "script.py: python 3.11") {
			t.Errorf("output %q", s.Stdout)
		}
		if !g.opened("/etc/passwd") {
			t.Errorf("no open of /etc/passwd")
		}
	})

	// A sample must have room to write outside /tmp: the root overlay's
	// upper layer is guest RAM, and Wine's warm-up once filled it by
	// rewriting its prefix (vmimages/build.sh, .update-timestamp), so that
	// every write under / failed with ENOSPC.
	t.Run("room to write under /", func(t *testing.T) {
		script := filepath.Join(t.TempDir(), "room.sh")
		body := "#!/bin/sh\nset -e\n" +
			"dd if=/dev/zero of=/var/tmp/smn-room bs=1M count=64 2>/dev/null\n" +
			"echo 'smnroom:x:1234:1234::/nonexistent:/usr/sbin/nologin' >> /etc/passwd\n" +
			"df -k / | tail -1\necho room-ok\n"
		if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		g := o.analyse(t, script, "room.sh", opts, wait)
		g.requireExited0(t)
		if !strings.Contains(g.trace.Summary.Stdout, "room-ok") {
			t.Errorf("output %q", g.trace.Summary.Stdout)
		}
	})

	t.Run("ARM ELF refused with its reason", func(t *testing.T) {
		g := o.analyse(t, filepath.Join(dir, "arm-hello"), "arm-hello", opts, wait)
		s := g.trace.Summary
		if s.Outcome != trace.OutcomeError || !strings.Contains(s.Error, "ELF for ARM: this guest runs x86-64 and i386") {
			t.Fatalf("outcome %s error %q, want the ARM refusal", s.Outcome, s.Error)
		}
		if strings.Contains(s.Error, "no such file") {
			t.Errorf("a bare ENOENT: %q", s.Error)
		}
		if g.report.Outcome.Error == "" {
			t.Errorf("the report does not say why: %+v", g.report.Outcome)
		}
	})
}

// apiCalls counts a run's recorded Windows API calls by function name
// (every call counted in the windows, kept or not).
func (g guestRun) apiCalls() map[string]int {
	n := map[string]int{}
	for _, w := range g.trace.Windows {
		for name, c := range w.APICounts {
			if i := strings.LastIndexByte(name, '.'); i >= 0 {
				name = name[i+1:]
			}
			n[name] += c
		}
	}
	return n
}

// apiPath reports whether a kept call of fn names substr in its path or
// any argument (MoveFileExA's new name is its second argument).
func (g guestRun) apiPath(fn, substr string) bool {
	sub := strings.ToLower(substr)
	for _, c := range g.trace.APICalls() {
		if c.Func != fn {
			continue
		}
		if strings.Contains(strings.ToLower(c.Path), sub) {
			return true
		}
		for _, a := range c.Args {
			if strings.Contains(strings.ToLower(a), sub) {
				return true
			}
		}
	}
	return false
}

// TestGuestWindowsSamples runs the Windows test programs under Wine in the
// guest (its clean state taken after Wine's warm-up, the default), and
// checks that each one's API calls show its behaviour; the benign npm
// tools run to exit 0; a truncated PE, a crashing PE and a relay flood each
// end with a clear outcome and a bounded trace.
func TestGuestWindowsSamples(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	dir := filepath.Join(samplesDir, "windows")
	if _, err := os.Stat(filepath.Join(imageDir, "rootfs.squashfs")); err != nil {
		t.Fatalf("the image has no root filesystem (%v): build it with `make image`", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "runkey.exe")); err != nil {
		t.Fatalf("Windows samples missing (%v): run `make samples`", err)
	}
	o := newOrchestrator(t, buildBinary(t), imageDir, 2).withWarmWine()
	o.start()
	defer o.stop()
	opts := jobs.Options{Timeout: 90 * time.Second, Window: time.Second}
	const wait = 12 * time.Minute

	type check struct {
		file, export string
		format       string
		exit0        bool
		calls        []string          // functions that must be recorded
		paths        map[string]string // function -> substring of its path argument
	}
	cases := []check{
		{file: "runkey.exe", format: "pe-x86_64", exit0: true,
			calls: []string{"RegCreateKeyExA", "RegSetValueExA", "NtSetValueKey"},
			paths: map[string]string{"RegCreateKeyExA": `CurrentVersion\Run`}},
		{file: "ransom.exe", format: "pe-x86_64", exit0: true,
			calls: []string{"CreateFileA", "MoveFileExA", "WriteFile"},
			paths: map[string]string{"MoveFileExA": ".locked"}},
		// WriteProcessMemory fails under the ptrace tracer (Wine's
		// wineserver writes another process's memory through
		// PTRACE_ATTACH: docs/windows.md), so only the calls are checked.
		{file: "inject.exe", format: "pe-x86_64",
			calls: []string{"CreateProcessA", "OpenProcess", "VirtualAllocEx", "WriteProcessMemory"}},
		{file: "antidebug.exe", format: "pe-x86_64", exit0: true,
			calls: []string{"IsDebuggerPresent", "CheckRemoteDebuggerPresent", "Sleep"}},
		{file: "enumerate.exe", format: "pe-x86_64", exit0: true,
			calls: []string{"CreateToolhelp32Snapshot", "FindNextFileA"}},
		{file: "runkey32.exe", format: "pe-i386", exit0: true, calls: []string{"RegSetValueExA"}},
		{file: "smnrun.dll", export: "SmnRun", format: "pe-dll-x86_64", exit0: true, calls: []string{"LoadLibraryW"}},
		{file: "benign/esbuild.exe", format: "pe-x86_64", exit0: true},
		{file: "benign/7za.exe", format: "pe-x86_64", exit0: true},
	}
	// Submit everything first: two slots work through the queue.
	ids := map[string]string{}
	for _, c := range cases {
		o2 := opts
		o2.Export = c.export
		switch c.file {
		case "benign/esbuild.exe":
			o2.Args = []string{"--version"}
		case "benign/7za.exe":
			o2.Args = []string{"i"}
		}
		j, err := o.submit(filepath.Join(dir, c.file), filepath.Base(c.file), o2)
		if err != nil {
			t.Fatalf("submit %s: %v", c.file, err)
		}
		ids[c.file] = j.ID
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			j, err := o.c.Watch(ctx, ids[c.file], time.Second, nil)
			if err != nil {
				t.Fatal(err)
			}
			g := o.collect(t, j)
			s := g.trace.Summary
			if c.exit0 {
				g.requireExited0(t)
			}
			if s.Format != c.format {
				t.Errorf("format %q, want %q", s.Format, c.format)
			}
			if c.export != "" && !strings.Contains(strings.Join(s.Runner, " "), ","+c.export) {
				t.Errorf("runner %q does not call the export %s", s.Runner, c.export)
			}
			calls := g.apiCalls()
			if s.APICalls == 0 || len(calls) == 0 {
				t.Fatalf("no Windows API call recorded (output %q)", s.Stdout)
			}
			for _, fn := range c.calls {
				if calls[fn] == 0 {
					t.Errorf("%s not recorded; recorded %d distinct functions", fn, len(calls))
				}
			}
			for fn, sub := range c.paths {
				if !g.apiPath(fn, sub) {
					t.Errorf("no %s call with %q in its path", fn, sub)
				}
			}
			t.Logf("%s: %s exit %d, %d API calls (%d kept), %d syscalls, %d processes",
				c.file, s.Outcome, s.ExitCode, s.APICalls, s.APIKept, s.Events, len(s.Processes))
		})
	}
}

// TestGuestWindowsBadInput: a truncated PE, a PE that crashes and a program
// that floods the relay channel each end with a clear outcome and a
// bounded trace, and the slot goes on to the next job.
func TestGuestWindowsBadInput(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	dir := filepath.Join(samplesDir, "windows")
	if _, err := os.Stat(filepath.Join(dir, "flood.exe")); err != nil {
		t.Fatalf("Windows samples missing (%v): run `make samples`", err)
	}
	o := newOrchestrator(t, buildBinary(t), imageDir, 1).withWarmWine()
	o.start()
	defer o.stop()
	const wait = 10 * time.Minute

	t.Run("truncated PE", func(t *testing.T) {
		g := o.analyse(t, filepath.Join(dir, "truncated.exe"), "truncated.exe", jobs.Options{Timeout: 60 * time.Second}, wait)
		s := g.trace.Summary
		if s.Outcome == trace.OutcomeExited && s.ExitCode == 0 {
			t.Fatalf("a truncated PE ran to exit 0")
		}
		if !strings.Contains(s.Error, "Wine could not start it") && !strings.Contains(s.Error, "not a valid PE") {
			t.Errorf("outcome %s exit %d error %q: want Wine's refusal named", s.Outcome, s.ExitCode, s.Error)
		}
	})
	t.Run("crashing PE", func(t *testing.T) {
		g := o.analyse(t, filepath.Join(dir, "crash.exe"), "crash.exe", jobs.Options{Timeout: 60 * time.Second}, wait)
		s := g.trace.Summary
		if s.Outcome == trace.OutcomeExited && s.ExitCode == 0 {
			t.Fatalf("the crashing PE exited 0")
		}
		if s.Outcome == trace.OutcomeError {
			t.Fatalf("outcome error %q: a crash is the sample's outcome, not the sandbox's", s.Error)
		}
		t.Logf("crash.exe: %s exit %d signal %q, %d API calls", s.Outcome, s.ExitCode, s.Signal, s.APICalls)
	})
	t.Run("relay flood is bounded", func(t *testing.T) {
		g := o.analyse(t, filepath.Join(dir, "flood.exe"), "flood.exe", jobs.Options{Timeout: 40 * time.Second, Args: []string{"25"}}, wait)
		s := g.trace.Summary
		kept, counted := len(g.trace.APICalls()), 0
		for _, w := range g.trace.Windows {
			counted += w.APITotal()
		}
		if kept != s.APIKept || counted != s.APICalls || s.APICalls < 10_000 {
			t.Errorf("flood: %d calls counted (%d in the windows), %d kept (%d in the trace): want a flood, every call counted", s.APICalls, counted, s.APIKept, kept)
		}
		if kept > 200_000 || (s.APICalls > kept) != s.APITruncated {
			t.Errorf("%d of %d API calls kept, truncated %v: the budget (200,000) does not bound the trace", kept, s.APICalls, s.APITruncated)
		}
		t.Logf("flood.exe: %s, %d API calls counted, %d kept", s.Outcome, s.APICalls, s.APIKept)
	})
	t.Run("slot still serves", func(t *testing.T) {
		g := o.analyse(t, filepath.Join(dir, "antidebug.exe"), "antidebug.exe", jobs.Options{Timeout: 60 * time.Second}, wait)
		g.requireExited0(t)
	})
}
