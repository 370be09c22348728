package daemon

// Reload of the plugins without a restart, and SIGHUP.

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/plugins/host"
)

// ReloadPlugins re-reads plugins.json and applies it (host.Manager.Reload):
// jobs in progress keep the plugins they started with.
func (d *Daemon) ReloadPlugins(ctx context.Context) (host.ReloadReport, error) {
	if d.plugins == nil {
		return host.ReloadReport{}, fmt.Errorf("%w: this orchestrator runs without plugins", api.ErrUnavailable)
	}
	rep, err := d.plugins.Reload(ctx)
	if err != nil {
		d.log.Error("plugin reload failed; running plugins kept", "err", err)
		return rep, fmt.Errorf("%w: %w", api.ErrConflict, err)
	}
	for _, p := range rep.Problems {
		d.log.Warn("plugin unavailable after reload", "problem", p)
	}
	return rep, nil
}

// watchHUP handles SIGHUP until ctx ends: it reloads the plugins and,
// when the orchestrator was started with a configuration file, the file.
// What cannot be reloaded is logged; a SIGHUP never stops the
// orchestrator (hup is installed at the start of Serve, so a signal that
// arrives while it starts waits here).
func (d *Daemon) watchHUP(ctx context.Context, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		d.log.Info("SIGHUP: reloading plugins and configuration")
		if rep, err := d.ReloadPlugins(ctx); err == nil {
			d.log.Info("SIGHUP: plugins reloaded", "added", rep.Added, "replaced", rep.Replaced, "removed", rep.Removed,
				"kept", len(rep.Kept), "problems", len(rep.Problems))
		}
		if d.cfg.Reload == nil || d.cfg.ConfigFile == "" {
			d.log.Info("SIGHUP: no configuration file to reload (started without --config); flags and defaults apply until a restart")
			continue
		}
		_ = d.Reload("SIGHUP")
	}
}

// pluginProblems lists the refused and failed plugins for the health.
func (d *Daemon) pluginProblems() []string {
	if d.plugins == nil {
		return nil
	}
	var out []string
	for _, st := range d.plugins.List() {
		if st.State == host.StateRefused || st.State == host.StateFailed {
			out = append(out, fmt.Sprintf("%s: %s: %s", st.Name, st.State, st.LastError))
		}
	}
	return out
}

func notifyHUP() chan os.Signal {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGHUP)
	return c
}

func stopHUP(c chan os.Signal) { signal.Stop(c) }
