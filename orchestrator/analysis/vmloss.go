package analysis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// Errors for a VM that went away during an analysis. The guest side of the
// session only sees its connection end (EOF); these say why.
var (
	// ErrVMStopped: the slot's VM is gone but the guest did not crash: its
	// QEMU process exited or was killed. An infrastructure failure: the
	// job is retried.
	ErrVMStopped = errors.New("the VM stopped unexpectedly (its QEMU process exited or was killed)")
	// ErrGuestCrashed: the guest kernel panicked (the agent, PID 1, died
	// with it) and the VM stopped. Caused by what ran in the guest: the job
	// fails without a retry.
	ErrGuestCrashed = errors.New("the guest kernel crashed and the agent (PID 1) died with it")
)

// explainVMLoss turns the failure of a step that talks to the guest into
// ErrVMStopped or ErrGuestCrashed when the slot's VM is no longer running,
// so that the job's reason says what happened instead of "EOF". Other
// errors are returned unchanged.
func (a *Runner) explainVMLoss(ctx context.Context, s *vm.Slot, err error) error {
	var se *StepError
	if err == nil || ctx.Err() != nil || !errors.As(err, &se) {
		return err
	}
	switch se.Step {
	case StepWaitAgent, StepSetTime, StepPushSample, StepRun, StepCollect:
	default:
		return err
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	// libvirt notices a QEMU that exited a moment after the guest's side
	// of the channel closed: give it a few seconds.
	name := s.Spec().Name
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		names, lerr := a.hypervisorOf(s).Domains(lctx, name) // the slot's host (issue 16)
		if lerr != nil {
			return err
		}
		running := false
		for _, n := range names {
			running = running || n == name
		}
		if !running {
			break
		}
		if time.Since(start) > 3*time.Second {
			return err // still running: the failure is something else
		}
	}
	// The kernel prints its panic on the serial console before the VM
	// resets; virtlogd may write it a moment after QEMU exited.
	var panicLine string
	for i := 0; i < 10 && panicLine == ""; i++ {
		if i > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		panicLine = consolePanic(s.ConsolePath())
	}
	if panicLine != "" {
		return &StepError{Step: se.Step, Err: fmt.Errorf("%w (console: %q); the session ended with: %w", ErrGuestCrashed, panicLine, se.Err)}
	}
	return &StepError{Step: se.Step, Err: fmt.Errorf("%w; the session ended with: %w", ErrVMStopped, se.Err)}
}

// consolePanic returns the kernel's panic line from the end of a console
// log, or "".
func consolePanic(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const tail = 16 << 10
	if st, err := f.Stat(); err == nil && st.Size() > tail {
		f.Seek(st.Size()-tail, 0)
	}
	b := make([]byte, tail)
	n, _ := f.Read(b)
	for _, line := range strings.Split(string(b[:n]), "\n") {
		if i := strings.Index(line, "Kernel panic"); i >= 0 {
			line = strings.TrimSpace(line[i:])
			if len(line) > 200 {
				line = line[:200]
			}
			return line
		}
	}
	return ""
}

// hypervisorOf is the hypervisor a slot's VM runs under: its remote host's
// (vm.Spec.Host) or the local one.
func (a *Runner) hypervisorOf(s *vm.Slot) vm.Hypervisor {
	if h := s.Spec().Host; h != "" && a.HostHypervisor != nil {
		return a.HostHypervisor(h)
	}
	return a.Hypervisor
}
