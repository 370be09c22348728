package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/host"
	"github.com/scalemalnet/scalemalnet/plugins/scaffold"
)

// pluginsGroup is "scalemalnet plugins".
var pluginsGroup = &group{
	name:    "plugins",
	summary: "manage plugins (featurizers and classifiers run as their own processes)",
	footer:  `Run "scalemalnet plugins SUBCOMMAND -h" for its flags; the plugin guide is docs/plugins.md.`,
}

// runPluginsList prints the running orchestrator's plugins.
func runPluginsList(ctx context.Context, e *Env, args []string) int {
	fs := pluginsGroup.flags(e, "list")
	var cn conn
	cn.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	c, _, code, ok := connect(e, fs, &cn, args, 0)
	if !ok {
		return code
	}
	ps, err := c.Plugins(ctx)
	if err != nil {
		return fail(e, err)
	}
	if *asJSON {
		if ps == nil {
			ps = []host.Status{}
		}
		return printJSON(e, ps)
	}
	if len(ps) == 0 {
		fmt.Fprintln(e.Stdout, "no plugins")
		return ExitOK
	}
	printPlugins(e.Stdout, ps)
	return ExitOK
}

// runPluginsReload asks the running orchestrator to reload its plugins.
func runPluginsReload(ctx context.Context, e *Env, args []string) int {
	fs := pluginsGroup.flags(e, "reload")
	var cn conn
	cn.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	c, _, code, ok := connect(e, fs, &cn, args, 0)
	if !ok {
		return code
	}
	rep, err := c.ReloadPlugins(ctx)
	if err != nil {
		return fail(e, err)
	}
	if *asJSON {
		printJSON(e, rep)
	} else {
		for _, l := range []struct {
			what  string
			names []string
		}{{"added", rep.Added}, {"replaced", rep.Replaced}, {"removed", rep.Removed}} {
			if len(l.names) > 0 {
				fmt.Fprintf(e.Stdout, "%-9s %s\n", l.what, strings.Join(l.names, ", "))
			}
		}
		fmt.Fprintf(e.Stdout, "%-9s %d plugins unchanged\n", "kept", len(rep.Kept))
		for _, p := range rep.Problems {
			fmt.Fprintf(e.Stdout, "problem   %s\n", oneLine(p, 200))
		}
	}
	if len(rep.Problems) > 0 {
		return ExitFailure
	}
	return ExitOK
}

func printPlugins(w io.Writer, ps []host.Status) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tVERSION\tSTATE\tSOURCE\tINPUTS\tCALLS/FAILED\tLAST ERROR")
	for _, p := range ps {
		var inputs []string
		for _, in := range p.Info.Inputs {
			inputs = append(inputs, string(in))
		}
		msg := oneLine(p.LastError, 80)
		if p.Pending != "" { // what a reload would change says more than the last error
			msg = oneLine("pending: "+p.Pending, 120)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", p.Name, dash(string(p.Info.Kind)), dash(p.Info.Version), p.State,
			p.Source, dash(strings.Join(inputs, ",")), p.Calls, p.Failures, msg)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine flattens s to one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}

// runPluginsRegister copies a binary into the plugin directory (unless it
// is already there) and records it in plugins.json.
func runPluginsRegister(ctx context.Context, e *Env, args []string) int {
	fs := pluginsGroup.flags(e, "register")
	name := fs.String("name", "", "plugin name, as the plugin reports it in its Info (default: the file's base name)")
	dir := fs.String("dir", "", "plugin directory (default DATA_DIR/"+host.DirName+")")
	dataDir := fs.String("data-dir", "", "data directory (default $"+defaults.EnvDataDir+" or "+defaults.DataDir()+")")
	config := fs.String("config", "", "the plugin's JSON configuration (default: keep the registered one, else none)")
	pos, code, ok := parse(fs, args, 1)
	if !ok {
		return code
	}
	src := pos[0]
	if *name == "" {
		*name = filepath.Base(src)
	}
	if err := plugins.ValidName(*name); err != nil {
		fmt.Fprintf(e.Stderr, "scalemalnet plugins register: %v (use --name)\n", err)
		return ExitUsage
	}
	var cfg json.RawMessage
	if *config != "" {
		if !json.Valid([]byte(*config)) {
			fmt.Fprintf(e.Stderr, "scalemalnet plugins register: --config is not valid JSON\n")
			return ExitUsage
		}
		cfg = json.RawMessage(*config)
	}
	if *dir == "" {
		*dir = defaults.Layout{Root: firstNonEmpty(*dataDir, e.Getenv(defaults.EnvDataDir), defaults.DataDir())}.Plugins()
	}
	entry, err := register(*dir, *name, src, cfg)
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.Stdout, "registered %s: %s (sha256 %s)\n", entry.Name, filepath.Join(*dir, entry.Path), entry.SHA256)
	fmt.Fprintf(e.Stderr, "\"scalemalnet plugins reload\" (or SIGHUP to serve) loads it into a running orchestrator; \"scalemalnet plugins list\" shows its state\n")
	return ExitOK
}

// register installs src as dir/name when it is outside dir, keeping the
// registered configuration unless cfg is given.
func register(dir, name, src string, cfg json.RawMessage) (host.Entry, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return host.Entry{}, err
	}
	if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		return host.Entry{}, fmt.Errorf("%s is not an executable file", src)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return host.Entry{}, err
	}
	absDir, _ := filepath.Abs(dir)
	absSrc, _ := filepath.Abs(src)
	dst := absSrc
	if rel, err := filepath.Rel(absDir, absSrc); err != nil || strings.HasPrefix(rel, "..") {
		dst = filepath.Join(absDir, name)
		if err := copyExecutable(absSrc, dst); err != nil {
			return host.Entry{}, err
		}
	}
	if cfg == nil {
		m, err := host.ReadManifest(dir)
		if err != nil {
			return host.Entry{}, err
		}
		for _, en := range m.Plugins {
			if en.Name == name {
				cfg = en.Config
			}
		}
	}
	return host.Register(dir, name, dst, cfg)
}

// copyExecutable copies src to dst (mode 0755) through a temporary file.
func copyExecutable(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := writeFileAtomic(dst, f); err != nil {
		return err
	}
	return os.Chmod(dst, 0o755)
}

// runPluginsNew generates a plugin project.
func runPluginsNew(ctx context.Context, e *Env, args []string) int {
	fs := pluginsGroup.flags(e, "new")
	var o scaffold.Options
	fs.StringVar(&o.Dir, "dir", "", "directory to create (default ./NAME)")
	fs.StringVar(&o.Module, "module", "", "Go module path (default example.com/scalemalnet-plugins/NAME)")
	fs.StringVar(&o.SDK, "sdk", "", "ScaleMalNet checkout to build against (default: the checkout containing the current directory)")
	pos, code, ok := parse(fs, args, 2)
	if !ok {
		return code
	}
	o.Kind, o.Name = plugins.Kind(pos[0]), pos[1]
	if o.SDK == "" {
		sdk, err := scaffold.FindSDK(".")
		if err != nil {
			return fail(e, err)
		}
		o.SDK = sdk
	}
	wrote, err := scaffold.Generate(o)
	if errors.Is(err, scaffold.ErrKind) || errors.Is(err, plugins.ErrInvalidInfo) {
		fmt.Fprintf(e.Stderr, "scalemalnet plugins new: %v\n", err)
		return ExitUsage
	}
	if err != nil {
		return fail(e, err)
	}
	for _, f := range wrote {
		fmt.Fprintln(e.Stdout, f)
	}
	dir := filepath.Dir(wrote[0])
	fmt.Fprintf(e.Stderr, "created %s %s in %s; next:\n  cd %s\n  go mod tidy\n  go test ./...\n  go build -o %s .\n  scalemalnet plugins register ./%s\n",
		o.Kind, o.Name, dir, dir, o.Name, o.Name)
	return ExitOK
}
