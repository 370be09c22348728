package pool

// Why queued jobs wait: the reasons `status` shows for a queued job and
// `health` for jobs no slot can take.

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// maxQueueScan bounds how many queued jobs one health or status answer
// reads.
const maxQueueScan = 1000

// noSlotReason says why no slot of slots can take j now or after its
// current work, or "" when one can: no slot of the job's network mode,
// none with its tags, or every suitable slot drained, quarantined, broken
// or being removed.
func noSlotReason(j jobs.Job, slots []*Slot) string {
	if len(slots) == 0 {
		return "the pool has no slots"
	}
	var netOK, fit []*Slot
	for _, s := range slots {
		if networkMatches(s.network(), j) {
			netOK = append(netOK, s)
		}
	}
	if len(netOK) == 0 {
		return "no slot accepts network=" + vm.NetworkName(j.Options.Network)
	}
	for _, s := range netOK {
		if tagsMatch(s.tags(), j) {
			fit = append(fit, s)
		}
	}
	if len(fit) == 0 {
		what := fmt.Sprintf("tag %s", j.Options.Tags[0])
		if len(j.Options.Tags) > 1 {
			what = "all of the tags " + strings.Join(j.Options.Tags, ",")
		}
		if len(netOK) < len(slots) {
			return fmt.Sprintf("no slot with network=%s has %s", vm.NetworkName(j.Options.Network), what)
		}
		return "no slot has " + what
	}
	var out []string
	for _, s := range fit {
		if s.serviceable() {
			return ""
		}
		s.mu.Lock()
		st := s.state
		switch {
		case s.remove:
			st = "being removed"
		case s.drain:
			st = "drained"
		case s.quarantined:
			st = SlotQuarantined
		}
		s.mu.Unlock()
		out = append(out, s.name+" "+st)
	}
	return "every slot that can take it is out of service (" + strings.Join(out, ", ") + ")"
}

// WaitReason says why a queued job has not started: no slot can take it,
// or the jobs ahead of it and the slots busy.
func (p *Pool) WaitReason(j jobs.Job) string {
	slots := p.Slots()
	if r := noSlotReason(j, slots); r != "" {
		return r
	}
	ahead := 0
	if q, err := p.cfg.Store.QueuedJobs(maxQueueScan); err == nil {
		for _, o := range q {
			if o.ID == j.ID {
				break
			}
			ahead++
		}
	}
	busy, preparing, idle := 0, 0, 0
	for _, s := range slots {
		if !s.fits(j) || !s.serviceable() {
			continue
		}
		switch s.current() {
		case SlotBusy, SlotRestoring:
			busy++
		case SlotPreparing:
			preparing++
		case SlotIdle:
			idle++
		}
	}
	parts := []string{plural(ahead, "job", "jobs") + " ahead"}
	parts = append(parts, plural(busy, "slot", "slots")+" busy")
	if preparing > 0 {
		parts = append(parts, plural(preparing, "slot", "slots")+" preparing a clean state")
	}
	if idle > 0 && ahead == 0 {
		parts = append(parts, "being claimed")
	}
	return strings.Join(parts, ", ")
}

// StuckReasons groups the queued jobs no slot can take by the reason, for
// health ("2 queued jobs cannot start: no slot accepts network=user").
func (p *Pool) StuckReasons() []string {
	q, err := p.cfg.Store.QueuedJobs(maxQueueScan)
	if err != nil || len(q) == 0 {
		return nil
	}
	slots := p.Slots()
	count := map[string]int{}
	for _, j := range q {
		if r := noSlotReason(j, slots); r != "" {
			count[r]++
		}
	}
	var out []string
	for r, n := range count {
		out = append(out, fmt.Sprintf("%s cannot start: %s", plural(n, "queued job", "queued jobs"), r))
	}
	sort.Strings(out)
	return slices.Clip(out)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
