package signatures

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
)

// Set is a loaded set of rules.
type Set struct {
	Rules []*Rule
}

// Load reads every *.yaml and *.yml file of a directory tree (fsys, for
// example os.DirFS(dir) or the embedded Default) as rule files. Any error
// refuses the whole set, naming the file and line; rule ids must be unique
// across the files.
func Load(fsys fs.FS) (*Set, error) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRule, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no *.yaml rule files", ErrRule)
	}
	sort.Strings(files)
	set := &Set{}
	seen := map[string]*Rule{}
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrRule, err)
		}
		rules, err := Parse(f, b)
		if err != nil {
			return nil, err
		}
		for _, r := range rules {
			if o := seen[r.ID]; o != nil {
				return nil, fmt.Errorf("%w: %s:%d: rule id %q already defined at %s:%d", ErrRule, r.File, r.Line, r.ID, o.File, o.Line)
			}
			seen[r.ID] = r
			set.Rules = append(set.Rules, r)
		}
	}
	return set, nil
}

// lineErr is an error at a line of a rule file.
func lineErr(file string, line int, format string, a ...any) error {
	return fmt.Errorf("%w: %s:%d: %s", ErrRule, file, line, fmt.Sprintf(format, a...))
}

// Parse reads one rule file: a mapping with a "rules" list. name is the
// file's name for errors.
func Parse(name string, b []byte) ([]*Rule, error) {
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("%w: %s: %d bytes (at most %d)", ErrRule, name, len(b), MaxFileBytes)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		// yaml.v3 says "yaml: line N: ..."
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			return nil, fmt.Errorf("%w: %s:%s: YAML: %s", ErrRule, name, m[1], m[2])
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrRule, name, err)
	}
	if doc.Kind == 0 {
		return nil, fmt.Errorf("%w: %s:1: empty file", ErrRule, name)
	}
	p := parser{file: name}
	root := doc.Content[0]
	if err := p.noAliases(root); err != nil {
		return nil, err
	}
	fields, err := p.mapping(root, "rules")
	if err != nil {
		return nil, err
	}
	list := fields["rules"]
	if list == nil {
		return nil, lineErr(name, root.Line, `no "rules" list`)
	}
	if list.Kind != yaml.SequenceNode {
		return nil, lineErr(name, list.Line, `"rules" must be a list`)
	}
	if len(list.Content) > MaxRulesInFile {
		return nil, lineErr(name, list.Line, "%d rules (at most %d per file)", len(list.Content), MaxRulesInFile)
	}
	var out []*Rule
	ids := map[string]int{}
	for _, n := range list.Content {
		r, err := p.rule(n)
		if err != nil {
			return nil, err
		}
		if l, dup := ids[r.ID]; dup {
			return nil, lineErr(name, r.Line, "rule id %q already defined at line %d", r.ID, l)
		}
		ids[r.ID] = r.Line
		out = append(out, r)
	}
	return out, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)

type parser struct{ file string }

func (p parser) noAliases(n *yaml.Node) error {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return lineErr(p.file, n.Line, "YAML anchors and aliases are not allowed in rule files")
	}
	for _, c := range n.Content {
		if err := p.noAliases(c); err != nil {
			return err
		}
	}
	return nil
}

// mapping checks n is a mapping whose keys are all allowed and unique.
func (p parser) mapping(n *yaml.Node, allowed ...string) (map[string]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, lineErr(p.file, n.Line, "expected a mapping (key: value)")
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(allowed, k.Value) {
			return nil, lineErr(p.file, k.Line, "unknown field %q (allowed: %s)", k.Value, strings.Join(allowed, ", "))
		}
		if _, dup := out[k.Value]; dup {
			return nil, lineErr(p.file, k.Line, "field %q given twice", k.Value)
		}
		out[k.Value] = v
	}
	return out, nil
}

func (p parser) str(n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", lineErr(p.file, n.Line, "%s must be a single value", what)
	}
	return n.Value, nil
}

// strs accepts a list of scalars or one scalar.
func (p parser) strs(n *yaml.Node, what string) ([]string, error) {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, lineErr(p.file, n.Line, "%s must be a list of values", what)
	}
	if len(n.Content) == 0 {
		return nil, lineErr(p.file, n.Line, "%s is an empty list", what)
	}
	if len(n.Content) > MaxPatterns {
		return nil, lineErr(p.file, n.Line, "%s has %d entries (at most %d)", what, len(n.Content), MaxPatterns)
	}
	var out []string
	for _, c := range n.Content {
		s, err := p.str(c, what+" entry")
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (p parser) regex(n *yaml.Node, what string) (*regexp.Regexp, error) {
	s, err := p.str(n, what)
	if err != nil {
		return nil, err
	}
	if s == "" || len(s) > MaxRegexLen {
		return nil, lineErr(p.file, n.Line, "%s: a regular expression of 1-%d bytes", what, MaxRegexLen)
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, lineErr(p.file, n.Line, "%s: %v", what, err)
	}
	return re, nil
}

func (p parser) rule(n *yaml.Node) (*Rule, error) {
	f, err := p.mapping(n, "id", "description", "severity", "techniques", "match")
	if err != nil {
		return nil, err
	}
	r := &Rule{File: p.file, Line: n.Line}
	for _, k := range []string{"id", "description", "severity", "techniques", "match"} {
		if f[k] == nil {
			return nil, lineErr(p.file, n.Line, "rule without %q", k)
		}
	}
	if r.ID, err = p.str(f["id"], "id"); err != nil {
		return nil, err
	}
	if !ruleID.MatchString(r.ID) {
		return nil, lineErr(p.file, f["id"].Line, "id %q: 2-63 characters of a-z, 0-9 and -", r.ID)
	}
	if r.Description, err = p.str(f["description"], "description"); err != nil {
		return nil, err
	}
	if strings.TrimSpace(r.Description) == "" || len(r.Description) > features.MaxDescription {
		return nil, lineErr(p.file, f["description"].Line, "description: 1-%d bytes", features.MaxDescription)
	}
	sev, err := p.str(f["severity"], "severity")
	if err != nil {
		return nil, err
	}
	if v, ok := severityNames[strings.ToLower(sev)]; ok {
		r.Severity = v
	} else if v, err := strconv.Atoi(sev); err == nil && v >= features.SeverityMin && v <= features.SeverityMax {
		r.Severity = v
	} else {
		return nil, lineErr(p.file, f["severity"].Line, "severity %q: 1-5 or info, low, medium, high, critical", sev)
	}
	if r.Techniques, err = p.strs(f["techniques"], "techniques"); err != nil {
		return nil, err
	}
	if len(r.Techniques) > features.MaxTechniques {
		return nil, lineErr(p.file, f["techniques"].Line, "%d techniques (at most %d)", len(r.Techniques), features.MaxTechniques)
	}
	for _, t := range r.Techniques {
		if !features.ValidTechnique(t) {
			return nil, lineErr(p.file, f["techniques"].Line, "technique %q is not an ATT&CK id like T1059 or T1059.004", t)
		}
	}
	if err := p.matchPart(r, f["match"]); err != nil {
		return nil, err
	}
	return r, nil
}

func (p parser) matchPart(r *Rule, n *yaml.Node) error {
	f, err := p.mapping(n, "any", "all", "min", "distinct")
	if err != nil {
		return err
	}
	if f["any"] == nil && f["all"] == nil {
		return lineErr(p.file, n.Line, `match needs "any" or "all" (or both)`)
	}
	for _, k := range []string{"any", "all"} {
		l := f[k]
		if l == nil {
			continue
		}
		if l.Kind != yaml.SequenceNode || len(l.Content) == 0 {
			return lineErr(p.file, l.Line, "%s: a non-empty list of conditions", k)
		}
		if len(l.Content) > MaxClauses {
			return lineErr(p.file, l.Line, "%s: %d conditions (at most %d)", k, len(l.Content), MaxClauses)
		}
		for _, c := range l.Content {
			cl, err := p.clause(c)
			if err != nil {
				return err
			}
			if k == "any" {
				r.any = append(r.any, cl)
			} else {
				r.all = append(r.all, cl)
			}
		}
	}
	r.min = 1
	if m := f["min"]; m != nil {
		if f["any"] == nil {
			return lineErr(p.file, m.Line, `min counts the events matching "any": add it`)
		}
		v, err := strconv.Atoi(m.Value)
		if err != nil || m.Kind != yaml.ScalarNode || v < 1 || v > 1_000_000 {
			return lineErr(p.file, m.Line, "min %q: a count from 1 to 1000000", m.Value)
		}
		r.min = v
	}
	if d := f["distinct"]; d != nil {
		if d.Kind != yaml.ScalarNode || (d.Value != "true" && d.Value != "false") {
			return lineErr(p.file, d.Line, "distinct: true or false")
		}
		r.distinct = d.Value == "true"
	}
	return nil
}

var clauseFields = []string{"calls", "exe", "path", "path2", "flags", "argv", "argv_not", "addr", "result",
	"api", "api_args", "written_then_exec", "socket_shell"}

func (p parser) clause(n *yaml.Node) (*clause, error) {
	f, err := p.mapping(n, clauseFields...)
	if err != nil {
		return nil, err
	}
	c := &clause{line: n.Line, result: "ok"}
	if v := f["calls"]; v != nil {
		names, err := p.strs(v, "calls")
		if err != nil {
			return nil, err
		}
		c.calls = map[string]bool{}
		for _, s := range names {
			if !knownCall(s) {
				return nil, lineErr(p.file, v.Line, "unknown system call %q", s)
			}
			c.calls[s] = true
		}
	}
	globs := func(k string, exe bool) ([]*pattern, error) {
		v := f[k]
		if v == nil {
			return nil, nil
		}
		gs, err := p.strs(v, k)
		if err != nil {
			return nil, err
		}
		var out []*pattern
		for _, g := range gs {
			var re *pattern
			if exe {
				re, err = exeGlob(g)
			} else {
				re, err = compileGlob(g)
			}
			if err != nil {
				return nil, lineErr(p.file, v.Line, "%s: %v", k, err)
			}
			out = append(out, re)
		}
		return out, nil
	}
	if c.exe, err = globs("exe", true); err != nil {
		return nil, err
	}
	if c.path, err = globs("path", false); err != nil {
		return nil, err
	}
	if c.path2, err = globs("path2", false); err != nil {
		return nil, err
	}
	if v := f["flags"]; v != nil {
		fl, err := p.strs(v, "flags")
		if err != nil {
			return nil, err
		}
		for _, s := range fl {
			if !knownFlags[s] {
				return nil, lineErr(p.file, v.Line, "unknown open flag %q (O_WRONLY, O_CREAT, ... or write)", s)
			}
			if s == "write" {
				c.flags = append(c.flags, writeFlags...)
			} else {
				c.flags = append(c.flags, s)
			}
		}
	}
	for k, dst := range map[string]**regexp.Regexp{"argv": &c.argv, "argv_not": &c.argvNot, "addr": &c.addr, "api_args": &c.apiArgs} {
		if v := f[k]; v != nil {
			if *dst, err = p.regex(v, k); err != nil {
				return nil, err
			}
		}
	}
	if v := f["result"]; v != nil {
		if v.Kind != yaml.ScalarNode || (v.Value != "ok" && v.Value != "failed" && v.Value != "any") {
			return nil, lineErr(p.file, v.Line, "result: ok, failed or any")
		}
		c.result = v.Value
	}
	if v := f["api"]; v != nil {
		names, err := p.strs(v, "api")
		if err != nil {
			return nil, err
		}
		c.api = map[string]bool{}
		for _, s := range names {
			mod, fn, ok := strings.Cut(s, ".")
			if !ok || mod == "" || fn == "" || strings.ContainsAny(s, " \t/") {
				return nil, lineErr(p.file, v.Line, "api %q: Module.Function, e.g. KERNEL32.CreateRemoteThread", s)
			}
			c.api[strings.ToLower(s)] = true
		}
	}
	for k, dst := range map[string]*bool{"written_then_exec": &c.written, "socket_shell": &c.sockShel} {
		if v := f[k]; v != nil {
			if v.Kind != yaml.ScalarNode || (v.Value != "true" && v.Value != "false") {
				return nil, lineErr(p.file, v.Line, "%s: true or false", k)
			}
			*dst = v.Value == "true"
		}
	}
	// What the clause applies to must be said, and its parts must fit.
	switch {
	case c.api != nil:
		if c.calls != nil || c.exe != nil || c.path != nil || c.path2 != nil || c.flags != nil || c.argv != nil ||
			c.argvNot != nil || c.addr != nil || c.written || c.sockShel || f["result"] != nil {
			return nil, lineErr(p.file, n.Line, "an api condition takes only api and api_args")
		}
	case c.apiArgs != nil:
		return nil, lineErr(p.file, n.Line, "api_args needs api")
	case c.sockShel:
		if len(f) != 1 {
			return nil, lineErr(p.file, n.Line, "socket_shell stands alone in its condition")
		}
	case c.exe != nil || c.argv != nil || c.argvNot != nil || c.written:
		if c.calls != nil {
			for k := range c.calls {
				if !execCalls[k] {
					return nil, lineErr(p.file, n.Line, "exe, argv and written_then_exec apply to execve/execveat only, not %s", k)
				}
			}
		} else {
			c.calls = execCalls
		}
		if c.path2 != nil || c.flags != nil || c.addr != nil {
			return nil, lineErr(p.file, n.Line, "path2, flags and addr do not apply to execve")
		}
	case c.calls == nil:
		return nil, lineErr(p.file, n.Line, "a condition needs calls, exe, argv, api, written_then_exec or socket_shell")
	}
	return c, nil
}

// base is path.Base of an exec path, "" for "".
func base(p string) string {
	if p == "" {
		return ""
	}
	return path.Base(p)
}
