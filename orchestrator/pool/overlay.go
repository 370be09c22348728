package pool

// The configured pool and the edits made through the API (pool.json).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/scalemalnet/scalemalnet/internal/atomicfile"
)

// poolOverlay is the pool edits made through the API, persisted in
// <data-dir>/pool.json and applied on top of the configured pool at start
// and at every reload: Added slots are added (or replace a configured slot
// of the same name), Removed names are taken out of the configured pool.
type poolOverlay struct {
	Version int
	Added   []SlotConfig
	Removed []string
}

// overlayVersion is the pool.json version written: 2 has the API's
// snake_case slot fields ("memory_mib"); version 1 files, with Go's field
// names ("MemoryMiB"), are still read.
const overlayVersion = 2

// overlaySlot is a slot in pool.json: the API's SlotRequest field names.
// LegacyMemoryMiB reads the "MemoryMiB" of version 1 files ("Name",
// "Network" and "Tags" match their snake_case names already, as
// encoding/json matches names case-insensitively).
type overlaySlot struct {
	Name            string   `json:"name"`
	MemoryMiB       int      `json:"memory_mib,omitempty"`
	LegacyMemoryMiB int      `json:"MemoryMiB,omitempty"`
	Network         string   `json:"network,omitempty"`
	Tags            []string `json:"tags,omitempty"`
}

type overlayJSON struct {
	Version int           `json:"version"`
	Added   []overlaySlot `json:"added,omitempty"`
	Removed []string      `json:"removed,omitempty"`
}

// MarshalJSON writes pool.json with the API's field names.
func (o poolOverlay) MarshalJSON() ([]byte, error) {
	v := overlayJSON{Version: o.Version, Removed: o.Removed}
	for _, a := range o.Added {
		v.Added = append(v.Added, overlaySlot{Name: a.Name, MemoryMiB: a.MemoryMiB, Network: a.Network, Tags: a.Tags})
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads both pool.json forms (see overlaySlot); unknown
// fields are errors.
func (o *poolOverlay) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var v overlayJSON
	if err := dec.Decode(&v); err != nil {
		return err
	}
	*o = poolOverlay{Version: v.Version, Removed: v.Removed}
	for _, a := range v.Added {
		if a.MemoryMiB == 0 {
			a.MemoryMiB = a.LegacyMemoryMiB
		}
		o.Added = append(o.Added, SlotConfig{Name: a.Name, MemoryMiB: a.MemoryMiB, Network: a.Network, Tags: a.Tags})
	}
	return nil
}

// conflicts names, one sentence each, the configured slots the overlay
// hides or replaces where the configuration's definition differs: a
// configuration change to them is not applied while pool.json holds them
// (shown as warnings by pool health).
func (o *poolOverlay) conflicts(base []SlotConfig) []string {
	var out []string
	for _, c := range base {
		if slices.Contains(o.Removed, c.Name) {
			out = append(out, fmt.Sprintf("slot %s is in the configuration but was removed through the API (pool.json): "+
				"the configuration's definition is not applied; \"pool add %s\" brings it back", c.Name, c.Name))
			continue
		}
		i := slices.IndexFunc(o.Added, func(a SlotConfig) bool { return a.Name == c.Name })
		if i >= 0 && needsRebuild(o.Added[i], c) || i >= 0 && !slices.Equal(o.Added[i].Tags, c.Tags) {
			out = append(out, fmt.Sprintf("slot %s: the configuration's definition is not applied (%s): "+
				"the slot was defined through the API (pool.json), which wins; \"pool remove %s\" then \"pool add %s\" "+
				"without options gives it back to the configuration", c.Name, defChange(o.Added[i], c), c.Name, c.Name))
		}
	}
	return out
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

func (p *Pool) poolFile() string { return p.cfg.Layout.PoolFile() }

func loadOverlay(path string) (poolOverlay, error) {
	var o poolOverlay
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return o, nil
	}
	if err != nil {
		return o, fmt.Errorf("%w: %w", ErrPoolFile, err)
	}
	if err := json.Unmarshal(b, &o); err != nil {
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
	o.Version = overlayVersion
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

// BasePool is the pool a configuration defines: defs, or n slots named
// slotN with memoryMiB each; origin "" says OriginConfig or OriginFlags.
func BasePool(defs []SlotConfig, n, memoryMiB int, origin string) ([]SlotConfig, string, error) {
	if len(defs) == 0 {
		out := make([]SlotConfig, n)
		for i := range out {
			out[i] = SlotConfig{Name: fmt.Sprintf("slot%d", i), MemoryMiB: memoryMiB}
		}
		if origin == "" {
			origin = OriginFlags
		}
		return out, origin, nil
	}
	if origin == "" {
		origin = OriginConfig
	}
	if len(defs) > MaxSlots {
		return nil, "", fmt.Errorf("%w: %d slots, at most %d", ErrBadSlot, len(defs), MaxSlots)
	}
	out := slices.Clone(defs)
	seen := map[string]bool{}
	for i := range out {
		out[i].Tags = slices.Clone(out[i].Tags)
		if err := out[i].Normalize(memoryMiB); err != nil {
			return nil, "", err
		}
		if seen[out[i].Name] {
			return nil, "", fmt.Errorf("%w: slot name %q used twice", ErrBadSlot, out[i].Name)
		}
		seen[out[i].Name] = true
	}
	return out, origin, nil
}
