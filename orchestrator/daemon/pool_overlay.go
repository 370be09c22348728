package daemon

// The configured pool and the edits made through the API (pool.json).

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/scalemalnet/scalemalnet/internal/atomicfile"
)

// poolOverlay is the pool edits made through the API, persisted in
// <data-dir>/pool.json and applied on top of the configured pool at start
// and at every reload: Added slots are added (or replace a configured slot
// of the same name), Removed names are taken out of the configured pool.
type poolOverlay struct {
	Version int          `json:"version"`
	Added   []SlotConfig `json:"added,omitempty"`
	Removed []string     `json:"removed,omitempty"`
}

func (o *poolOverlay) empty() bool { return len(o.Added) == 0 && len(o.Removed) == 0 }

// apply returns the effective pool: base minus Removed, plus Added, with
// each slot's origin.
func (o *poolOverlay) apply(base []SlotConfig, baseOrigin string) ([]SlotConfig, map[string]string) {
	origin := map[string]string{}
	var out []SlotConfig
	for _, c := range base {
		if slices.Contains(o.Removed, c.Name) || slices.ContainsFunc(o.Added, func(a SlotConfig) bool { return a.Name == c.Name }) {
			continue
		}
		out = append(out, c)
		origin[c.Name] = baseOrigin
	}
	for _, a := range o.Added {
		out = append(out, a)
		origin[a.Name] = OriginAPI
	}
	return out, origin
}

func (d *Daemon) poolFile() string { return d.layout().PoolFile() }

func loadOverlay(path string) (poolOverlay, error) {
	var o poolOverlay
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return o, nil
	}
	if err != nil {
		return o, fmt.Errorf("%w: %w", ErrPoolFile, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return o, fmt.Errorf("%w: %s: %w (fix or delete it to use the configured pool)", ErrPoolFile, path, err)
	}
	for i := range o.Added {
		if err := o.Added[i].Normalize(256); err != nil {
			return o, fmt.Errorf("%w: %s: %w", ErrPoolFile, path, err)
		}
	}
	return o, nil
}

func saveOverlay(path string, o poolOverlay) error {
	if o.empty() {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %w", ErrPoolFile, err)
		}
		return nil
	}
	o.Version = 1
	b, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		return err
	}
	// fsync of the file before the rename and of the directory after it
	// (issue 13 finding 9): a crash leaves the old pool or the new one.
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("%w: %w", ErrPoolFile, err)
	}
	return nil
}

// basePool is the pool the configuration defines: Config.Pool, or Slots
// slots named slotN.
func basePool(cfg Config) ([]SlotConfig, string, error) {
	origin := cfg.PoolOrigin
	if len(cfg.Pool) == 0 {
		out := make([]SlotConfig, cfg.Slots)
		for i := range out {
			out[i] = SlotConfig{Name: fmt.Sprintf("slot%d", i), MemoryMiB: cfg.MemoryMiB}
		}
		if origin == "" {
			origin = OriginFlags
		}
		return out, origin, nil
	}
	if origin == "" {
		origin = OriginConfig
	}
	if len(cfg.Pool) > MaxSlots {
		return nil, "", fmt.Errorf("%w: %d slots, at most %d", ErrBadSlot, len(cfg.Pool), MaxSlots)
	}
	out := slices.Clone(cfg.Pool)
	seen := map[string]bool{}
	for i := range out {
		out[i].Tags = slices.Clone(out[i].Tags)
		if err := out[i].Normalize(cfg.MemoryMiB); err != nil {
			return nil, "", err
		}
		if seen[out[i].Name] {
			return nil, "", fmt.Errorf("%w: slot name %q used twice", ErrBadSlot, out[i].Name)
		}
		seen[out[i].Name] = true
	}
	return out, origin, nil
}
