package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

// GC applies a retention policy to the store (see store.GC). Zero limits in
// p take the configured Retention's, so an empty policy applies the
// configuration; p.Compact is used as given.
func (d *Daemon) GC(ctx context.Context, ap api.Policy) (api.GCReport, error) {
	p := store.Policy(ap)
	if err := p.Validate(); err != nil {
		return api.GCReport{}, err
	}
	if p.MaxAge == 0 {
		p.MaxAge = d.cfg.Retention.MaxAge
	}
	if p.MaxBytes == 0 {
		p.MaxBytes = d.cfg.Retention.MaxBytes
	}
	rep, err := d.store.GC(ctx, p)
	if err != nil {
		return api.GCReport(rep), fmt.Errorf("gc: %w", err)
	}
	return api.GCReport(rep), nil
}

// gcLoop applies the configured retention every interval until ctx ends.
// Even without limits a GC is worthwhile: it sweeps files left behind by
// crashes and samples whose submission never made a job.
func (d *Daemon) gcLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := d.GC(ctx, api.Policy{}); err != nil && ctx.Err() == nil {
			d.log.Error("periodic gc failed", "err", err)
		}
	}
}

// checkFreeSpace refuses new work with api.ErrUnavailable while the data
// directory's file system has less than MinFreeBytes free.
func (d *Daemon) checkFreeSpace() error {
	if d.cfg.MinFreeBytes < 0 {
		return nil
	}
	free, err := d.store.FreeBytes()
	if err != nil {
		// Not knowing is no reason to refuse; the write fails if the disk is full.
		d.log.Warn("free space check failed", "err", err)
		return nil
	}
	if free < uint64(d.cfg.MinFreeBytes) {
		d.log.Warn("submission refused: disk space low", "free", free, "min_free", d.cfg.MinFreeBytes, "data_dir", d.cfg.DataDir)
		return fmt.Errorf("%w: only %d MiB free on the data directory's file system, below the minimum of %d MiB; "+
			"delete old jobs (scalemalnet gc --max-age ...) or free disk space", api.ErrUnavailable, free>>20, d.cfg.MinFreeBytes>>20)
	}
	return nil
}
