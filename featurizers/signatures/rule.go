// Package signatures matches behaviour signatures against a guest trace:
// readable rules, each with an id, a description, a severity and MITRE
// ATT&CK technique ids, over the system calls (and the Windows API calls of
// a program run under Wine) that the guest agent recorded.
//
// Rules are data: YAML files (see docs/signatures.md for the language and
// every shipped rule). The shipped rules are embedded (rules/*.yaml,
// Default); Load reads another directory. A rule file that does not parse or
// breaks a rule of the language is refused whole, with its file and line
// (ErrRule), so a bad rule is found when the orchestrator starts, never on
// a sample.
package signatures

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
)

// ErrRule is wrapped by every error about a rule file.
var ErrRule = errors.New("invalid signature rule")

// Source is the features.Match source of every signature match.
const Source = "signatures"

// Rule is one compiled behaviour signature.
type Rule struct {
	ID          string
	Description string
	Severity    int      // 1 (info) .. 5 (critical)
	Techniques  []string // ATT&CK ids
	File        string   // where it was defined
	Line        int

	any      []*clause // OR: events matching any of these count
	all      []*clause // AND: each must match at least one event
	min      int       // matching events (or distinct keys) the any-part needs
	distinct bool      // count distinct event keys instead of events
}

// Severity names accepted in rule files, beside the numbers 1-5.
var severityNames = map[string]int{"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

// SeverityName is the name of a severity level.
func SeverityName(s int) string {
	for k, v := range severityNames {
		if v == s {
			return k
		}
	}
	return fmt.Sprint(s)
}

// clause is one event condition; every field set must hold.
type clause struct {
	line     int
	calls    map[string]bool // system call names; nil: any call the other fields allow
	exe      []*pattern
	path     []*pattern
	path2    []*pattern
	flags    []string // any of
	argv     *regexp.Regexp
	argvNot  *regexp.Regexp
	addr     *regexp.Regexp
	result   string // ok, failed, any
	api      map[string]bool
	apiArgs  *regexp.Regexp
	written  bool // written_then_exec
	sockShel bool // socket_shell
}

// writeFlags is what "flags: [write]" stands for.
var writeFlags = []string{"O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"}

var knownFlags = map[string]bool{"write": true, "O_RDONLY": true, "O_WRONLY": true, "O_RDWR": true,
	"O_CREAT": true, "O_EXCL": true, "O_NOCTTY": true, "O_TRUNC": true, "O_APPEND": true, "O_NONBLOCK": true,
	"O_DSYNC": true, "O_ASYNC": true, "O_DIRECT": true, "O_LARGEFILE": true, "O_DIRECTORY": true,
	"O_NOFOLLOW": true, "O_NOATIME": true, "O_CLOEXEC": true, "O_PATH": true, "O_TMPFILE": true, "O_SYNC": true}

var execCalls = map[string]bool{"execve": true, "execveat": true}

var ruleID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// Limits of a rule file, so that a rules directory stays small and readable.
const (
	MaxFileBytes   = 1 << 20
	MaxRulesInFile = 500
	MaxClauses     = 32
	MaxPatterns    = 64
	MaxRegexLen    = 1024
)

// pattern is a compiled glob with its literal prefix and suffix, checked
// before the regular expression (most paths fail them).
type pattern struct {
	re             *regexp.Regexp
	prefix, suffix string
}

func (p *pattern) match(s string) bool {
	return strings.HasPrefix(s, p.prefix) && strings.HasSuffix(s, p.suffix) && p.re.MatchString(s)
}

// literalEnds returns the literal text a glob starts and ends with.
func literalEnds(g string) (prefix, suffix string) {
	const special = "*?[{~"
	i := strings.IndexAny(g, special)
	if i < 0 {
		return g, g
	}
	prefix = g[:i]
	j := strings.LastIndexAny(g, special+"]}")
	suffix = g[j+1:]
	if j >= 1 && g[j-1:j+1] == "**" {
		suffix = strings.TrimPrefix(suffix, "/") // "**/" also matches nothing
	}
	if strings.HasPrefix(g, "~") {
		prefix = ""
	}
	return prefix, suffix
}

// compileGlob is glob with the literal prefix and suffix.
func compileGlob(g string) (*pattern, error) {
	re, err := glob(g)
	if err != nil {
		return nil, err
	}
	p, s := literalEnds(g)
	return &pattern{re: re, prefix: p, suffix: s}, nil
}

// glob compiles a path glob to an anchored regexp: "*" is any run of
// characters but "/", "**" any run including "/" ("**/" also none), "?" one character but
// "/", "[a-z]" one character of a class ("[!...]" not of it), "{a,b}" either
// alternative (not nested), a leading "~/" a home
// directory (/root or /home/NAME). Everything else is literal.
func glob(g string) (*regexp.Regexp, error) {
	if g == "" {
		return nil, errors.New("empty glob")
	}
	var b strings.Builder
	b.WriteString("^")
	if rest, ok := strings.CutPrefix(g, "~/"); ok {
		b.WriteString("(?:/root|/home/[^/]+)/")
		g = rest
	}
	inBrace := false
	for i := 0; i < len(g); i++ {
		c := g[i]
		switch {
		case c == '*' && i+2 < len(g) && g[i+1] == '*' && g[i+2] == '/':
			b.WriteString("(?:.*/)?")
			i += 2
		case c == '*' && i+1 < len(g) && g[i+1] == '*':
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '{' && !inBrace:
			b.WriteString("(?:")
			inBrace = true
		case c == '}' && inBrace:
			b.WriteString(")")
			inBrace = false
		case c == ',' && inBrace:
			b.WriteString("|")
		case c == '[':
			j := strings.IndexByte(g[i:], ']')
			if j < 2 {
				return nil, fmt.Errorf("glob %q: unclosed or empty [class]", g)
			}
			class := g[i+1 : i+j]
			if strings.ContainsAny(class, "[\\/") {
				return nil, fmt.Errorf("glob %q: [class] holds [, \\ or /", g)
			}
			if class[0] == '!' {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += j
		case c == '{' || c == '}':
			return nil, fmt.Errorf("glob %q: nested or unbalanced braces", g)
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	if inBrace {
		return nil, fmt.Errorf("glob %q: unclosed brace", g)
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// exeGlob compiles an exe pattern: a glob over the executed path when it
// holds a "/", else over the path's last element.
func exeGlob(g string) (*pattern, error) {
	if strings.Contains(g, "/") {
		return compileGlob(g)
	}
	return compileGlob("**/" + g)
}

// match converts a compiled rule to its report form.
func (r *Rule) match(count int, evidence []string) features.Match {
	return features.Match{ID: r.ID, Source: Source, Description: r.Description, Severity: r.Severity,
		Techniques: append([]string{}, r.Techniques...), Evidence: evidence, Count: count}
}
