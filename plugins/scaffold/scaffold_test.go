package scaffold_test

import (
	"context"
	"errors"
	"go/format"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/host"
	"github.com/scalemalnet/scalemalnet/plugins/scaffold"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := scaffold.FindSDK(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestOptionsChecked(t *testing.T) {
	root := repoRoot(t)
	if root != filepath.Clean(filepath.Join(mustAbs(t, "."), "../..")) {
		t.Fatalf("FindSDK = %s", root)
	}
	dir := t.TempDir()
	cases := []struct {
		o    scaffold.Options
		want error
	}{
		{scaffold.Options{Kind: "classifier", Name: "Bad_Name", SDK: root}, plugins.ErrInvalidInfo},
		{scaffold.Options{Kind: "detector", Name: "ok", SDK: root}, scaffold.ErrKind},
		{scaffold.Options{Kind: "classifier", Name: "ok", Dir: filepath.Join(dir, "x")}, scaffold.ErrNoSDK},
		{scaffold.Options{Kind: "classifier", Name: "ok", Dir: filepath.Join(dir, "x"), SDK: dir}, scaffold.ErrNoSDK},
		{scaffold.Options{Kind: "classifier", Name: "ok", Dir: root, SDK: root}, scaffold.ErrExists},
	}
	for _, c := range cases {
		if _, err := scaffold.Generate(c.o); !errors.Is(err, c.want) {
			t.Errorf("Generate(%+v) = %v, want %v", c.o, err, c.want)
		}
	}
	if _, err := scaffold.FindSDK(dir); !errors.Is(err, scaffold.ErrNoSDK) || !strings.Contains(err.Error(), "--sdk") {
		t.Errorf("FindSDK outside a checkout: %v", err)
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// goRun runs the go command in dir as a plugin author would.
func goRun(t *testing.T, dir string, args ...string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found: %v", err)
	}
	cmd := exec.Command(goBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
}

// TestGeneratedPluginsBuildAndLoad generates both kinds, tidies, tests and
// builds them, and loads them with host.Manager as real processes.
func TestGeneratedPluginsBuildAndLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two modules")
	}
	root := repoRoot(t)
	work, pluginDir := t.TempDir(), t.TempDir()
	for _, k := range []plugins.Kind{plugins.KindFeaturizer, plugins.KindClassifier} {
		name := "my-" + string(k)
		dir := filepath.Join(work, name)
		wrote, err := scaffold.Generate(scaffold.Options{Kind: k, Name: name, Dir: dir, SDK: root})
		if err != nil || len(wrote) != 4 {
			t.Fatalf("Generate: %v %v", wrote, err)
		}
		gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
		if !strings.Contains(string(gomod), "replace github.com/scalemalnet/scalemalnet => \""+root+"\"") {
			t.Fatalf("go.mod:\n%s", gomod)
		}
		for _, f := range []string{"main.go", "main_test.go"} {
			src, _ := os.ReadFile(filepath.Join(dir, f))
			if fmted, err := format.Source(src); err != nil || string(fmted) != string(src) {
				t.Errorf("%s/%s is not gofmt-clean (%v)", name, f, err)
			}
		}
		goRun(t, dir, "mod", "tidy")
		goRun(t, dir, "test", "./...")
		bin := filepath.Join(pluginDir, name)
		goRun(t, dir, "build", "-o", bin, ".")
		if _, err := host.Register(pluginDir, name, bin, nil); err != nil {
			t.Fatal(err)
		}
	}

	m := host.New(host.Config{Dir: pluginDir, Logger: slog.New(slog.DiscardHandler), StartTimeout: 10 * time.Second})
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	fz, cl := m.Plugins(plugins.KindFeaturizer), m.Plugins(plugins.KindClassifier)
	if len(fz) != 1 || len(cl) != 1 {
		t.Fatalf("plugins: %+v", m.List())
	}
	sets, err := fz[0].Featurize(context.Background(), plugins.FeaturizeInput{Content: []byte("aab")})
	if err != nil || len(sets) != 1 || sets[0].Name != "my-featurizer" || sets[0].Vector['a'] != 2.0/3 {
		t.Fatalf("Featurize: %+v %v", sets, err)
	}
	ngrams := &features.Set{Name: "callseq-ngram", Version: "1", Kind: features.KindVector, Schema: []string{"read"}, Vector: []float64{100}}
	v, err := cl[0].Classify(context.Background(), plugins.Sample{}, []*features.Set{ngrams})
	if err != nil || v.Label != "benign" || v.Scores[1].Score != 0.5 {
		t.Fatalf("Classify: %+v %v", v, err)
	}
}
