// Package corpus builds the sandbox's own labelled dataset: a manifest of
// programs and commands (Atomic Red Team's Linux tests, the Debian userland,
// the project's attack-imitating samples) is run through the orchestrator's
// VM pool, and each trace is kept with its label, its group (ATT&CK
// technique or benign program) and its source. train and eval read the
// exported corpus as one more --data format (featurizers/datasets.LoadCorpus).
package corpus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Labels of an item (the detection task's classes).
const (
	LabelMalware = "malware"
	LabelBenign  = "benign"
)

// Sources of items.
const (
	SourceAtomic  = "atomic-red-team"
	SourceDebian  = "debian-userland"
	SourceProject = "project-samples"
)

// ErrManifest is wrapped by every error about a manifest.
var ErrManifest = errors.New("invalid corpus manifest")

// Item is one program run of the corpus: either Script (a shell script,
// submitted as the sample; its first line is a shebang such as #!/bin/sh or
// #!/bin/bash) or File (a program file, relative to the manifest's folder or
// to $SCALEMALNET_SAMPLES_DIR when it starts with "samples:").
type Item struct {
	ID         string   `yaml:"id" json:"id"`                                     // unique in the corpus, e.g. "art/T1003.008/1", "debian/coreutils/ls-etc"
	Label      string   `yaml:"label" json:"label"`                               // LabelMalware or LabelBenign
	Group      string   `yaml:"group" json:"group"`                               // ATT&CK technique ("T1003.008") or benign program ("coreutils")
	Techniques []string `yaml:"techniques,omitempty" json:"techniques,omitempty"` // ATT&CK technique ids (malicious items)
	Source     string   `yaml:"source" json:"source"`                             // one of the Source* names
	Name       string   `yaml:"name" json:"name"`                                 // human name
	Script     string   `yaml:"script,omitempty" json:"script,omitempty"`
	File       string   `yaml:"file,omitempty" json:"file,omitempty"`
	Args       []string `yaml:"args,omitempty" json:"args,omitempty"`       // program arguments (File items)
	Timeout    Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"` // run time in the guest (0: the manifest's default)
}

// Skip is a test of a source that the manifest does not run, with why.
type Skip struct {
	ID     string `yaml:"id" json:"id"`
	Group  string `yaml:"group" json:"group"`
	Name   string `yaml:"name" json:"name"`
	Reason string `yaml:"reason" json:"reason"` // e.g. "needs the network", "manual", "needs package X"
}

// Manifest is a list of items to run, with the tests left out.
type Manifest struct {
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"` // default run time per item
	Items   []Item   `yaml:"items" json:"items"`
	Skipped []Skip   `yaml:"skipped,omitempty" json:"skipped,omitempty"`
	// Dir is the folder File paths are relative to (set by Load).
	Dir string `yaml:"-" json:"-"`
}

// Duration is a time.Duration written as "10s" in YAML and JSON.
type Duration time.Duration

// UnmarshalYAML reads "10s".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes "10s".
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// DefaultTimeout is an item's run time when neither it nor its manifest says.
const DefaultTimeout = 10 * time.Second

var (
	idRe        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}$`)
	techniqueRe = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
)

// MaxScriptBytes bounds an item's script.
const MaxScriptBytes = 64 << 10

// Load reads a manifest file (YAML) and validates it.
func Load(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	var m Manifest
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrManifest, path, err)
	}
	m.Dir = filepath.Dir(path)
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, nil
}

// Validate checks every item: ids unique and well-formed, a label, a group
// (an ATT&CK technique for malicious items), exactly one of Script and File,
// and a script that starts with a shebang.
func (m *Manifest) Validate() error {
	if len(m.Items) == 0 {
		return fmt.Errorf("%w: no items", ErrManifest)
	}
	seen := map[string]bool{}
	for i := range m.Items {
		it := &m.Items[i]
		where := fmt.Sprintf("item %d (%s)", i+1, it.ID)
		switch {
		case !idRe.MatchString(it.ID) || badSegment(it.ID):
			return fmt.Errorf("%w: %s: id must be 1-200 of [A-Za-z0-9._/+-], without empty, \".\" or \"..\" parts between slashes", ErrManifest, where)
		case seen[it.ID]:
			return fmt.Errorf("%w: %s: duplicate id", ErrManifest, where)
		case it.Label != LabelMalware && it.Label != LabelBenign:
			return fmt.Errorf("%w: %s: label %q is neither %s nor %s", ErrManifest, where, it.Label, LabelMalware, LabelBenign)
		case it.Group == "":
			return fmt.Errorf("%w: %s: no group", ErrManifest, where)
		case it.Label == LabelMalware && !techniqueRe.MatchString(it.Group):
			return fmt.Errorf("%w: %s: a malicious item's group is its ATT&CK technique (T1234 or T1234.001), not %q", ErrManifest, where, it.Group)
		case (it.Script == "") == (it.File == ""):
			return fmt.Errorf("%w: %s: give exactly one of script and file", ErrManifest, where)
		case it.Script != "" && !strings.HasPrefix(it.Script, "#!"):
			return fmt.Errorf("%w: %s: a script starts with a shebang line (#!/bin/sh)", ErrManifest, where)
		case len(it.Script) > MaxScriptBytes:
			return fmt.Errorf("%w: %s: script over %d bytes", ErrManifest, where, MaxScriptBytes)
		case it.Timeout < 0:
			return fmt.Errorf("%w: %s: negative timeout", ErrManifest, where)
		}
		for _, t := range it.Techniques {
			if !techniqueRe.MatchString(t) {
				return fmt.Errorf("%w: %s: technique %q is not an ATT&CK id", ErrManifest, where, t)
			}
		}
		seen[it.ID] = true
	}
	return nil
}

// ItemTimeout is the run time of an item.
func (m *Manifest) ItemTimeout(it *Item) time.Duration {
	switch {
	case it.Timeout > 0:
		return time.Duration(it.Timeout)
	case m.Timeout > 0:
		return time.Duration(m.Timeout)
	}
	return DefaultTimeout
}

// Merge appends other's items and skips to m (ids must stay unique:
// Validate afterwards).
func (m *Manifest) Merge(other *Manifest) {
	for _, it := range other.Items {
		if it.File != "" && !filepath.IsAbs(it.File) && !strings.HasPrefix(it.File, "samples:") && other.Dir != "" {
			it.File = filepath.Join(other.Dir, it.File)
		}
		m.Items = append(m.Items, it)
	}
	m.Skipped = append(m.Skipped, other.Skipped...)
}

// badSegment reports an id part that would escape or alias a folder when
// the id names the trace's file (traces/<id>.jsonl.gz).
func badSegment(id string) bool {
	for _, p := range strings.Split(id, "/") {
		if p == "" || p == "." || p == ".." {
			return true
		}
	}
	return false
}
