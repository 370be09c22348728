package daemon

// Live reload of the configuration file.

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/vm"
)

// applyPool brings the live pool to the effective pool of cfg: new slots
// start, slots gone are drained and removed, slots whose memory or network
// changed are drained and rebuilt. Tags change in place.
func (d *Daemon) applyPool(base []SlotConfig, origin string) {
	d.pool.mu.Lock()
	defer d.pool.mu.Unlock()
	d.pool.base, d.pool.baseOrigin = base, origin
	eff, origins := d.pool.overlay.apply(base, origin)
	for _, s := range slices.Clone(d.slots) {
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
			d.log.Info("pool change applied", "change", "remove", "slot", s.name, "by", "reload")
			continue
		}
		c := eff[i]
		s.mu.Lock()
		s.origin = origins[c.Name]
		if !slices.Equal(s.def.Tags, c.Tags) {
			s.def.Tags = c.Tags
			d.log.Info("pool change applied", "change", "tags", "slot", s.name, "tags", c.Tags, "by", "reload")
		}
		s.mu.Unlock()
		if needsRebuild(cur, c) {
			s.requestRespec(c, "definition changed: "+defChange(cur, c)+"; drain and rebuild")
			d.log.Info("pool change applied", "change", "rebuild", "slot", s.name, "what", defChange(cur, c), "by", "reload")
		}
	}
	for _, c := range eff {
		if d.findLocked(c.Name) != nil {
			continue // a slot still being removed keeps its name until it is gone
		}
		if !d.runningLocked() {
			continue
		}
		if _, err := d.addSlotLocked(c, origins[c.Name], "added by configuration reload"); err != nil {
			d.log.Error("pool change failed", "change", "add", "slot", c.Name, "err", err)
			continue
		}
		d.log.Info("pool change applied", "change", "add", "slot", c.Name, "memory_mib", c.MemoryMiB, "network", vm.NetworkName(c.Network), "by", "reload")
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
func (d *Daemon) watchConfig(ctx context.Context) {
	if d.cfg.Reload == nil || d.cfg.ConfigFile == "" {
		return
	}
	every := d.cfg.ReloadPoll
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
			st, err := stampOf(d.cfg.ConfigFile)
			d.pool.reloadMu.Lock()
			changed := err == nil && st != d.pool.fileStamp
			if err != nil && d.pool.reloadErr == "" {
				d.pool.reloadErr, d.pool.reloadErrAt = fmt.Sprintf("%s: %v", d.cfg.ConfigFile, err), time.Now().UTC()
				d.log.Error("configuration file unreadable; configuration kept", "file", d.cfg.ConfigFile, "err", err)
			}
			d.pool.reloadMu.Unlock()
			if changed {
				_ = d.Reload("file changed")
			}
		}
	}
}

// Reload re-reads the configuration (Config.Reload) and applies what can
// change at run time: the pool and QuarantineAfter. An invalid
// configuration is logged and kept as the health's reload error; the
// running configuration stays.
func (d *Daemon) Reload(why string) error {
	if d.cfg.Reload == nil {
		return fmt.Errorf("%w: no configuration file", ErrConfigWatch)
	}
	d.pool.reloadMu.Lock()
	defer d.pool.reloadMu.Unlock()
	if st, err := stampOf(d.cfg.ConfigFile); err == nil {
		d.pool.fileStamp = st
	}
	now := time.Now().UTC()
	fail := func(err error) error {
		d.pool.reloadErr, d.pool.reloadErrAt = err.Error(), now
		for _, line := range strings.Split(err.Error(), "\n") { // one log line per problem
			d.log.Error("configuration reload failed; running configuration kept", "why", why, "file", d.cfg.ConfigFile, "err", line)
		}
		return fmt.Errorf("%w: %w", ErrConfigWatch, err)
	}
	cfg, err := d.cfg.Reload()
	if err != nil {
		return fail(err)
	}
	if err := cfg.setDefaults(); err != nil {
		return fail(err)
	}
	base, origin, err := basePool(cfg)
	if err != nil {
		return fail(err)
	}
	base = append(base, d.hostSlots()...) // issue 16 hook: hosts apply at start (a change of [[pool.host]] needs a restart)
	d.pool.reloadErr, d.pool.reloadErrAt, d.pool.lastReload = "", time.Time{}, now
	d.log.Info("configuration reloaded", "why", why, "file", d.cfg.ConfigFile, "slots", len(base))
	qa := cfg.QuarantineAfter
	if qa <= 0 {
		qa = DefaultQuarantineAfter
	}
	if old := d.pool.quarantineAfter.Swap(int64(qa)); old != int64(qa) {
		d.log.Info("configuration change applied", "setting", "quarantine_after", "from", old, "to", qa)
	}
	need := restartOnly(d.cfg, cfg)
	var msgs []string
	for _, f := range need {
		msg := fmt.Sprintf("configuration change to %s needs a restart; the running value is kept", f)
		if !slices.Contains(d.pool.restartNeeded, msg) {
			d.log.Warn("configuration change needs a restart; running value kept", "setting", f) // once, not at every reload
		}
		msgs = append(msgs, msg)
	}
	d.pool.restartNeeded = msgs
	d.applyPool(base, origin)
	return nil
}

// restartOnly names the settings that differ between the running and the
// reloaded configuration but apply only at start.
func restartOnly(old, new Config) []string {
	var out []string
	add := func(name string, changed bool) {
		if changed {
			out = append(out, name)
		}
	}
	add("data_dir", old.DataDir != new.DataDir)
	add("listen", old.Listen != new.Listen)
	add("libvirt", old.LibvirtURI != new.LibvirtURI)
	add("image_dir", old.ImageDir != new.ImageDir)
	add("accel", old.Accel != new.Accel)
	add("plugin_dir", old.PluginDir != new.PluginDir)
	add("model_dir", old.ModelDir != new.ModelDir)
	add("storage.max_sample", old.MaxSample != new.MaxSample)
	add("storage.max_artifact_size", old.MaxArtifactBytes != new.MaxArtifactBytes)
	add("storage.min_free", old.MinFreeBytes != new.MinFreeBytes)
	add("storage.retain_*", old.Retention != new.Retention)
	add("timeouts", old.Timeouts != new.Timeouts || old.StepGrace != new.StepGrace || old.PluginCallTimeout != new.PluginCallTimeout)
	add("fusion", old.Fusion != new.Fusion)
	return out
}

// --- views ---

func notifyHUP() chan os.Signal {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGHUP)
	return c
}

func stopHUP(c chan os.Signal) { signal.Stop(c) }
