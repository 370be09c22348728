package report

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// Limits of the human rendering; the JSON report has everything.
const (
	renderListMax  = 20  // entries shown per list
	renderTreeMax  = 100 // processes shown in the tree
	renderSparkMax = 100 // columns of the per-window row
	renderTopMax   = 10  // calls shown in "Top calls"
	renderOutMax   = 800 // bytes of the sample's output shown
)

// Render writes r for a terminal: the verdict first, then sample, machine, outcome, step timings,
// process tree, files written, programs executed, connections, top calls
// and a per-window activity row. Strings from the sample (paths, argv,
// output) are escaped, so a hostile sample cannot inject terminal control
// sequences.
func Render(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	p := &printer{w: bw}
	p.verdict(r)
	p.signatures(r)
	p.header(r)
	p.votes(r)
	p.processes(r.Behavior.Processes)
	p.lists(&r.Behavior)
	p.winAPI(r)
	p.traffic(r.Network)
	p.calls(r)
	if r.Outcome.Output != "" {
		p.section("Output", "")
		out := r.Outcome.Output
		if len(out) > renderOutMax {
			out = out[:renderOutMax]
		}
		for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			p.f("  | %s\n", clean(line))
		}
	}
	if r.Trace.Path != "" {
		p.f("\nTrace      %s (%s, %d bytes)\n", clean(r.Trace.Path), clean(r.Trace.Format), r.Trace.Size)
	}
	return bw.Flush()
}

type printer struct{ w *bufio.Writer }

// verdict shows the fused two-stage verdict in a few lines: the label with
// its probability and threshold, the family, which votes moved it most and
// which were missing.
func (p *printer) verdict(r *Report) {
	v := r.Verdict
	if v == nil {
		if r.NoVerdict != "" {
			p.f("VERDICT    none: %s\n\n", clean(r.NoVerdict))
		}
		return
	}
	switch v.Label {
	case VerdictUnknown:
		p.f("VERDICT    UNKNOWN: %s\n", clean(v.Error))
	default:
		word := "BENIGN"
		if v.Label == VerdictMalware {
			word = "MALWARE"
		}
		rel := "<"
		if v.Probability >= v.Threshold {
			rel = ">="
		}
		p.f("VERDICT    %s  (P(malware) %.3f %s threshold %.3f, %s)\n", word, v.Probability, rel, v.Threshold, clean(v.ThresholdRule))
	}
	for i, d := range v.DecidedBy {
		lead := "  decided "
		if i > 0 {
			lead = "          "
		}
		p.f("%s by signature %s\n", lead, clean(d))
	}
	if v.Family != "" {
		p.f("  family   %s (%.3f, from %s)\n", clean(v.Family), v.FamilyScore, clean(strings.Join(v.FamilyVoters, ", ")))
	} else if v.Label == VerdictMalware {
		p.f("  family   not named (no family classifier gave one)\n")
	}
	if len(v.Contributions) > 0 {
		cs := append([]Contribution(nil), v.Contributions...)
		sort.SliceStable(cs, func(i, j int) bool { return math.Abs(cs[i].Delta) > math.Abs(cs[j].Delta) })
		for i, c := range cs {
			lead := "  why     "
			if i > 0 {
				lead = "          "
			}
			dir := "towards malware"
			if c.Delta < 0 {
				dir = "towards benign"
			}
			if c.Prior {
				p.row(lead+" ", 24, clean(c.Classifier), fmt.Sprintf("%+.3f %s (said %.3f, weight %.2f: counted with a prior weight, not fitted)", c.Delta, dir, c.Raw, c.Weight))
				p.explain("           ", voteExplanation(r, c.Classifier))
				continue
			}
			p.row(lead+" ", 24, clean(c.Classifier), fmt.Sprintf("%+.3f %s (said %.3f, calibrated %.3f, weight %.2f)", c.Delta, dir, c.Raw, c.Calibrated, c.Weight))
			p.explain("           ", voteExplanation(r, c.Classifier))
		}
	}
	for i, m := range v.Missing {
		lead := "  missing "
		if i > 0 {
			lead = "          "
		}
		line := clean(m.Status)
		if m.Reason != "" {
			line += ": " + shorten(clean(m.Reason), 100)
		}
		p.row(lead+" ", 24, clean(m.Classifier), line)
	}
	if len(v.Ignored) > 0 {
		p.f("  ignored  %s (not in the fusion model; `serve --fusion-unfitted-weight` counts them, `plugins oof` + `train fusion` fits them)\n", clean(strings.Join(v.Ignored, ", ")))
		for _, name := range v.Ignored { // what they said, so an ignored vote is not silent
			for _, vo := range r.Votes {
				if vo.Classifier == name && vo.Error == "" && !vo.Abstained {
					p.row("           ", 24, clean(name), "said "+clean(vo.Label))
					p.explain("           ", vo.Explanation)
				}
			}
		}
	}
	p.f("  method   %s, fusion model %s\n\n", clean(v.Method), clean(v.Model))
}

// renderSigEvidence is how many evidence lines a signature shows.
const renderSigEvidence = 2

// signatures shows the matched rules right after the verdict: why, in
// words an analyst can check against the evidence.
func (p *printer) signatures(r *Report) {
	if len(r.Signatures) == 0 {
		return
	}
	p.f("SIGNATURES (%d)\n", len(r.Signatures))
	for i, s := range r.Signatures {
		if i == renderListMax {
			p.f("  ... %d more in the JSON report\n", len(r.Signatures)-i)
			break
		}
		p.f("  %d %-8s %-28s %s  [%s; %s]\n", s.Severity, severityWord(s.Severity), clean(s.ID), shorten(clean(s.Description), 90),
			clean(strings.Join(s.Techniques, ",")), clean(s.Source))
		for j, e := range s.Evidence {
			if j == renderSigEvidence {
				if s.Count > j {
					p.f("             ... %d matching in all\n", s.Count)
				}
				break
			}
			p.f("             %s\n", shorten(clean(e), 110))
		}
	}
	p.f("\n")
}

func severityWord(s int) string {
	switch s {
	case 1:
		return "info"
	case 2:
		return "low"
	case 3:
		return "medium"
	case 4:
		return "high"
	case 5:
		return "critical"
	}
	return "?"
}

// votes shows each classifier's vote, abstention or failure, the feature
// sets that fed them, and plugins that could not take part.
func (p *printer) votes(r *Report) {
	if len(r.Votes) > 0 {
		p.section("Votes", strconv.Itoa(len(r.Votes)))
		for _, v := range r.Votes {
			name := clean(v.Classifier)
			switch {
			case v.Error != "":
				p.row("  ", 22, name, "FAILED: "+clean(v.Error))
			case v.Abstained:
				p.row("  ", 22, name, "abstained: "+clean(v.Reason))
			default:
				top := 0.0
				for _, s := range v.Scores {
					if s.Class == v.Label {
						top = s.Score
					}
				}
				p.row("  ", 22, name, fmt.Sprintf("%-9s %-10s %.3f  (%s, %s)", shorten(clean(v.Stage), 9), shorten(clean(v.Label), 10), top,
					clean(strings.Join(v.Inputs, "+")), v.Duration.Round(time.Millisecond)))
				p.explain(strings.Repeat(" ", 25), v.Explanation)
			}
		}
	}
	if len(r.PluginProblems) > 0 {
		p.section("Plugins unavailable", strconv.Itoa(len(r.PluginProblems)))
		for _, pp := range r.PluginProblems {
			p.row("  ", 22, clean(pp.Plugin), clean(pp.State)+": "+clean(pp.Error))
		}
	}
	if len(r.Features) > 0 {
		var parts []string
		for _, f := range r.Features {
			switch {
			case f.NotApplicable:
				parts = append(parts, clean(f.Featurizer)+" n/a")
			case f.Error != "":
				parts = append(parts, clean(f.Featurizer)+" FAILED")
			default:
				parts = append(parts, fmt.Sprintf("%s[%d]", clean(f.Set), f.Size))
			}
		}
		p.f("\nFeatures   %s\n", strings.Join(parts, " · "))
	}
}

func (p *printer) f(format string, a ...any) { fmt.Fprintf(p.w, format, a...) }

// row prints lead, name in a column of width runes, then rest. A longer
// name (plugin names are free-form) gets a line of its own and rest goes
// under the column on the next, so the columns stay aligned.
func (p *printer) row(lead string, width int, name, rest string) {
	n := utf8.RuneCountInString(name)
	if n > width {
		name = shorten(name, MaxNameShown)
		p.f("%s%s\n", lead, name)
		p.f("%s%s %s\n", strings.Repeat(" ", utf8.RuneCountInString(lead)), strings.Repeat(" ", width), rest)
		return
	}
	p.f("%s%s%s %s\n", lead, name, strings.Repeat(" ", width-n), rest)
}

// MaxNameShown bounds a plugin name in the text report; longer ones end
// in "…" (the JSON has them whole).
const MaxNameShown = 100

// explain prints a vote's explanation under its line, wrapped at about
// 100 columns, at most 4 lines (the JSON has it whole).
func (p *printer) explain(indent, text string) {
	words := strings.Fields(text) // newlines and tabs become single spaces
	if len(words) == 0 {
		return
	}
	const width, maxLines = 100, 4
	var lines []string
	cur := ""
	for _, w := range words {
		w = shorten(clean(w), width)
		if cur != "" && utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(w) > width {
			lines = append(lines, cur)
			cur = ""
		}
		if cur != "" {
			cur += " "
		}
		cur += w
	}
	lines = append(lines, cur)
	if len(lines) > maxLines {
		lines = lines[:maxLines]
		lines[maxLines-1] = shorten(lines[maxLines-1], width-1) + "…"
	}
	for i, l := range lines {
		mark := "  "
		if i == 0 {
			mark = "↳ "
		}
		p.f("%s%s%s\n", indent, mark, l)
	}
}

// voteExplanation is the explanation of the classifier's vote, if any.
func voteExplanation(r *Report, classifier string) string {
	for _, v := range r.Votes {
		if v.Classifier == classifier {
			return v.Explanation
		}
	}
	return ""
}

func (p *printer) section(title, note string) {
	if note != "" {
		p.f("\n%s (%s)\n", title, note)
	} else {
		p.f("\n%s\n", title)
	}
}

func (p *printer) header(r *Report) {
	p.f("Job        %s", clean(r.JobID))
	if !r.Created.IsZero() {
		p.f("  (reported %s)", r.Created.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	p.f("\n")
	s := r.Sample
	p.f("Sample     %s\n", clean(s.Name))
	p.f("  sha256   %s\n", s.SHA256)
	p.f("  size     %s\n", size(s.Size))
	p.f("  type     %s\n", clean(s.Type))
	if o := r.Outcome; o.Format != "" || o.Runner != "" {
		p.f("  format   %s", orDash(clean(o.Format)))
		if o.Runner != "" {
			p.f(", run as [%s]", clean(o.Runner))
		}
		p.f("\n")
	}
	m := r.Machine
	p.f("Machine    %s", orDash(clean(m.Slot)))
	if m.Hypervisor != "" {
		p.f(" on %s", clean(m.Hypervisor))
	}
	if m.Kernel != "" {
		p.f(", kernel %s", clean(m.Kernel))
	}
	if m.AgentVersion != "" {
		p.f(", agent %s", clean(m.AgentVersion))
	}
	p.f(", network: %s", network(m))
	p.f("\n")
	p.f("Options    timeout %s, window %s", r.Options.Timeout, r.Options.Window)
	if len(r.Options.Args) > 0 {
		p.f(", args %s", argv(r.Options.Args))
	}
	p.f("\n")
	p.f("Outcome    %s\n", outcome(r.Outcome))
	if len(r.Steps) > 0 {
		var parts []string
		var total time.Duration
		for _, st := range r.Steps {
			part := st.Name + " " + dur(st.Duration)
			if st.Error != "" {
				part += " FAILED"
			}
			parts = append(parts, part)
			total += st.Duration
		}
		p.f("Steps      %s  (total %s)\n", strings.Join(parts, " · "), dur(total))
		for _, st := range r.Steps {
			if st.Error != "" {
				p.f("           %s: %s\n", st.Name, clean(st.Error))
			}
		}
	}
}

// outcome is one line on how the run ended.
func outcome(o Outcome) string {
	var s string
	d := dur(time.Duration(o.DurationNs))
	switch o.Status {
	case trace.OutcomeExited:
		s = fmt.Sprintf("exited with code %d after %s", o.ExitCode, d)
	case trace.OutcomeSignaled:
		s = fmt.Sprintf("killed by %s after %s", orDash(clean(o.Signal)), d)
	case trace.OutcomeTimeout:
		s = fmt.Sprintf("timed out after %s; process tree killed", d)
	case trace.OutcomeError:
		s = "error: " + clean(o.Error)
	default:
		s = orDash(clean(string(o.Status)))
	}
	s += fmt.Sprintf(", %d calls", o.Events)
	if o.Truncated {
		s += fmt.Sprintf(" (truncated: %d kept in the trace)", o.Kept)
	}
	if o.APICalls > 0 {
		s += fmt.Sprintf(", %d Windows API calls", o.APICalls)
		if o.APITruncated {
			s += fmt.Sprintf(" (truncated: %d kept)", o.APIKept)
		}
	}
	if o.Error != "" && o.Status != trace.OutcomeError {
		s += "; " + clean(o.Error)
	}
	return s
}

func (p *printer) processes(roots []ProcessNode) {
	n := countProcs(roots)
	if n == 0 {
		return
	}
	p.section("Processes", strconv.Itoa(n))
	shown := 0
	var walk func(nodes []ProcessNode, prefix string, top bool)
	walk = func(nodes []ProcessNode, prefix string, top bool) {
		for i, nd := range nodes {
			if shown == renderTreeMax {
				return
			}
			shown++
			branch, indent := "├─ ", "│  "
			if i == len(nodes)-1 {
				branch, indent = "└─ ", "   "
			}
			if top {
				branch, indent = "", ""
			}
			p.f("  %s%s%s\n", prefix, branch, procLine(nd.Process))
			walk(nd.Children, prefix+indent, false)
		}
	}
	walk(roots, "", true)
	if shown < n {
		p.f("  … %d more processes\n", n-shown)
	}
}

func countProcs(nodes []ProcessNode) int {
	n := len(nodes)
	for _, nd := range nodes {
		n += countProcs(nd.Children)
	}
	return n
}

func procLine(pr trace.Process) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", pr.PID, orDash(clean(pr.Exe)))
	if len(pr.Argv) > 0 {
		b.WriteString(" " + argv(pr.Argv))
	}
	switch {
	case pr.Killed:
		b.WriteString("  killed at timeout")
	case pr.Signal != "":
		b.WriteString("  " + clean(pr.Signal))
	case pr.Exit != nil:
		fmt.Fprintf(&b, "  exit %d", *pr.Exit)
	default:
		b.WriteString("  running at end")
	}
	if pr.Threads > 1 {
		fmt.Fprintf(&b, ", %d threads", pr.Threads)
	}
	fmt.Fprintf(&b, ", %d calls", pr.Syscalls)
	return b.String()
}

func (p *printer) lists(b *Behavior) {
	p.strList("Files written", b.FilesWritten)
	p.strList("Files deleted", b.FilesDeleted)
	if len(b.Executed) > 0 {
		p.section("Programs executed", strconv.Itoa(len(b.Executed)))
		for i, e := range b.Executed {
			if i == renderListMax {
				p.f("  … %d more\n", len(b.Executed)-i)
				break
			}
			mark := ""
			if !e.OK {
				mark = "  (failed)"
			}
			args := ""
			if len(e.Argv) > 0 {
				args = " " + argv(e.Argv)
			}
			p.f("  %-6d %s%s%s\n", e.PID, clean(e.Path), args, mark)
		}
	}
	if len(b.Connections) > 0 {
		p.section("Network connections", strconv.Itoa(len(b.Connections)))
		for i, c := range b.Connections {
			if i == renderListMax {
				p.f("  … %d more\n", len(b.Connections)-i)
				break
			}
			p.f("  %-6d %s  %d attempt%s, %d ok", c.PID, clean(c.Addr), c.Attempts, plural(c.Attempts), c.OK)
			if c.Error != "" {
				p.f(", %s", clean(c.Error))
			}
			p.f("\n")
		}
	}
	if n := len(b.FilesOpened); n > 0 {
		p.f("\nFiles opened: %d (see the JSON report)\n", n)
	}
	if b.Omitted > 0 {
		p.f("(%d list entries omitted from the report)\n", b.Omitted)
	}
}

func (p *printer) strList(title string, items []string) {
	if len(items) == 0 {
		return
	}
	p.section(title, strconv.Itoa(len(items)))
	for i, s := range items {
		if i == renderListMax {
			p.f("  … %d more\n", len(items)-i)
			return
		}
		p.f("  %s\n", clean(s))
	}
}

func (p *printer) calls(r *Report) {
	if len(r.Behavior.TopCalls) > 0 {
		var parts []string
		for i, c := range r.Behavior.TopCalls {
			if i == renderTopMax {
				break
			}
			parts = append(parts, fmt.Sprintf("%s %d", clean(c.Name), c.Count))
		}
		p.section("Top calls", "")
		p.f("  %s\n", strings.Join(parts, "  "))
	}
	if len(r.Windows) > 0 {
		cols, peak, total := spark(r.Windows, renderSparkMax)
		per := "window"
		if len(r.Windows) > renderSparkMax {
			per = fmt.Sprintf("%d windows", (len(r.Windows)+renderSparkMax-1)/renderSparkMax)
		}
		p.section("Calls per window", fmt.Sprintf("%d × %s, peak %d per %s, %d in all", len(r.Windows), r.Options.Window, peak, per, total))
		p.f("  |%s|\n", cols)
		if r.Behavior.WinAPI != nil {
			api := make([]WindowStat, len(r.Windows))
			for i, w := range r.Windows {
				api[i] = WindowStat{Total: w.APITotal}
			}
			cols, peak, total := spark(api, renderSparkMax)
			if total > 0 {
				p.section("API calls per window", fmt.Sprintf("peak %d per %s, %d in all", peak, per, total))
				p.f("  |%s|\n", cols)
			}
		}
	}
}

// winAPI shows the Windows section: what a program run under Wine did
// through the Windows API.
func (p *printer) winAPI(r *Report) {
	w := r.Behavior.WinAPI
	if w == nil {
		return
	}
	note := fmt.Sprintf("%d calls", w.Calls)
	if w.Truncated {
		note += fmt.Sprintf(", %d kept in the trace", w.Kept)
	}
	p.section("Windows API", note)
	inferred := map[string]bool{}
	for _, k := range w.RegistryInferred {
		inferred[k] = true
	}
	list := func(label string, items []string) {
		for i, s := range items {
			lead := "  " + fmt.Sprintf("%-18s", label)
			if i > 0 {
				lead = "  " + strings.Repeat(" ", 18)
			}
			if i == renderListMax {
				p.f("%s… %d more\n", lead, len(items)-i)
				return
			}
			mark := ""
			if inferred[s] {
				mark = " (?)"
			}
			p.f("%s%s%s\n", lead, clean(s), mark)
		}
	}
	list("files created", w.FilesCreated)
	list("files written", w.FilesWritten)
	list("files deleted", w.FilesDeleted)
	var moves []string
	for _, m := range w.FilesMoved {
		moves = append(moves, m.From+" -> "+orDash(m.To))
	}
	list("files moved", moves)
	list("registry created", w.RegistryKeysCreated)
	list("registry written", w.RegistryValuesWritten)
	list("registry deleted", w.RegistryDeleted)
	var procs []string
	for _, pr := range w.ProcessesCreated {
		s := pr.Call + " "
		if pr.Image != "" {
			s += `"` + clean(pr.Image) + `" `
		}
		s += `"` + clean(pr.Command) + `"`
		if !pr.OK {
			s += "  (failed or no return)"
		}
		procs = append(procs, s)
	}
	list("processes created", procs)
	if len(w.ModulesLoaded) > 0 {
		p.f("  %-18s%s\n", "modules loaded", shorten(clean(strings.Join(w.ModulesLoaded, ", ")), 200))
	}
	var ops []string
	for _, o := range w.RemoteOps {
		s := fmt.Sprintf("%04x %s", o.TID, o.Call)
		if o.Target != "" {
			s += " " + o.Target
		}
		if o.Address != "" {
			s += " at 0x" + strings.TrimLeft(o.Address, "0")
		}
		if o.Size > 0 {
			s += fmt.Sprintf(", %d bytes", o.Size)
		}
		if o.Ret != "" {
			s += " -> " + o.Ret
		}
		ops = append(ops, s)
	}
	list("other processes", ops)
	if len(w.TopCalls) > 0 {
		var parts []string
		for i, c := range w.TopCalls {
			if i == renderTopMax {
				break
			}
			parts = append(parts, fmt.Sprintf("%s %d", clean(c.Name), c.Count))
		}
		p.f("  %-18s%s\n", "top calls", strings.Join(parts, "  "))
	}
	if len(w.RegistryInferred) > 0 {
		p.f("  (?) key inferred: the value was set through a handle; the key is the one the thread last opened or created\n")
	}
	if w.Omitted > 0 {
		p.f("  (%d entries omitted from the report)\n", w.Omitted)
	}
}

// sparkBars are the levels of the activity row; an idle column is '·'.
var sparkBars = []rune("▁▂▃▄▅▆▇█")

// spark renders window totals as one row of at most width columns, summing
// consecutive windows when there are more.
func spark(ws []WindowStat, width int) (row string, peak, total int) {
	per := (len(ws) + width - 1) / width
	var cols []int
	for i := 0; i < len(ws); i += per {
		sum := 0
		for _, w := range ws[i:min(i+per, len(ws))] {
			sum += w.Total
		}
		cols = append(cols, sum)
		peak = max(peak, sum)
		total += sum
	}
	var b strings.Builder
	for _, c := range cols {
		switch {
		case c == 0:
			b.WriteRune('·')
		default:
			lvl := (c*len(sparkBars) - 1) / peak
			b.WriteRune(sparkBars[min(lvl, len(sparkBars)-1)])
		}
	}
	return b.String(), peak, total
}

// clean escapes what a terminal would interpret: control characters,
// invalid UTF-8 and other non-printable runes become Go escapes.
func clean(s string) string {
	ok := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// argv renders an argument vector in brackets, quoting arguments that are
// empty or contain spaces or non-printable characters.
func argv(args []string) string {
	parts := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'") || clean(a) != a {
			parts[i] = strconv.QuoteToGraphic(a)
		} else {
			parts[i] = a
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func dur(d time.Duration) string {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Microsecond).String()
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB (%d bytes)", float64(n)/(1<<20), n)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB (%d bytes)", float64(n)/(1<<10), n)
	}
	return fmt.Sprintf("%d bytes", n)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
