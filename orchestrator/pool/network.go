package pool

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// Guest networks are opt-in twice: a slot has a network device only when
// its configuration says so (vm.Spec.Network; its clean state is made with
// that device), and a job gets such a slot only when it asks for the same
// mode (jobs.Options.Network). A job without network never runs on a slot
// with one, and the other way round.

// matches is the one rule of which slot takes which job: the slot's
// network mode is the job's, and the slot has every tag the job asks for
// (jobs.Options.Tags). accepts, fits and the wait reasons (waiting.go) all
// apply it; the network argument of the store's ClaimNextFor is its first
// half, cut in the queue index so jobs of another mode are not decoded.
func matches(network string, tags []string, j jobs.Job) bool {
	return networkMatches(network, j) && tagsMatch(tags, j)
}

func networkMatches(network string, j jobs.Job) bool { return network == j.Options.Network }

func tagsMatch(tags []string, j jobs.Job) bool { return j.Options.TagsIn(tags) }

// accepts reports whether the slot may run j now (matches). It reads the
// spec of the slot's VM (the devices its clean state really has), so only
// the slot's worker may call it (ClaimNext's filter).
func (s *Slot) accepts(j jobs.Job) bool {
	return matches(s.Spec().Network, s.tags(), j)
}

// fits reports whether the slot's definition suits j (matches), whatever
// its state; safe from any goroutine.
func (s *Slot) fits(j jobs.Job) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return matches(s.def.Network, s.def.Tags, j)
}

// tags returns the slot's current tags (they change in place on reload).
func (s *Slot) tags() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.def.Tags)
}

// CheckNetwork refuses, at submission, a job whose network mode no
// slot of the pool has: it would wait in the queue forever. The error wraps
// jobs.ErrInvalid (400 through the API). opts must be normalized. With no
// slots at all the job is accepted and waits.
func (p *Pool) CheckNetwork(opts jobs.Options) error {
	if opts.Network == jobs.NetworkUser && !p.cfg.AllowUserNetwork {
		return fmt.Errorf("%w: %w", jobs.ErrInvalid, ErrUserNetworkOff)
	}
	return p.checkAvailable(opts)
}

// checkAvailable is CheckNetwork's look at the slots.
func (p *Pool) checkAvailable(opts jobs.Options) error {
	slots := p.Slots()
	if len(slots) == 0 {
		return nil // no pool (yet): nothing to judge by
	}
	have := map[string]int{}
	for _, s := range slots {
		have[vm.NetworkName(s.network())]++
	}
	want := vm.NetworkName(opts.Network)
	if have[want] > 0 {
		return nil
	}
	var parts []string
	for mode, n := range have {
		parts = append(parts, fmt.Sprintf("%d with network %s", n, mode))
	}
	sort.Strings(parts)
	if opts.Network == jobs.NetworkNone {
		return fmt.Errorf("%w: no slot without network in this orchestrator's pool (%s): submit with the network of a slot, or configure a slot with no network",
			jobs.ErrInvalid, strings.Join(parts, ", "))
	}
	return fmt.Errorf("%w: network %q requested, but no slot of this orchestrator's pool has network %s (%s); an operator must configure one (slot setting network: %s)",
		jobs.ErrInvalid, want, want, strings.Join(parts, ", "), want)
}
