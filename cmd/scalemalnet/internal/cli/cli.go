// Package cli implements the scalemalnet command line: the serve command
// (through an injected function, so this package does not depend on the
// daemon) and the client commands talking to the orchestrator's API.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/client"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
)

// ServeOptions are the serve command's settings; main turns them into a
// daemon.Config.
type ServeOptions struct {
	DataDir string
	Listen  string
	// AllowInsecureListen: --allow-insecure-listen.
	AllowInsecureListen bool
	Slots               int
	ProcessWorkers      int // post-VM workers (featurize, classify, fuse, report); 0: default
	ImageDir            string
	Wine                string // Wine warm-up: warm or lazy
	LibvirtURI          string
	Accel               string
	MaxSample           int64
	ModelDir            string
	SignatureRules      string
	Logger              *slog.Logger
	// Storage limits (daemon.Config); zero takes the daemon's defaults.
	MaxArtifactBytes int64
	MinFreeBytes     int64 // negative disables the free-space check
	RetainMaxAge     time.Duration
	RetainMaxBytes   int64
	// Fusion model and stage-1 operating point (daemon.FusionConfig).
	FusionModel     string
	FusionRule      string
	FusionTargetFPR float64
	// FusionUnfittedWeight: prior weight of classifiers the fusion model
	// was not fitted on (0: ignored).
	FusionUnfittedWeight float64
	FusionThreshold      float64
	// FusionDecisive: "critical", "high", "medium" or "off" ("": the
	// configuration's, critical by default).
	FusionDecisive string
	// ConfigFile is the --config file; the other fields, when set,
	// override its values ("" and 0 mean "not given").
	ConfigFile string
}

// Env is what the commands use from the outside world.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Serve runs the orchestrator until ctx ends.
	Serve func(ctx context.Context, o ServeOptions) error
	// CheckConfig reads a configuration file and returns every problem
	// in it (one per line of the error), for serve --check-config.
	CheckConfig func(path string) error
	// PollInterval is how often submit --wait polls; default 500ms.
	PollInterval time.Duration
}

// Exit statuses.
const (
	ExitOK          = 0
	ExitFailure     = 1   // an error, or the job failed
	ExitUsage       = 2   // bad command line
	ExitInterrupted = 130 // interrupted while waiting
)

type command struct {
	name    string
	summary string
	usage   string // synopsis after "scalemalnet "
	run     func(ctx context.Context, e *Env, args []string) int
}

// commands is the registry: every command and, for the groups, every
// subcommand, in the order help lists them. It is the only place a command
// is registered (a function, not package initialisation, so the order of
// files plays no part).
func commands() []command {
	return []command{
		{"serve", "run the orchestrator (API, VM pool, job workers)", "serve [--config FILE] [--data-dir DIR] [--listen ADDR] [--slots N] [--image DIR] [--libvirt URI] [--accel auto|kvm|qemu]", runServe},
		{"submit", "submit a sample for analysis", "submit FILE [--timeout 20s] [--window 1s] [--arg X]... [--network none|isolated|user] [--wait] [--json]", runSubmit},
		{"status", "show a job's state and history", "status ID [--json]", runStatus},
		{"report", "show a finished job's report", "report ID [--json]", runReport},
		{"trace", "download a job's call trace (gzip JSON lines)", "trace ID [-o FILE]", runTrace},
		{"pcap", "download the packet capture of a job run with --network isolated", "pcap ID [-o FILE]", runPcap},
		{"jobs", "list or search jobs, newest first", "jobs [--state S] [--sha256|--sha1|--md5 H] [--name TEXT] [--verdict V] [--family F] [--signature S] [--since T] [--until T] [--limit N] [--cursor C] [--json]", runJobs},
		{"cancel", "cancel a job (a running one is stopped, its VM destroyed)", "cancel ID [--json]", runCancel},
		{"delete", "delete a finished job with its report and artifacts", "delete ID [--json]", runDelete},
		{"health", "show the orchestrator's health", "health [--json]", runHealth},
		{"plugins", "list, register, reload or create plugins; out-of-fold votes of a classifier plugin", "plugins list|register|reload|new|oof ...", pluginsGroup.run},
		{"gc", "delete old jobs and unreferenced samples now", "gc [--max-age 720h] [--max-size 50GiB] [--compact] [--json]", runGC},
		{"corpus", "build the sandbox-native corpus: labelled programs run in the VM pool, traces kept for train and eval", "corpus build|ls ...", corpusGroup.run},
		{"pool", "list, add, remove, drain, undrain or reset VM slots; pool health", "pool ls|add|remove|drain|undrain|reset|health ...", poolGroup.run},
		{"features",
			"run one featurizer on a file (and a trace) and print what it produces",
			"features --featurizer NAME [FILE] [--trace TRACE] [--trace-format own|adfa|names|cuckoo] [--json]",
			runFeatures},
		{"train", "train a model on a dataset, cross-validate it and write a model file; or fit a fusion model",
			"train --model NAME --data PATH [--task T] [--out MODEL] [--oof FILE] [--seed N] [--folds 5] [--seq-len N] [--json]\n  scalemalnet " + trainFusionUsage, runTrain},
		{"eval", "measure a model file on a dataset; or classifiers and fusion on out-of-fold predictions",
			"eval --model MODEL --data PATH [--predictions FILE] [--json]\n  scalemalnet " + evalFusionUsage, runEval},
		{"signatures", "list or check behaviour signature rules; measure them on a corpus", "signatures list|check|eval ...", signaturesGroup.run},
	}
}

// subcommands lists a group's subcommands.
func subcommands(group string) []command {
	switch group {
	case "plugins":
		return pluginCommands()
	case "pool":
		return poolCommands()
	case "corpus":
		return corpusCommands()
	case "signatures":
		return signatureCommands()
	}
	return nil
}

func pluginCommands() []command {
	return []command{
		{"list", "list the orchestrator's plugins and their health", "plugins list [--json]", runPluginsList},
		{"register", "copy a plugin binary into the plugin directory and record its checksum", "plugins register PATH [--name NAME] [--dir DIR] [--config JSON]", runPluginsRegister},
		{"new", "generate a new plugin project (KIND is featurizer or classifier)", "plugins new KIND NAME [--dir DIR] [--module MODPATH] [--sdk PATH]", runPluginsNew},
		{"reload", "load plugins registered, re-registered or removed since the orchestrator started, without a restart (also SIGHUP)", "plugins reload [--json]", runPluginsReload},
		{"oof", "run a registered classifier plugin over a labelled dataset and write its predictions as an out-of-fold file for `train fusion`", pluginsOOFUsage, runPluginsOOF},
	}
}

func poolCommands() []command {
	return []command{
		{"ls", "list the slots: state, current job, analyses done, last error", "pool ls [--json]", runPoolList},
		{"add", "add a slot (it makes its clean state, then takes jobs)", "pool add NAME [--memory MiB] [--network none|isolated|user] [--tag T]...", runPoolAdd},
		{"remove", "drain a slot (its current job finishes), then delete its VM and files", "pool remove NAME [--json]", runPoolEdit("remove")},
		{"drain", "stop a slot taking jobs after its current one (until undrain, reset or restart)", "pool drain NAME [--json]", runPoolEdit("drain")},
		{"undrain", "lift a drain: the slot takes jobs again with its clean state (no cold boot)", "pool undrain NAME [--json]", runPoolEdit("undrain")},
		{"reset", "discard a slot's clean state and make a new one from a cold boot; lifts a drain or quarantine", "pool reset NAME [--json]", runPoolEdit("reset")},
		{"health", "per-slot health with each slot's recent transitions; exit status 1 when degraded", "pool health [--json] [--transitions N]", runPoolHealth},
	}
}

// Run executes the command line args (without the program name) and
// returns the exit status.
func Run(ctx context.Context, args []string, e Env) int {
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.Stdout == nil {
		e.Stdout = os.Stdout
	}
	if e.Stderr == nil {
		e.Stderr = os.Stderr
	}
	if e.PollInterval <= 0 {
		e.PollInterval = 500 * time.Millisecond
	}
	if len(args) == 0 {
		usage(e.Stderr)
		return ExitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			for _, c := range commands() {
				if c.name == args[1] {
					c.run(ctx, &e, []string{"-h"})
					return ExitOK
				}
			}
		}
		usage(e.Stdout)
		return ExitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, &e, args[1:])
		}
	}
	fmt.Fprintf(e.Stderr, "scalemalnet: unknown command %q\n\n", args[0])
	usage(e.Stderr)
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `scalemalnet - run Linux samples in disposable VMs and report what they do

Usage:
  scalemalnet COMMAND [ARGS] [FLAGS]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, `  help     show this text, or "help COMMAND" for a command's flags

Client commands find the server with --addr, else $%s, else %s
(or "unix:/path" for a Unix socket), and authenticate with --token, else
$%s, else the file DATA_DIR/%s written by "serve", where DATA_DIR
is --data-dir, else $%s, else %s.

Examples:
  scalemalnet serve --slots 2
  scalemalnet submit ./a.out --timeout 30s --arg -v --wait
  scalemalnet jobs --state done
  scalemalnet trace 20261124T014000Z-0k3f9q2w -o trace.jsonl.gz
  scalemalnet gc --max-age 720h --max-size 50GiB --compact
  scalemalnet plugins list
  scalemalnet plugins new classifier my-classifier --sdk ~/src/scalemalnet
  scalemalnet plugins register ./my-classifier
`, defaults.EnvAddr, defaults.Listen, defaults.EnvToken, defaults.TokenFile, defaults.EnvDataDir, defaults.DataDir())
}

// newFlags returns a flag set printing the command's usage on -h.
func newFlags(e *Env, name string) *flag.FlagSet {
	return flagsFor(e, "scalemalnet "+name, commands(), name)
}

// flagsFor returns the flag set of command name of cmds, called title in
// messages, printing its summary, synopsis and flags on -h.
func flagsFor(e *Env, title string, cmds []command, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(title, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	var c command
	for _, x := range cmds {
		if x.name == name {
			c = x
		}
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nUsage:\n  scalemalnet %s\n\nFlags:\n", c.summary, c.usage)
		fs.PrintDefaults()
	}
	return fs
}

// group is a command with subcommands ("scalemalnet pool ls").
type group struct {
	name    string // "pool"
	summary string // first line of the group's help
	footer  string // closing paragraph of the group's help
}

// run dispatches "NAME SUBCOMMAND ARGS...".
func (g *group) run(ctx context.Context, e *Env, args []string) int {
	if len(args) == 0 {
		g.usage(e.Stderr)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		g.usage(e.Stderr) // where every command's -h goes (package flag)
		return ExitOK
	}
	for _, c := range subcommands(g.name) {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.Stderr, "scalemalnet %s: unknown subcommand %q\n\n", g.name, args[0])
	g.usage(e.Stderr)
	return ExitUsage
}

func (g *group) usage(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nUsage:\n", g.summary)
	for _, c := range subcommands(g.name) {
		fmt.Fprintf(w, "  scalemalnet %s\n        %s\n", c.usage, c.summary)
	}
	fmt.Fprintf(w, "\n%s\n", g.footer)
}

// flags is newFlags for subcommand name of the group.
func (g *group) flags(e *Env, name string) *flag.FlagSet {
	return flagsFor(e, "scalemalnet "+g.name+" "+name, subcommands(g.name), name)
}

// parse parses flags that may come before or after positional arguments
// ("submit FILE --wait" as well as "submit --wait FILE"); everything after
// "--" is positional. It returns the positional arguments, or an exit
// status when parsing ends the command (-h or an error).
func parse(fs *flag.FlagSet, args []string, npos int) ([]string, int, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, ExitOK, false
			}
			return nil, ExitUsage, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := args[:len(args)-len(rest)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if npos >= 0 && len(pos) != npos { // npos < 0: any number, checked by the caller
		if npos == 0 {
			fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), pos[0])
		} else {
			fmt.Fprintf(fs.Output(), "%s: want %d argument(s), got %d\n", fs.Name(), npos, len(pos))
		}
		fs.Usage()
		return nil, ExitUsage, false
	}
	return pos, 0, true
}

// conn holds the flags that locate and authenticate to the server.
type conn struct {
	addr, token, dataDir string
}

func (c *conn) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", "", "API address: host:port, http(s)://host:port or unix:/path (default $"+defaults.EnvAddr+" or "+defaults.Listen+")")
	fs.StringVar(&c.token, "token", "", "API token (default $"+defaults.EnvToken+" or the data directory's token file)")
	fs.StringVar(&c.dataDir, "data-dir", "", "data directory holding the token file (default $"+defaults.EnvDataDir+" or "+defaults.DataDir()+")")
}

// connect parses args (npos positional arguments, see parse), then resolves
// the API client; ok is false when the command ends here with code (-h, a
// usage error, no token).
func connect(e *Env, fs *flag.FlagSet, cn *conn, args []string, npos int) (c *client.Client, pos []string, code int, ok bool) {
	if pos, code, ok = parse(fs, args, npos); !ok {
		return nil, nil, code, false
	}
	c, err := cn.client(e)
	if err != nil {
		return nil, nil, fail(e, err), false
	}
	return c, pos, 0, true
}

// output ends a client command (flags, connect, call, then this): the
// call's error, or its result as JSON or as text.
func output[T any](e *Env, v T, err error, asJSON bool, text func(io.Writer, T)) int {
	if err != nil {
		return fail(e, err)
	}
	if asJSON {
		return printJSON(e, v)
	}
	text(e.Stdout, v)
	return ExitOK
}

// client resolves the address and token and returns an API client.
func (c *conn) client(e *Env) (*client.Client, error) {
	addr := firstNonEmpty(c.addr, e.Getenv(defaults.EnvAddr), defaults.Listen)
	tok := firstNonEmpty(c.token, e.Getenv(defaults.EnvToken))
	if tok == "" {
		dir := firstNonEmpty(c.dataDir, e.Getenv(defaults.EnvDataDir), defaults.DataDir())
		path := defaults.Layout{Root: dir}.Token()
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("no API token: pass --token, set $%s, or make %s readable (%w)", defaults.EnvToken, path, err)
		}
		tok = strings.TrimSpace(string(b))
	}
	return client.New(addr, tok), nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// fail prints err and returns ExitFailure.
func fail(e *Env, err error) int {
	fmt.Fprintf(e.Stderr, "scalemalnet: %v\n", err)
	var ce *client.Error
	if errors.As(err, &ce) && errors.Is(err, client.ErrUnauthorized) {
		fmt.Fprintf(e.Stderr, "hint: the token must match the %s file of the orchestrator at %s; the address comes from --addr, $%s or the default %s (it does not follow $%s: set both for another instance)\n",
			defaults.TokenFile, ce.Addr, defaults.EnvAddr, defaults.Listen, defaults.EnvDataDir)
	}
	return ExitFailure
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, " ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
