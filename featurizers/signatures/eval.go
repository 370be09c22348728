package signatures

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// ErrCorpus is wrapped by every error about a corpus folder.
var ErrCorpus = errors.New("invalid corpus")

// CorpusFile is the index of a corpus folder.
const CorpusFile = "corpus.jsonl"

// maxTraceBytes bounds one trace file of a corpus.
const maxTraceBytes = 1 << 30

// CorpusItem is one line of corpus.jsonl: a labelled run whose trace is
// the file Trace (relative to the corpus folder).
type CorpusItem struct {
	ID         string   `json:"id"`
	Label      string   `json:"label"` // "malware" or "benign"
	Group      string   `json:"group"` // ATT&CK technique or benign program
	Techniques []string `json:"techniques,omitempty"`
	Source     string   `json:"source,omitempty"`
	Name       string   `json:"name,omitempty"`
	Status     string   `json:"status"` // only "done" items are measured
	Trace      string   `json:"trace"`
}

// ReadCorpus reads dir/corpus.jsonl. Unknown fields are ignored (the
// corpus may carry more than this reader needs); a line that does not
// decode, an item without id or with another label, or a trace path that
// leaves the folder is an error naming the line.
func ReadCorpus(dir string) ([]CorpusItem, error) {
	f, err := os.Open(filepath.Join(dir, CorpusFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorpus, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	var out []CorpusItem
	seen := map[string]int{}
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var it CorpusItem
		if err := json.Unmarshal(line, &it); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %v", ErrCorpus, CorpusFile, n, err)
		}
		switch {
		case it.ID == "":
			return nil, fmt.Errorf("%w: %s:%d: item without id", ErrCorpus, CorpusFile, n)
		case it.Label != "malware" && it.Label != "benign":
			return nil, fmt.Errorf("%w: %s:%d: item %s: label %q (malware or benign)", ErrCorpus, CorpusFile, n, it.ID, it.Label)
		case it.Status == "done" && (it.Trace == "" || filepath.IsAbs(it.Trace) || !filepath.IsLocal(it.Trace)):
			return nil, fmt.Errorf("%w: %s:%d: item %s: trace %q must be a path inside the corpus folder", ErrCorpus, CorpusFile, n, it.ID, it.Trace)
		}
		if l, dup := seen[it.ID]; dup {
			return nil, fmt.Errorf("%w: %s:%d: item %s already on line %d", ErrCorpus, CorpusFile, n, it.ID, l)
		}
		seen[it.ID] = n
		out = append(out, it)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorpus, CorpusFile, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s has no items", ErrCorpus, CorpusFile)
	}
	return out, nil
}

// ReadTrace reads a trace file: JSON of trace.Trace (.json), or the
// orchestrator's JSON lines (.jsonl, .jsonl.gz); .gz files are
// decompressed.
func ReadTrace(path string) (*trace.Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	name := path
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r, name = zr, strings.TrimSuffix(name, ".gz")
	}
	r = io.LimitReader(r, maxTraceBytes+1)
	if strings.HasSuffix(name, ".jsonl") {
		return trace.ReadJSONL(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if len(b) > maxTraceBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxTraceBytes)
	}
	var t trace.Trace
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", trace.ErrMalformed, path, err)
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &t, nil
}

// Threshold is the P(malware) (Score) at which a run counts as detected:
// the behavior-signatures classifier's malware label.
const Threshold = 0.5

// ItemResult is one measured corpus item.
type ItemResult struct {
	ID         string   `json:"id"`
	Label      string   `json:"label"`
	Group      string   `json:"group"`
	Techniques []string `json:"techniques,omitempty"`
	Score      float64  `json:"score"`    // Score of its matches
	Detected   bool     `json:"detected"` // Score >= Threshold
	Rules      []string `json:"rules,omitempty"`
	// MaxSeverity is the highest severity matched (0: nothing matched).
	// A critical match decides the verdict in the orchestrator
	// (docs/signatures.md, "Decisive signatures").
	MaxSeverity int `json:"max_severity,omitempty"`
	// SameTechnique: a matched rule names one of the item's techniques
	// (or its parent technique, or a sub-technique of it).
	SameTechnique bool   `json:"same_technique"`
	Error         string `json:"error,omitempty"` // its trace could not be read
}

// TechniqueResult is the detection of one technique's malicious items.
type TechniqueResult struct {
	Technique     string `json:"technique"`
	Items         int    `json:"items"`
	Detected      int    `json:"detected"`       // Score >= Threshold
	AnyMatch      int    `json:"any_match"`      // at least one rule matched
	SameTechnique int    `json:"same_technique"` // a rule of this technique matched
}

// RuleResult is how often one rule matched malicious and benign items.
type RuleResult struct {
	ID      string `json:"id"`
	Malware int    `json:"malware"`
	Benign  int    `json:"benign"`
}

// Evaluation is the signatures measured on a corpus.
type Evaluation struct {
	Rules    int          `json:"rules"`
	Items    []ItemResult `json:"items"`
	Skipped  int          `json:"skipped"` // items not done
	Errors   int          `json:"errors"`  // done items whose trace could not be read
	Malware  int          `json:"malware"`
	Benign   int          `json:"benign"`
	TP       int          `json:"tp"`       // malware detected
	FP       int          `json:"fp"`       // benign detected
	TPR      float64      `json:"tpr"`      // detected malware / malware
	FPR      float64      `json:"fpr"`      // detected benign / benign
	Accuracy float64      `json:"accuracy"` // at Threshold
	// CriticalMalware and CriticalBenign count the items with a critical
	// match: what the decisive-signature rule alone would call malware.
	CriticalMalware int               `json:"critical_malware"`
	CriticalBenign  int               `json:"critical_benign"`
	Techniques      []TechniqueResult `json:"techniques"`
	PerRule         []RuleResult      `json:"per_rule"`
}

// sameTechnique reports whether technique ids a and b are the same, or one
// is the parent of the other (T1053 and T1053.003).
func sameTechnique(a, b string) bool {
	if a == b {
		return true
	}
	pa, _, _ := strings.Cut(a, ".")
	pb, _, _ := strings.Cut(b, ".")
	return pa == pb && (pa == a || pb == b)
}

// Evaluate matches the rules against every done item of the corpus in dir.
// A trace that cannot be read is counted in Errors and left out of the
// figures (its error is in its ItemResult).
func (s *Set) Evaluate(ctx context.Context, dir string) (*Evaluation, error) {
	items, err := ReadCorpus(dir)
	if err != nil {
		return nil, err
	}
	ev := &Evaluation{Rules: len(s.Rules)}
	techs := map[string]*TechniqueResult{}
	rules := map[string]*RuleResult{}
	for _, it := range items {
		if it.Status != "done" {
			ev.Skipped++
			continue
		}
		res := ItemResult{ID: it.ID, Label: it.Label, Group: it.Group, Techniques: it.Techniques}
		t, err := ReadTrace(filepath.Join(dir, it.Trace))
		var ms []features.Match
		if err == nil {
			ms, err = s.Match(ctx, t)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res.Error = err.Error()
			ev.Errors++
			ev.Items = append(ev.Items, res)
			continue
		}
		res.Score = Score(ms)
		res.Detected = res.Score >= Threshold
		for _, m := range ms {
			res.Rules = append(res.Rules, m.ID)
			res.MaxSeverity = max(res.MaxSeverity, m.Severity)
			rr := rules[m.ID]
			if rr == nil {
				rr = &RuleResult{ID: m.ID}
				rules[m.ID] = rr
			}
			if it.Label == "malware" {
				rr.Malware++
			} else {
				rr.Benign++
			}
		}
		critical := res.MaxSeverity >= features.SeverityMax
		if it.Label == "malware" {
			ev.Malware++
			if res.Detected {
				ev.TP++
			}
			if critical {
				ev.CriticalMalware++
			}
			tl := it.Techniques
			if len(tl) == 0 {
				tl = []string{it.Group}
			}
			for _, tech := range tl {
				same := false
				for _, m := range ms {
					for _, mt := range m.Techniques {
						same = same || sameTechnique(tech, mt)
					}
				}
				res.SameTechnique = res.SameTechnique || same
				tr := techs[tech]
				if tr == nil {
					tr = &TechniqueResult{Technique: tech}
					techs[tech] = tr
				}
				tr.Items++
				if res.Detected {
					tr.Detected++
				}
				if len(ms) > 0 {
					tr.AnyMatch++
				}
				if same {
					tr.SameTechnique++
				}
			}
		} else {
			ev.Benign++
			if res.Detected {
				ev.FP++
			}
			if critical {
				ev.CriticalBenign++
			}
		}
		ev.Items = append(ev.Items, res)
	}
	if ev.Malware > 0 {
		ev.TPR = float64(ev.TP) / float64(ev.Malware)
	}
	if ev.Benign > 0 {
		ev.FPR = float64(ev.FP) / float64(ev.Benign)
	}
	if n := ev.Malware + ev.Benign; n > 0 {
		ev.Accuracy = float64(ev.TP+ev.Benign-ev.FP) / float64(n)
	}
	for _, tr := range techs {
		ev.Techniques = append(ev.Techniques, *tr)
	}
	sort.Slice(ev.Techniques, func(i, j int) bool { return ev.Techniques[i].Technique < ev.Techniques[j].Technique })
	for _, rr := range rules {
		ev.PerRule = append(ev.PerRule, *rr)
	}
	sort.Slice(ev.PerRule, func(i, j int) bool {
		if ev.PerRule[i].Benign != ev.PerRule[j].Benign {
			return ev.PerRule[i].Benign > ev.PerRule[j].Benign
		}
		return ev.PerRule[i].ID < ev.PerRule[j].ID
	})
	return ev, nil
}

// WriteText prints the evaluation: the totals, per-technique detection,
// the benign runs flagged and how often each rule fired on each label.
func (ev *Evaluation) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	p("Signatures: %d rules; detected = P(malware) >= %.2f (signatures.Score)\n", ev.Rules, Threshold)
	p("Items: %d malware, %d benign measured; %d not done skipped; %d traces unreadable\n", ev.Malware, ev.Benign, ev.Skipped, ev.Errors)
	p("Detection (TPR) %.3f (%d/%d)   false positives (FPR) %.3f (%d/%d)   accuracy %.3f\n",
		ev.TPR, ev.TP, ev.Malware, ev.FPR, ev.FP, ev.Benign, ev.Accuracy)
	p("Critical matches (decisive in the orchestrator): malware %d/%d, benign %d/%d\n\n",
		ev.CriticalMalware, ev.Malware, ev.CriticalBenign, ev.Benign)
	if len(ev.Techniques) > 0 {
		p("| technique | items | detected | any rule | rule of this technique |\n|---|---|---|---|---|\n")
		for _, t := range ev.Techniques {
			p("| %s | %d | %d (%.0f%%) | %d | %d |\n", t.Technique, t.Items, t.Detected, 100*float64(t.Detected)/float64(t.Items), t.AnyMatch, t.SameTechnique)
		}
		p("\n")
	}
	var fps []ItemResult
	for _, it := range ev.Items {
		if it.Label == "benign" && it.Detected {
			fps = append(fps, it)
		}
	}
	if len(fps) > 0 {
		p("Benign runs called malware (%d):\n", len(fps))
		for _, it := range fps {
			p("  %s (%s) %.2f: %s\n", it.ID, it.Group, it.Score, strings.Join(it.Rules, ", "))
		}
		p("\n")
	}
	if len(ev.PerRule) > 0 {
		p("| rule | malware runs | benign runs |\n|---|---|---|\n")
		for _, r := range ev.PerRule {
			p("| %s | %d | %d |\n", r.ID, r.Malware, r.Benign)
		}
	}
	for _, it := range ev.Items {
		if it.Error != "" {
			p("unreadable: %s: %s\n", it.ID, it.Error)
		}
	}
	return bw.Flush()
}
