// Package scaffold generates a new plugin project: a Go module with a
// working featurizer or classifier (trivial behaviour, TODOs where the real
// work goes), a unit test using the SDK harness and a README, built against
// a local ScaleMalNet checkout through a go.mod replace directive. It backs
// `scalemalnet plugins new`.
package scaffold

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/scalemalnet/scalemalnet/plugins"
)

// SDKModule is the module path plugins require for the SDK.
const SDKModule = "github.com/scalemalnet/scalemalnet"

// Errors of Generate.
var (
	ErrKind   = errors.New("unknown plugin kind")
	ErrExists = errors.New("target directory is not empty")
	ErrNoSDK  = errors.New("no ScaleMalNet checkout")
)

//go:embed templates
var templateFS embed.FS

// Options says what to generate.
type Options struct {
	Kind   plugins.Kind // featurizer or classifier
	Name   string       // plugin name (plugins.ValidName)
	Dir    string       // target directory; default ./Name; must be absent or empty
	Module string       // module path; default example.com/scalemalnet-plugins/Name
	SDK    string       // ScaleMalNet checkout the go.mod replace points at; required (see FindSDK)
}

// data is what the templates see.
type data struct {
	Kind      plugins.Kind
	Name      string
	Module    string
	SDK       string
	SDKModule string
	GoVersion string
	Ident     string // Go identifier for the plugin type
}

// files maps a generated file to its template, per kind.
var files = map[plugins.Kind]map[string]string{
	plugins.KindFeaturizer: {"main.go": "featurizer.go.tmpl", "main_test.go": "featurizer_test.go.tmpl"},
	plugins.KindClassifier: {"main.go": "classifier.go.tmpl", "main_test.go": "classifier_test.go.tmpl"},
}

// Generate writes the plugin project and returns the files it wrote.
func Generate(o Options) ([]string, error) {
	if err := plugins.ValidName(o.Name); err != nil {
		return nil, err
	}
	kindFiles, ok := files[o.Kind]
	if !ok {
		return nil, fmt.Errorf("%w %q: want %s or %s", ErrKind, o.Kind, plugins.KindFeaturizer, plugins.KindClassifier)
	}
	if o.Dir == "" {
		o.Dir = o.Name
	}
	if o.Module == "" {
		o.Module = "example.com/scalemalnet-plugins/" + o.Name
	}
	sdk, goVersion, err := checkSDK(o.SDK)
	if err != nil {
		return nil, err
	}
	if ents, err := os.ReadDir(o.Dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrExists, o.Dir)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	d := data{Kind: o.Kind, Name: o.Name, Module: o.Module, SDK: sdk, SDKModule: SDKModule, GoVersion: goVersion, Ident: ident(o.Name)}
	all := map[string]string{"go.mod": "go.mod.tmpl", "README.md": "README.md.tmpl"}
	for k, v := range kindFiles {
		all[k] = v
	}
	var wrote []string
	for _, out := range []string{"go.mod", "main.go", "main_test.go", "README.md"} {
		b, err := render(all[out], d)
		if err != nil {
			return wrote, err
		}
		path := filepath.Join(o.Dir, out)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return wrote, err
		}
		wrote = append(wrote, path)
	}
	return wrote, nil
}

func render(name string, d data) ([]byte, error) {
	t, err := template.New(name).ParseFS(templateFS, "templates/"+name)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// ident turns "my-plugin" into "myPlugin".
func ident(name string) string {
	parts := strings.Split(name, "-")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	s := strings.Join(parts, "")
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		s = "p" + s
	}
	return s
}

// FindSDK returns the ScaleMalNet checkout containing dir (or dir itself),
// found by walking up to a go.mod declaring module SDKModule.
func FindSDK(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if mod, _ := modulePath(filepath.Join(d, "go.mod")); mod == SDKModule {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w above %s: pass --sdk PATH to a checkout of %s", ErrNoSDK, abs, SDKModule)
		}
	}
}

// checkSDK verifies path is a ScaleMalNet checkout and returns it absolute
// with the Go version its go.mod declares.
func checkSDK(path string) (string, string, error) {
	if path == "" {
		return "", "", fmt.Errorf("%w given: pass the path of a checkout of %s", ErrNoSDK, SDKModule)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", "", err
	}
	mod, goVersion := modulePath(filepath.Join(abs, "go.mod"))
	if mod != SDKModule {
		return "", "", fmt.Errorf("%w at %s: its go.mod does not declare module %s", ErrNoSDK, abs, SDKModule)
	}
	if goVersion == "" {
		goVersion = "1.26"
	}
	return abs, goVersion, nil
}

// modulePath reads the module path and go version of a go.mod file.
func modulePath(gomod string) (mod, goVersion string) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && fields[0] == "module" {
			mod = strings.Trim(fields[1], `"`)
		}
		if len(fields) == 2 && fields[0] == "go" {
			goVersion = fields[1]
		}
	}
	return mod, goVersion
}
