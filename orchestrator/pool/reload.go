package pool

// Live reload of the configuration file.

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// applyPool brings the live pool to the effective pool of cfg: new slots
// start, slots gone are drained and removed, slots whose memory or network
// changed are drained and rebuilt. Tags change in place.
func (p *Pool) applyPool(base []SlotConfig, origin string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.base, p.baseOrigin = base, origin
	eff, origins := p.overlay.apply(base, origin)
	for _, s := range slices.Clone(p.slots) {
		s.mu.Lock()
		removing, cur := s.remove, s.def
		if s.respec != nil {
			cur = *s.respec
		}
		s.mu.Unlock()
		if removing {
			continue
		}
		i := slices.IndexFunc(eff, func(c SlotConfig) bool { return c.Name == s.name })
		if i < 0 {
			s.requestRemove("no longer in the configuration")
			p.log.Info("pool change applied", "change", "remove", "slot", s.name, "by", "reload")
			continue
		}
		c := eff[i]
		s.mu.Lock()
		s.origin = origins[c.Name]
		if !slices.Equal(s.def.Tags, c.Tags) {
			s.def.Tags = c.Tags
			p.log.Info("pool change applied", "change", "tags", "slot", s.name, "tags", c.Tags, "by", "reload")
		}
		s.mu.Unlock()
		if needsRebuild(cur, c) {
			s.requestRespec(c, "definition changed: "+defChange(cur, c)+"; drain and rebuild")
			p.log.Info("pool change applied", "change", "rebuild", "slot", s.name, "what", defChange(cur, c), "by", "reload")
		}
	}
	for _, c := range eff {
		if p.findLocked(c.Name) != nil {
			continue // a slot still being removed keeps its name until it is gone
		}
		if !p.runningLocked() {
			continue
		}
		if _, err := p.addSlotLocked(c, origins[c.Name], "added by configuration reload"); err != nil {
			p.log.Error("pool change failed", "change", "add", "slot", c.Name, "err", err)
			continue
		}
		p.log.Info("pool change applied", "change", "add", "slot", c.Name, "memory_mib", c.MemoryMiB, "network", vm.NetworkName(c.Network), "by", "reload")
	}
}

// --- configuration reload ---

type fileStamp struct {
	size    int64
	modTime time.Time
}

func stampOf(path string) (fileStamp, error) {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{st.Size(), st.ModTime()}, nil
}

// watchConfig reloads the configuration file when its size or modification
// time changes, until ctx ends (SIGHUP: watchHUP).
func (p *Pool) watchConfig(ctx context.Context) {
	if p.cfg.Reload == nil || p.cfg.ConfigFile == "" {
		return
	}
	every := p.cfg.ReloadPoll
	if every <= 0 {
		every = 2 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			st, err := stampOf(p.cfg.ConfigFile)
			p.reloadMu.Lock()
			changed := err == nil && st != p.fileStamp
			if err != nil && p.reloadErr == "" {
				p.reloadErr, p.reloadErrAt = fmt.Sprintf("%s: %v", p.cfg.ConfigFile, err), time.Now().UTC()
				p.log.Error("configuration file unreadable; configuration kept", "file", p.cfg.ConfigFile, "err", err)
			}
			p.reloadMu.Unlock()
			if changed {
				_ = p.Reload("file changed")
			}
		}
	}
}

// Reload re-reads the configuration (Config.Reload) and applies what can
// change at run time: the pool and QuarantineAfter. An invalid
// configuration is logged and kept as the health's reload error; the
// running configuration stays.
func (p *Pool) Reload(why string) error {
	if p.cfg.Reload == nil {
		return fmt.Errorf("%w: no configuration file", ErrConfigWatch)
	}
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	if st, err := stampOf(p.cfg.ConfigFile); err == nil {
		p.fileStamp = st
	}
	now := time.Now().UTC()
	fail := func(err error) error {
		p.reloadErr, p.reloadErrAt = err.Error(), now
		for _, line := range strings.Split(err.Error(), "\n") { // one log line per problem
			p.log.Error("configuration reload failed; running configuration kept", "why", why, "file", p.cfg.ConfigFile, "err", line)
		}
		return fmt.Errorf("%w: %w", ErrConfigWatch, err)
	}
	cfg, err := p.cfg.Reload()
	if err != nil {
		return fail(err)
	}
	base, origin := cfg.Base, cfg.BaseOrigin
	p.reloadErr, p.reloadErrAt, p.lastReload = "", time.Time{}, now
	p.log.Info("configuration reloaded", "why", why, "file", p.cfg.ConfigFile, "slots", len(base))
	qa := cfg.QuarantineAfter
	if qa <= 0 {
		qa = DefaultQuarantineAfter
	}
	if old := p.quarantineAfter.Swap(int64(qa)); old != int64(qa) {
		p.log.Info("configuration change applied", "setting", "quarantine_after", "from", old, "to", qa)
	}
	need := cfg.RestartNeeded
	var msgs []string
	for _, f := range need {
		msg := fmt.Sprintf("configuration change to %s needs a restart; the running value is kept", f)
		if !slices.Contains(p.restartNeeded, msg) {
			p.log.Warn("configuration change needs a restart; running value kept", "setting", f) // once, not at every reload
		}
		msgs = append(msgs, msg)
	}
	p.restartNeeded = msgs
	p.applyPool(base, origin)
	return nil
}

// Reloaded is the configuration as re-read by Config.Reload: what the
// pool applies at run time, and the settings that changed but wait for a
// restart (shown by pool health).
type Reloaded struct {
	Base            []SlotConfig // BasePool of the new configuration
	BaseOrigin      string
	QuarantineAfter int
	RestartNeeded   []string
}

// ReloadError is the last configuration reload's error ("" when it went
// through), for the health.
func (p *Pool) ReloadError() string {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	return p.reloadErr
}
