package host

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"

	"github.com/scalemalnet/scalemalnet/plugins"
)

// ReloadReport says what a Reload changed, by plugin name.
type ReloadReport struct {
	Added    []string `json:"added,omitempty"`    // registered since the last start or reload
	Replaced []string `json:"replaced,omitempty"` // new checksum, path or configuration; or retried after refused/failed
	Removed  []string `json:"removed,omitempty"`  // no longer registered
	Kept     []string `json:"kept,omitempty"`     // unchanged, process left running
	// Problems are the plugins that are refused or failed after the
	// reload, "name: state: reason".
	Problems []string `json:"problems,omitempty"`
}

// Reload re-reads plugins.json and brings the running plugins to it
// without a restart: a newly registered plugin is started; one registered
// again (another checksum, path or configuration) is started from its new
// entry and its old process retired; one no longer registered is retired;
// a refused or failed plugin (built-ins included) is tried again; the
// others keep running untouched. A retired process is stopped once no Set
// holds it, so jobs in flight keep the plugins they started with.
//
// An unreadable plugins.json is an error and changes nothing.
func (m *Manager) Reload(ctx context.Context) (ReloadReport, error) {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	var rep ReloadReport
	var entries []Source
	registered := map[string]bool{}
	var notReg []string
	if m.cfg.Dir != "" {
		man, err := ReadManifest(m.cfg.Dir)
		if err != nil {
			return rep, err
		}
		for _, e := range man.Plugins {
			entries = append(entries, Source{Name: e.Name, Path: filepath.Join(m.cfg.Dir, e.Path), SHA256: e.SHA256, Config: e.Config})
			registered[filepath.Clean(e.Path)] = true
		}
		notReg = unregistered(m.cfg.Dir, man)
	}
	cur := map[string]*Plugin{}
	for _, p := range m.all() {
		cur[p.src.Name] = p
	}
	var next []*Plugin
	var toStart, toRetire []*Plugin
	seen := map[string]bool{}
	retry := func(p *Plugin) bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.state == StateRefused || p.state == StateFailed
	}
	for _, src := range m.cfg.Builtins {
		seen[src.Name] = true
		old := cur[src.Name]
		if old != nil && !retry(old) {
			next = append(next, old)
			rep.Kept = append(rep.Kept, src.Name)
			continue
		}
		p := &Plugin{m: m, src: src, state: StateNotLoaded, stderr: newTail(4096)}
		next, toStart = append(next, p), append(toStart, p)
		if old != nil {
			toRetire = append(toRetire, old)
			rep.Replaced = append(rep.Replaced, src.Name)
		}
	}
	for _, src := range entries {
		seen[src.Name] = true
		old := cur[src.Name]
		if old != nil && sameSource(old.src, src) && !retry(old) {
			next = append(next, old)
			rep.Kept = append(rep.Kept, src.Name)
			continue
		}
		p := &Plugin{m: m, src: src, state: StateNotLoaded, stderr: newTail(4096)}
		next, toStart = append(next, p), append(toStart, p)
		if old != nil {
			toRetire = append(toRetire, old)
			rep.Replaced = append(rep.Replaced, src.Name)
		} else {
			rep.Added = append(rep.Added, src.Name)
		}
	}
	for _, name := range notReg {
		seen[name] = true
		next = append(next, &Plugin{m: m, src: Source{Name: name, Path: filepath.Join(m.cfg.Dir, name)}, state: StateRefused,
			lastErr: fmt.Sprintf("%v: %s is in the plugin directory but not in %s (use `scalemalnet plugins register`)", ErrNotRegistered, name, ManifestFile)})
		if old := cur[name]; old != nil {
			toRetire = append(toRetire, old)
		}
	}
	for name, p := range cur {
		if !seen[name] {
			toRetire = append(toRetire, p)
			if p.src.SHA256 != "" {
				rep.Removed = append(rep.Removed, name)
			}
		}
	}
	var wg sync.WaitGroup
	for _, p := range toStart {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.start(ctx); err != nil {
				m.log.Warn("plugin not started", "plugin", p.src.Name, "err", err)
			}
		}()
	}
	wg.Wait()
	sort.SliceStable(next, func(i, j int) bool { return next[i].src.Name < next[j].src.Name })
	m.mu.Lock()
	m.plugins = next
	m.mu.Unlock()
	for _, p := range toRetire {
		if !p.retire() {
			m.mu.Lock()
			m.retired = append(m.retired, p)
			m.mu.Unlock()
		}
	}
	for _, p := range next {
		st := p.Status()
		if st.State == StateRefused || st.State == StateFailed {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %s: %s", st.Name, st.State, st.LastError))
		}
	}
	for _, l := range [][]string{rep.Added, rep.Replaced, rep.Removed, rep.Kept} {
		sort.Strings(l)
	}
	m.log.Info("plugins reloaded", "added", rep.Added, "replaced", rep.Replaced, "removed", rep.Removed, "kept", len(rep.Kept), "problems", len(rep.Problems))
	return rep, nil
}

func sameSource(a, b Source) bool {
	return a.Path == b.Path && a.SHA256 == b.SHA256 && bytes.Equal(bytes.TrimSpace(a.Config), bytes.TrimSpace(b.Config))
}

// retire marks p replaced and stops its process now (true), or when the
// last Set holding it is released (false).
func (p *Plugin) retire() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.retired = true
	if p.holds == 0 {
		p.stopLocked()
		return true
	}
	return false
}

// stopLocked ends the process; p.mu is held.
func (p *Plugin) stopLocked() {
	if p.client != nil {
		p.client.Kill()
		p.client = nil
	}
	if p.state == StateRunning {
		p.state = StateDead
	}
}

// A Set is the plugins as they were when a job took it (Manager.Acquire):
// a reload during the job does not change them, and a plugin it replaced
// keeps its process until every Set holding it is released. If such a
// retired plugin's process dies during the job, it is not restarted (its
// binary may have been replaced on disk): its calls fail with ErrReplaced.
type Set struct {
	plugins []*Plugin
	once    sync.Once
}

// Acquire returns the current plugins as a Set; Release it when the job
// is done with them.
func (m *Manager) Acquire() *Set {
	ps := m.all()
	for _, p := range ps {
		p.mu.Lock()
		p.holds++
		p.mu.Unlock()
	}
	return &Set{plugins: ps}
}

// Plugins returns the Set's plugins of a kind that have been started (so
// their Info is known), in name order.
func (s *Set) Plugins(kind plugins.Kind) []*Plugin {
	return filterKind(s.plugins, kind)
}

// Release lets retired plugins of the Set stop. It may be called more than
// once.
func (s *Set) Release() {
	s.once.Do(func() {
		for _, p := range s.plugins {
			p.mu.Lock()
			p.holds--
			if p.retired && p.holds == 0 {
				p.stopLocked()
			}
			p.mu.Unlock()
		}
	})
}
