package cuckoo

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

// Report is a ScaleMalNet report in the layout of Cuckoo 2.0.7's
// report.json, with the malscore/malfamily fields that Cortex's analyzer
// reads (from CAPE and Cuckoo-modified). docs/cuckoo-api.md maps every
// field.
type Report struct {
	Info       Info           `json:"info"`
	Target     Target         `json:"target"`
	Signatures []Signature    `json:"signatures"`
	Behavior   Behavior       `json:"behavior"`
	Network    Network        `json:"network"`
	Malscore   float64        `json:"malscore"`
	Malfamily  *string        `json:"malfamily"`
	Static     map[string]any `json:"static"`
	Dropped    []any          `json:"dropped"`
	Debug      map[string]any `json:"debug"`
	// ScaleMalNet is the native verdict and where the full report is.
	ScaleMalNet Native `json:"scalemalnet"`
}

// Info is report.json's info.
type Info struct {
	ID       uint64         `json:"id"`
	Category string         `json:"category"`
	Package  string         `json:"package"`
	Machine  map[string]any `json:"machine"`
	Added    any            `json:"added"`
	Started  any            `json:"started"`
	Ended    any            `json:"ended"`
	Duration int            `json:"duration"`
	Score    float64        `json:"score"`
	Version  string         `json:"version"`
	Platform string         `json:"platform"`
	Route    string         `json:"route"`
	Owner    string         `json:"owner"`
	Custom   string         `json:"custom"`
	Options  string         `json:"options"`
	// IgnoredOptions are the submitted Cuckoo fields and options
	// ScaleMalNet did not act on.
	IgnoredOptions []string `json:"ignored_options"`
}

// Target is report.json's target.
type Target struct {
	Category string     `json:"category"`
	File     TargetFile `json:"file"`
}

// TargetFile is report.json's target.file.
type TargetFile struct {
	Name   string  `json:"name"`
	Path   string  `json:"path"`
	Size   int64   `json:"size"`
	Type   string  `json:"type"`
	MD5    string  `json:"md5"`
	SHA1   string  `json:"sha1"`
	SHA256 string  `json:"sha256"`
	SHA512 string  `json:"sha512"`
	CRC32  string  `json:"crc32"`
	SSDeep *string `json:"ssdeep"`
	Yara   []any   `json:"yara"`
	URLs   []any   `json:"urls"`
}

// Signature is report.json's signature.
type Signature struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Severity    int      `json:"severity"`
	Families    []string `json:"families"`
	References  []string `json:"references"`
	Marks       []Mark   `json:"marks"`
	Markcount   int      `json:"markcount"`
}

// Mark is one piece of evidence of a signature.
type Mark struct {
	Type        string  `json:"type"`
	Category    string  `json:"category"`
	Description string  `json:"description"`
	Value       float64 `json:"value"`
}

// Behavior is report.json's behavior.
type Behavior struct {
	Processes   []Process      `json:"processes"`
	Processtree []TreeNode     `json:"processtree"`
	Summary     map[string]any `json:"summary"`
}

// Process is one process in behavior.processes.
type Process struct {
	PID         int     `json:"pid"`
	PPID        int     `json:"ppid"`
	ProcessName string  `json:"process_name"`
	ProcessPath string  `json:"process_path"`
	CommandLine string  `json:"command_line"`
	FirstSeen   float64 `json:"first_seen"` // seconds since the run started
	Track       bool    `json:"track"`
	Calls       []any   `json:"calls"` // empty: the calls are in the trace artifact (/api/v1/jobs/{id}/trace)
	// ScaleMalNet additions.
	Syscalls int    `json:"syscalls"`
	Exit     *int   `json:"exit_code"`
	Signal   string `json:"signal,omitempty"`
	Killed   bool   `json:"killed_at_timeout,omitempty"`
	Threads  int    `json:"threads"`
}

// TreeNode is one process in behavior.processtree.
type TreeNode struct {
	PID         int        `json:"pid"`
	PPID        int        `json:"ppid"`
	ProcessName string     `json:"process_name"`
	CommandLine string     `json:"command_line"`
	FirstSeen   float64    `json:"first_seen"`
	Track       bool       `json:"track"`
	Children    []TreeNode `json:"children"`
}

// Network is report.json's network.
type Network struct {
	Hosts   []Host `json:"hosts"`
	Domains []any  `json:"domains"`
	HTTP    []any  `json:"http"`
	DNS     []any  `json:"dns"`
	TCP     []any  `json:"tcp"`
	UDP     []any  `json:"udp"`
	ICMP    []any  `json:"icmp"`
	SMTP    []any  `json:"smtp"`
	IRC     []any  `json:"irc"`
	// Connects are the connect calls the tracer saw (ScaleMalNet's; Cuckoo
	// has no such field): the destination, attempts and successes.
	Connects []Connect `json:"scalemalnet_connects"`
}

// Host is one remote host.
type Host struct {
	IP          string `json:"ip"`
	Hostname    string `json:"hostname"`
	CountryName string `json:"country_name"`
	Inaddrarpa  string `json:"inaddrarpa"`
	Ports       []int  `json:"ports"`
}

// Connect is one destination the sample connected to.
type Connect struct {
	PID      int    `json:"pid"`
	Addr     string `json:"addr"`
	Attempts int    `json:"attempts"`
	OK       int    `json:"ok"`
	Error    string `json:"error,omitempty"`
}

// Native is ScaleMalNet's own summary in the Cuckoo report.
type Native struct {
	JobID     string          `json:"job_id"`
	Report    string          `json:"report"` // the native report's path
	Verdict   *report.Verdict `json:"verdict,omitempty"`
	NoVerdict string          `json:"no_verdict,omitempty"`
}

// Malscore maps the fused probability of malware to Cuckoo's 0-10 score
// (one decimal); 0 without a verdict or with an unknown one.
func Malscore(v *report.Verdict) float64 {
	if v == nil || v.Label == report.VerdictUnknown {
		return 0
	}
	return math.Round(v.Probability*100) / 10
}

// severity of a score: Cuckoo's 1 (informational) to 3 (malicious).
func severity(p float64) int {
	switch {
	case p >= 0.8:
		return 3
	case p >= 0.5:
		return 2
	}
	return 1
}

// signatures turns the verdict and the votes into Cuckoo signatures: one
// for the fused verdict when it says malware, one per detection vote
// scoring malware at 0.5 or more, and one per matched behaviour signature
// or YARA rule (report.Signatures), its evidence as marks and its ATT&CK
// techniques as references.
func signatures(rep *report.Report) []Signature {
	out := []Signature{}
	if v := rep.Verdict; v != nil && v.Label == report.VerdictMalware {
		desc := fmt.Sprintf("ScaleMalNet fused verdict: malware, P(malware) %.2f at threshold %.2f (%s)", v.Probability, v.Threshold, v.Method)
		var fams []string
		if v.Family != "" {
			desc += fmt.Sprintf("; family %s (%.2f)", v.Family, v.FamilyScore)
			fams = []string{v.Family}
		}
		s := Signature{Name: "scalemalnet_verdict_malware", Description: desc, Severity: severity(v.Probability),
			Families: orEmpty(fams), References: []string{}}
		for _, c := range v.Contributions {
			s.Marks = append(s.Marks, Mark{Type: "generic", Category: "classifier", Description: c.Classifier, Value: c.Calibrated})
		}
		s.Marks = orEmptyMarks(s.Marks)
		s.Markcount = len(s.Marks)
		out = append(out, s)
	}
	for _, vote := range rep.Votes {
		if vote.Error != "" || vote.Abstained || vote.Stage == "family" {
			continue
		}
		p := -1.0
		for _, sc := range vote.Scores {
			if sc.Class == report.VerdictMalware || sc.Class == "malicious" {
				p = sc.Score
			}
		}
		if p < 0.5 {
			continue
		}
		out = append(out, Signature{
			Name:        "scalemalnet_vote_" + vote.Classifier,
			Description: fmt.Sprintf("Classifier %s (%s) scores malware %.2f", vote.Classifier, strings.Join(vote.Inputs, "+"), p),
			Severity:    severity(p), Families: []string{}, References: []string{},
			Marks:     []Mark{{Type: "generic", Category: "score", Description: "P(malware)", Value: p}},
			Markcount: 1,
		})
	}
	for _, m := range rep.Signatures {
		sig := Signature{Name: m.ID, Description: m.Description, Severity: cuckooSeverity(m.Severity),
			Families: []string{}, References: []string{}, Marks: []Mark{}}
		for _, t := range m.Techniques {
			sig.References = append(sig.References, "https://attack.mitre.org/techniques/"+strings.ReplaceAll(t, ".", "/")+"/")
		}
		for _, e := range m.Evidence {
			sig.Marks = append(sig.Marks, Mark{Type: "generic", Category: m.Source, Description: e})
		}
		sig.Markcount = max(m.Count, len(sig.Marks))
		out = append(out, sig)
	}
	return out
}

// cuckooSeverity maps a match's severity (1-5) to Cuckoo's (1-3).
func cuckooSeverity(s int) int {
	switch {
	case s >= 4:
		return 3
	case s == 3:
		return 2
	}
	return 1
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orEmptyMarks(m []Mark) []Mark {
	if m == nil {
		return []Mark{}
	}
	return m
}

func processName(p report.ProcessNode) string {
	if p.Exe == "" {
		return ""
	}
	i := strings.LastIndexByte(p.Exe, '/')
	return p.Exe[i+1:]
}

func behavior(rep *report.Report) Behavior {
	b := Behavior{Processes: []Process{}, Processtree: []TreeNode{}}
	var walk func(n report.ProcessNode) TreeNode
	walk = func(n report.ProcessNode) TreeNode {
		cmd := strings.Join(n.Argv, " ")
		first := float64(n.Start) / 1e9
		b.Processes = append(b.Processes, Process{PID: n.PID, PPID: n.PPID, ProcessName: processName(n), ProcessPath: n.Exe,
			CommandLine: cmd, FirstSeen: first, Track: true, Calls: []any{}, Syscalls: n.Syscalls, Exit: n.Exit,
			Signal: n.Signal, Killed: n.Killed, Threads: n.Threads})
		t := TreeNode{PID: n.PID, PPID: n.PPID, ProcessName: processName(n), CommandLine: cmd, FirstSeen: first, Track: true, Children: []TreeNode{}}
		for _, c := range n.Children {
			t.Children = append(t.Children, walk(c))
		}
		return t
	}
	for _, p := range rep.Behavior.Processes {
		b.Processtree = append(b.Processtree, walk(p))
	}
	var cmds, ips []string
	for _, e := range rep.Behavior.Executed {
		cmds = append(cmds, strings.Join(e.Argv, " "))
	}
	for _, h := range hosts(rep.Behavior.Connections) {
		ips = append(ips, h.IP)
	}
	b.Summary = map[string]any{
		"file_opened":  orEmpty(rep.Behavior.FilesOpened),
		"file_written": orEmpty(rep.Behavior.FilesWritten),
		"file_deleted": orEmpty(rep.Behavior.FilesDeleted),
		"command_line": orEmpty(cmds),
		"connects_ip":  orEmpty(ips),
	}
	return b
}

// hosts are the remote IP addresses of inet/inet6 connect calls, loopback
// and unspecified addresses left out, in order of first appearance.
func hosts(conns []report.Connection) []Host {
	out := []Host{}
	idx := map[string]int{}
	for _, c := range conns {
		rest, ok := strings.CutPrefix(c.Addr, "inet ")
		if !ok {
			rest, ok = strings.CutPrefix(c.Addr, "inet6 ")
		}
		if !ok {
			continue
		}
		host, port, err := net.SplitHostPort(rest)
		if err != nil {
			continue
		}
		ip := net.ParseIP(host)
		if ip == nil || ip.IsLoopback() || ip.IsUnspecified() {
			continue
		}
		pn, _ := strconv.Atoi(port)
		i, seen := idx[ip.String()]
		if !seen {
			i = len(out)
			idx[ip.String()] = i
			out = append(out, Host{IP: ip.String(), Ports: []int{}})
		}
		if !slices.Contains(out[i].Ports, pn) {
			out[i].Ports = append(out[i].Ports, pn)
		}
	}
	return out
}

// Convert maps a finished job's report to Cuckoo's layout.
func Convert(j jobs.Job, t store.CuckooTask, rep *report.Report, smp *Sample) Report {
	started, ended := phases(j)
	route := routeOf(j.Options.Network)
	out := Report{
		Info: Info{
			ID: t.ID, Category: "file", Package: t.Package,
			Machine: map[string]any{"name": rep.Machine.Slot, "label": rep.Machine.Domain, "manager": "libvirt",
				"hypervisor": rep.Machine.Hypervisor, "kernel": rep.Machine.Kernel, "started_on": timeOrNil(started), "shutdown_on": timeOrNil(ended)},
			Added: timeOrNil(j.Created), Started: timeOrNil(started), Ended: timeOrNil(ended),
			Score: Malscore(rep.Verdict), Version: Version, Platform: "linux", Route: route,
			Owner: t.Owner, Custom: t.Custom, Options: t.Options, IgnoredOptions: orEmpty(t.Ignored),
		},
		Target: Target{Category: "file", File: TargetFile{
			Name: rep.Sample.Name, Path: "samples/" + rep.Sample.SHA256, Size: rep.Sample.Size, Type: rep.Sample.Type,
			MD5: rep.Sample.MD5, SHA1: rep.Sample.SHA1, SHA256: rep.Sample.SHA256, Yara: []any{}, URLs: []any{},
		}},
		Signatures: signatures(rep),
		Behavior:   behavior(rep),
		Network: Network{Hosts: hosts(rep.Behavior.Connections), Domains: []any{}, HTTP: []any{}, DNS: []any{},
			TCP: []any{}, UDP: []any{}, ICMP: []any{}, SMTP: []any{}, IRC: []any{}, Connects: []Connect{}},
		Malscore:    Malscore(rep.Verdict),
		Static:      map[string]any{},
		Dropped:     []any{},
		Debug:       map[string]any{"errors": orEmpty(pluginErrors(rep))},
		ScaleMalNet: Native{JobID: j.ID, Report: "/api/v1/jobs/" + j.ID + "/report", Verdict: rep.Verdict, NoVerdict: rep.NoVerdict},
	}
	if !started.IsZero() && !ended.IsZero() {
		out.Info.Duration = int(ended.Sub(started) / time.Second)
	}
	if smp != nil {
		out.Target.File.SHA512, out.Target.File.CRC32 = smp.SHA512, smp.CRC32
	}
	if v := rep.Verdict; v != nil && v.Label == report.VerdictMalware && v.Family != "" {
		f := v.Family
		out.Malfamily = &f
	}
	for _, c := range rep.Behavior.Connections {
		out.Network.Connects = append(out.Network.Connects, Connect{PID: c.PID, Addr: c.Addr, Attempts: c.Attempts, OK: c.OK, Error: c.Error})
	}
	fakeNetwork(&out.Network, rep.Network)
	return out
}

// routeOf is Cuckoo's route of a network mode: none, inetsim (the fake
// internet, as CAPE and Cuckoo call theirs) or internet.
func routeOf(network string) string {
	switch network {
	case jobs.NetworkUser:
		return "internet"
	case jobs.NetworkIsolated:
		return "inetsim"
	}
	return "none"
}

// fakeNetwork fills Cuckoo's dns, domains, http, tcp and udp lists from the
// isolated mode's traffic log.
func fakeNetwork(n *Network, t *report.Traffic) {
	if t == nil {
		return
	}
	seen := map[string]bool{}
	for _, q := range t.DNS {
		answers := []map[string]string{}
		if q.Answer != "" {
			answers = append(answers, map[string]string{"type": q.Type, "data": q.Answer})
			if !seen[q.Name] {
				seen[q.Name] = true
				n.Domains = append(n.Domains, map[string]string{"domain": q.Name, "ip": q.Answer})
			}
		}
		n.DNS = append(n.DNS, map[string]any{"request": q.Name, "type": q.Type, "answers": answers})
	}
	for _, h := range t.HTTP {
		host, port, _ := strings.Cut(h.Dst, ":")
		p, _ := strconv.Atoi(port)
		n.HTTP = append(n.HTTP, map[string]any{"method": h.Method, "host": h.Host, "path": h.Path, "uri": "http://" + h.Host + h.Path,
			"port": p, "dst": host, "user-agent": h.UA})
	}
	for _, c := range t.Connections {
		e := map[string]any{"dst": c.Dst, "dport": c.Port, "count": c.Count}
		if c.Proto == "udp" {
			n.UDP = append(n.UDP, e)
		} else {
			n.TCP = append(n.TCP, e)
		}
	}
}

func pluginErrors(rep *report.Report) []string {
	var out []string
	for _, p := range rep.PluginProblems {
		out = append(out, p.Plugin+": "+p.Error)
	}
	for _, v := range rep.Votes {
		if v.Error != "" {
			out = append(out, v.Classifier+": "+v.Error)
		}
	}
	return out
}

// report handles tasks/report/{id}[/{format}]: json only.
func (h *handler) report(w http.ResponseWriter, r *http.Request) {
	if f := r.PathValue("format"); f != "" && f != "json" {
		switch f {
		case "html", "htmlsummary", "pdf", "maec", "maec5", "metadata", "all", "dropped", "package_files":
			jsonError(w, http.StatusNotFound, "Report not found: ScaleMalNet serves the json report only")
		default:
			jsonError(w, http.StatusBadRequest, "Invalid report format")
		}
		return
	}
	t, j, err := h.lookup(r)
	if err != nil {
		h.fail(w, r, err, "Task not found")
		return
	}
	rep, err := h.svc.Report(r.Context(), j.ID)
	if err != nil {
		h.fail(w, r, err, "Report not found")
		return
	}
	smp, err := h.sampleOf(j.Sample)
	if err != nil {
		h.fail(w, r, err, "Report not found")
		return
	}
	writeJSON(w, http.StatusOK, Convert(j, t, rep, smp))
}
