// Package yara matches YARA rules against a sample's bytes, with Debian's
// libyara through github.com/hillu/go-yara. It runs only inside the
// yara-featurizer plugin process (cmd/yara-featurizer), never in the
// orchestrator: a crash of the C library costs that one vote.
//
// Rules come from *.yar files: the project's own (rules/, embedded) or a
// configured directory. A rule file that does not compile is refused with
// its file and line (ErrRule). Each rule's meta may say description,
// severity (1-5 or info, low, medium, high, critical; default medium) and
// techniques (ATT&CK ids, comma-separated); the matches go out as a
// features.MatchesSchema set, listed in the report beside the behaviour
// signatures.
package yara

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	goyara "github.com/hillu/go-yara/v4"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/plugins"
	"github.com/scalemalnet/scalemalnet/plugins/sdk"
)

// Name is the plugin's name (its plugins.json entry); SetName its matches
// set.
const (
	Name    = "yara"
	SetName = "yara-matches"
	Version = "0.1.0"
	Source  = "yara"
)

// Bounds of a scan (configurable): the bytes scanned and the time allowed.
const (
	DefaultMaxBytes = 32 << 20
	DefaultTimeout  = 20 * time.Second
	MaxMaxBytes     = 64 << 20
	MaxTimeout      = 50 * time.Second // the orchestrator's featurize deadline is 60 s
	evidencePerRule = 5
	maxRuleFiles    = 1000
)

// ErrRule is wrapped by every error about a rule file.
var ErrRule = errors.New("invalid YARA rule")

//go:embed rules/*.yar
var shipped embed.FS

// Rules is the shipped rules directory, embedded.
func Rules() fs.FS {
	sub, err := fs.Sub(shipped, "rules")
	if err != nil {
		panic(err)
	}
	return sub
}

// Ruleset is a compiled set of YARA rules with their report form.
type Ruleset struct {
	rules *goyara.Rules
	n     int
}

// Len is the number of rules.
func (r *Ruleset) Len() int { return r.n }

// Compile compiles every *.yar and *.yara file of fsys (includes are
// disabled). The first error names the file and line.
func Compile(fsys fs.FS) (*Ruleset, error) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yar") || strings.HasSuffix(p, ".yara")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRule, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no *.yar rule files", ErrRule)
	}
	if len(files) > maxRuleFiles {
		return nil, fmt.Errorf("%w: %d rule files (at most %d)", ErrRule, len(files), maxRuleFiles)
	}
	sort.Strings(files)
	c, err := goyara.NewCompiler()
	if err != nil {
		return nil, err
	}
	defer c.Destroy()
	c.DisableIncludes()
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrRule, err)
		}
		ns := strings.TrimSuffix(strings.TrimSuffix(f, ".yara"), ".yar")
		if err := c.AddString(string(b), ns); err != nil {
			if len(c.Errors) > 0 {
				m := c.Errors[0]
				return nil, fmt.Errorf("%w: %s:%d: %s", ErrRule, f, m.Line, m.Text)
			}
			return nil, fmt.Errorf("%w: %s: %v", ErrRule, f, err)
		}
	}
	rules, err := c.GetRules()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRule, err)
	}
	rs := &Ruleset{rules: rules, n: len(rules.GetRules())}
	for _, r := range rules.GetRules() {
		if _, err := toMatch(goyara.MatchRule{Rule: r.Identifier(), Namespace: r.Namespace(), Tags: r.Tags(), Metas: r.Metas()}); err != nil {
			return nil, fmt.Errorf("%w: %s.yar: rule %s: %v", ErrRule, r.Namespace(), r.Identifier(), err)
		}
	}
	return rs, nil
}

// Scan matches the rules against content (at most maxBytes of it, within
// timeout).
func (r *Ruleset) Scan(content []byte, timeout time.Duration) ([]features.Match, error) {
	var mr goyara.MatchRules
	if err := r.rules.ScanMem(content, 0, timeout, &mr); err != nil {
		return nil, fmt.Errorf("yara scan: %w", err)
	}
	var out []features.Match
	for _, m := range mr {
		fm, err := toMatch(m)
		if err != nil {
			return nil, err
		}
		out = append(out, fm)
	}
	return out, nil
}

var severityNames = map[string]int{"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

// toMatch turns a YARA match into its report form, reading the rule's
// meta.
func toMatch(m goyara.MatchRule) (features.Match, error) {
	fm := features.Match{ID: m.Rule, Source: Source, Description: m.Rule, Severity: 3, Techniques: []string{}, Evidence: []string{},
		Count: len(m.Strings), Tags: m.Tags}
	for _, meta := range m.Metas {
		switch strings.ToLower(meta.Identifier) {
		case "description":
			if s, ok := meta.Value.(string); ok && s != "" {
				fm.Description = s
			}
		case "severity":
			switch v := meta.Value.(type) {
			case int:
				fm.Severity = v
			case string:
				if n, ok := severityNames[strings.ToLower(v)]; ok {
					fm.Severity = n
				} else if n, err := strconv.Atoi(v); err == nil {
					fm.Severity = n
				} else {
					return fm, fmt.Errorf("severity %q: 1-5 or info, low, medium, high, critical", v)
				}
			}
		case "techniques", "mitre_attack", "attack":
			if s, ok := meta.Value.(string); ok {
				for _, t := range strings.Split(s, ",") {
					if t = strings.TrimSpace(t); t != "" {
						fm.Techniques = append(fm.Techniques, t)
					}
				}
			}
		}
	}
	if len(fm.Description) > features.MaxDescription {
		fm.Description = fm.Description[:features.MaxDescription-3] + "..."
	}
	if len(fm.Tags) > features.MaxTechniques {
		fm.Tags = fm.Tags[:features.MaxTechniques]
	}
	for i, s := range m.Strings {
		if i == evidencePerRule {
			break
		}
		fm.Evidence = append(fm.Evidence, features.Evidence(fmt.Sprintf("%s at 0x%x: %s", s.Name, s.Base+s.Offset, printable(s.Data, 96))))
	}
	if err := fm.Check(); err != nil {
		return fm, err
	}
	return fm, nil
}

// printable renders matched bytes: text quoted, anything else in hex.
func printable(b []byte, n int) string {
	cut := ""
	if len(b) > n {
		b, cut = b[:n], "…"
	}
	text := true
	for _, c := range b {
		if c > unicode.MaxASCII || (c < 0x20 && c != '\t') {
			text = false
			break
		}
	}
	if text {
		return strconv.Quote(string(b)) + cut
	}
	return fmt.Sprintf("{%x}%s", b, cut)
}

// Config configures the featurizer.
type Config struct {
	RulesDir       string `json:"rules_dir,omitempty"`       // *.yar files replacing the shipped ones
	MaxBytes       int    `json:"max_bytes,omitempty"`       // bytes of the sample scanned (default 32 MiB)
	TimeoutSeconds int    `json:"timeout_seconds,omitempty"` // scan time allowed (default 20)
}

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "rules_dir": {"type": "string", "description": "directory of *.yar files replacing the shipped rules"},
    "max_bytes": {"type": "integer", "minimum": 1, "maximum": 67108864, "default": 33554432},
    "timeout_seconds": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20}
  }
}`

// Featurizer is the YARA featurizer plugin.
type Featurizer struct {
	mu       sync.Mutex
	rules    *Ruleset
	from     string
	maxBytes int
	timeout  time.Duration
	dirFS    func(string) fs.FS
}

// New returns the featurizer with the shipped rules (compiled at
// Configure). dirFS opens a configured rules directory (os.DirFS).
func New(dirFS func(string) fs.FS) *Featurizer {
	return &Featurizer{maxBytes: DefaultMaxBytes, timeout: DefaultTimeout, dirFS: dirFS}
}

func (f *Featurizer) Info(context.Context) (plugins.Info, error) {
	return plugins.Info{Name: Name, Kind: plugins.KindFeaturizer, Version: Version, APIVersions: []uint32{plugins.APIVersion},
		Inputs: []plugins.Input{plugins.InputStatic}, Produces: []string{SetName},
		Description: "YARA rules (libyara) over the sample's bytes, as a matches set"}, nil
}

func (f *Featurizer) ConfigSchema(context.Context) (string, error) { return configSchema, nil }

// Configure compiles the rules: one that does not compile refuses the
// plugin with its file and line.
func (f *Featurizer) Configure(_ context.Context, raw []byte) error {
	var cfg Config
	if err := sdk.DecodeConfig(raw, &cfg); err != nil {
		return err
	}
	maxBytes, timeout := DefaultMaxBytes, DefaultTimeout
	if cfg.MaxBytes != 0 {
		if cfg.MaxBytes < 1 || cfg.MaxBytes > MaxMaxBytes {
			return fmt.Errorf("max_bytes %d: 1 to %d", cfg.MaxBytes, MaxMaxBytes)
		}
		maxBytes = cfg.MaxBytes
	}
	if cfg.TimeoutSeconds != 0 {
		timeout = time.Duration(cfg.TimeoutSeconds) * time.Second
		if timeout < time.Second || timeout > MaxTimeout {
			return fmt.Errorf("timeout_seconds %d: 1 to %d", cfg.TimeoutSeconds, int(MaxTimeout/time.Second))
		}
	}
	src, from := Rules(), "shipped"
	if cfg.RulesDir != "" {
		src, from = f.dirFS(cfg.RulesDir), cfg.RulesDir
	}
	rs, err := Compile(src)
	if err != nil {
		if cfg.RulesDir != "" {
			return fmt.Errorf("rules directory %s: %w", cfg.RulesDir, err)
		}
		return err
	}
	f.mu.Lock()
	f.rules, f.from, f.maxBytes, f.timeout = rs, from, maxBytes, timeout
	f.mu.Unlock()
	return nil
}

func (f *Featurizer) Featurize(ctx context.Context, in plugins.FeaturizeInput) ([]*features.Set, error) {
	f.mu.Lock()
	rs, from, maxBytes, timeout := f.rules, f.from, f.maxBytes, f.timeout
	f.mu.Unlock()
	if rs == nil {
		return nil, errors.New("yara: not configured")
	}
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) - time.Second; left < timeout {
			timeout = max(left, 100*time.Millisecond)
		}
	}
	content := in.Content
	scanned := len(content)
	if scanned > maxBytes {
		scanned = maxBytes
	}
	ms, err := rs.Scan(content[:scanned], timeout)
	if err != nil {
		return nil, err
	}
	set, err := features.MatchesSet(SetName, Version, ms)
	if err != nil {
		return nil, err
	}
	set.Meta["rules"] = strconv.Itoa(rs.Len())
	set.Meta["rules_from"] = from
	set.Meta["scanned_bytes"] = strconv.Itoa(scanned)
	if scanned < len(content) {
		set.Meta["truncated"] = "true"
	}
	return []*features.Set{set}, nil
}
