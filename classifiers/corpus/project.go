package corpus

import (
	"embed"
	"fmt"
	"path"

	"gopkg.in/yaml.v3"
)

// The manifests shipped with the program (classifiers/corpus/manifests):
// debian.yaml (benign runs of the guest's Debian userland) and project.yaml
// (the project's own attack imitations and benign samples). Atomic Red
// Team's tests are not shipped: FromAtomic converts them from the dataset.
//
//go:embed manifests/debian.yaml manifests/project.yaml
var builtinFS embed.FS

// Names of the built-in manifests.
const (
	BuiltinDebian  = "debian"
	BuiltinProject = "project"
)

// Builtin returns a manifest shipped with the program ("debian" or
// "project"), validated.
func Builtin(name string) (*Manifest, error) {
	b, err := builtinFS.ReadFile(path.Join("manifests", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("%w: no built-in manifest %q (have %s, %s)", ErrManifest, name, BuiltinDebian, BuiltinProject)
	}
	var m Manifest
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: built-in %s: %w", ErrManifest, name, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("built-in %s: %w", name, err)
	}
	return &m, nil
}

// Standard is the whole corpus: Atomic Red Team's Linux tests converted
// from atomicsDir (the dataset's atomics folder; their skips kept), then
// the built-in Debian and project manifests. Each part keeps its own
// default timeout on its items.
func Standard(atomicsDir string) (*Manifest, error) {
	art, err := FromAtomic(atomicsDir)
	if err != nil {
		return nil, err
	}
	all := &Manifest{}
	for _, part := range []*Manifest{art} {
		all.Merge(withTimeouts(part))
	}
	for _, name := range []string{BuiltinDebian, BuiltinProject} {
		m, err := Builtin(name)
		if err != nil {
			return nil, err
		}
		all.Merge(withTimeouts(m))
	}
	if err := all.Validate(); err != nil {
		return nil, err
	}
	return all, nil
}

// withTimeouts writes a manifest's default timeout into its items that
// have none, so that it survives a Merge.
func withTimeouts(m *Manifest) *Manifest {
	if m.Timeout <= 0 {
		return m
	}
	c := *m
	c.Items = append([]Item(nil), m.Items...)
	for i := range c.Items {
		if c.Items[i].Timeout == 0 {
			c.Items[i].Timeout = m.Timeout
		}
	}
	return &c
}
