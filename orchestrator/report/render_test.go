package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/featurizers/features"
	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

func intp(i int) *int { return &i }

func sampleReport() *Report {
	return &Report{
		Schema: SchemaVersion, JobID: "20261124T014000Z-0k3f9q2w",
		Sample: jobs.Sample{Name: "dropper", SHA256: strings.Repeat("ab", 32), Size: 12600,
			Type: "ELF 64-bit LSB executable, x86-64, static"},
		Options: jobs.Options{Timeout: 20 * time.Second, Window: time.Second, Args: []string{"-v", "two words"}},
		Machine: Machine{Slot: "slot0", Hypervisor: "qemu (TCG)", Kernel: "6.1.0-smn", AgentVersion: "0.1.0"},
		Steps: []Step{
			{Name: "restore", Duration: 1200 * time.Millisecond}, {Name: "wait-agent", Duration: 300 * time.Millisecond},
			{Name: "run", Duration: 4 * time.Second}, {Name: "collect", Duration: 40 * time.Millisecond},
		},
		Outcome: Outcome{Status: trace.OutcomeSignaled, Signal: "SIGSEGV", DurationNs: int64(3500 * time.Millisecond),
			Events: 5000, Kept: 1200, Truncated: true, Output: "hello\n\x1b[31mred\n"},
		Behavior: Behavior{
			Processes: []ProcessNode{{
				Process: trace.Process{PID: 100, Exe: "/tmp/dropper", Argv: []string{"dropper", "-v"}, Signal: "SIGSEGV", Threads: 1, Syscalls: 300},
				Children: []ProcessNode{
					{Process: trace.Process{PID: 101, Exe: "/bin/sh", Argv: []string{"sh", "-c", "ls /"}, Exit: intp(0), Threads: 1, Syscalls: 40},
						Children: []ProcessNode{{Process: trace.Process{PID: 103, Exe: "/bin/ls", Argv: []string{"ls", "/"}, Exit: intp(0), Syscalls: 30}}}},
					{Process: trace.Process{PID: 102, Exe: "/tmp/.x\x1b]0;pwned\x07", Killed: true, Threads: 4, Syscalls: 4000}},
				},
			}},
			FilesOpened:  []string{"/etc/passwd", "/tmp/.x"},
			FilesWritten: []string{"/tmp/.x"},
			Executed:     []Exec{{PID: 101, Path: "/bin/sh", Argv: []string{"sh", "-c", "ls /"}, OK: true}, {PID: 104, Path: "/nope", OK: false}},
			Connections:  []Connection{{PID: 102, Addr: "inet 203.0.113.7:443", Attempts: 3, OK: 0, Error: "ECONNREFUSED"}},
			TopCalls:     []CallCount{{"read", 2000}, {"write", 1500}, {"mmap", 300}},
		},
		Windows: []WindowStat{{Index: 0, Total: 100}, {Index: 1, Total: 0}, {Index: 2, Total: 800}, {Index: 3, Total: 4100}},
		Trace:   TraceRef{Path: "artifacts/20261124T014000Z-0k3f9q2w/trace.jsonl.gz", Format: "jsonl+gzip", Size: 2048},
		Created: time.Date(2026, 11, 24, 1, 40, 9, 0, time.UTC),
	}
}

func TestRender(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	t.Log("\n" + out)
	for _, want := range []string{
		"Job        20261124T014000Z-0k3f9q2w  (reported 2026-11-24 01:40:09 UTC)",
		"Sample     dropper",
		"size     12.3 KiB (12600 bytes)",
		"type     ELF 64-bit LSB executable, x86-64, static",
		"Machine    slot0 on qemu (TCG), kernel 6.1.0-smn, agent 0.1.0",
		`args [-v "two words"]`,
		"Outcome    killed by SIGSEGV after 3.5s, 5000 calls (truncated: 1200 kept in the trace)",
		"Steps      restore 1.2s · wait-agent 300ms · run 4s · collect 40ms  (total 5.54s)",
		"Processes (4)",
		"  100 /tmp/dropper [dropper -v]  SIGSEGV, 300 calls",
		"  ├─ 101 /bin/sh [sh -c \"ls /\"]  exit 0, 40 calls",
		"  │  └─ 103 /bin/ls [ls /]  exit 0, 30 calls",
		`  └─ 102 /tmp/.x\x1b]0;pwned\a  killed at timeout, 4 threads, 4000 calls`,
		"Files written (1)\n  /tmp/.x\n",
		"104    /nope  (failed)",
		"inet 203.0.113.7:443  3 attempts, 0 ok, ECONNREFUSED",
		"read 2000  write 1500  mmap 300",
		"Calls per window (4 × 1s, peak 4100 per window, 5000 in all)",
		"  |▁·▂█|",
		`  | \x1b[31mred`,
		"Files opened: 2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q", want)
		}
	}
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Error("output contains raw control characters")
	}
}

func TestRenderMinimal(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, &Report{JobID: "x", Outcome: Outcome{Status: trace.OutcomeError, Error: "exec format error"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Outcome    error: exec format error") || strings.Contains(buf.String(), "Processes") {
		t.Fatalf("%s", buf.String())
	}
}

func TestSpark(t *testing.T) {
	ws := make([]WindowStat, 250)
	for i := range ws {
		ws[i].Total = i
	}
	row, peak, total := spark(ws, 100)
	if n := len([]rune(row)); n != 84 || peak != 246+247+248 || total != 249*250/2 {
		t.Fatalf("row %d cols, peak %d, total %d", n, peak, total)
	}
}

func TestRenderVerdictFirst(t *testing.T) {
	r := sampleReport()
	r.Verdict = &Verdict{
		Label: VerdictMalware, Probability: 0.912, Threshold: 0.41,
		ThresholdRule: "chosen for validation FPR <= 0.01: validation FPR 0.008, TPR 0.900",
		Method:        "soft-vote", Model: "build/models/fusion.json",
		Family: "SSH", FamilyScore: 0.8, FamilyVoters: []string{"fhids-kind-random-forest"},
		Contributions: []Contribution{
			{Classifier: "fhids-random-forest", Raw: 0.7, Calibrated: 0.8, Weight: 0.4, Delta: 0.05},
			{Classifier: "fhids-cnn-lstm", Raw: 0.99, Calibrated: 0.97, Weight: 0.6, Delta: 0.3},
		},
		Missing: []MissingVote{{Classifier: "clamp-dnn", Stage: "detection", Status: "abstained", Reason: "not a PE\x1b[2J"}},
	}
	var buf bytes.Buffer
	if err := Render(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	t.Log("\n" + out)
	if !strings.HasPrefix(out, "VERDICT    MALWARE  (P(malware) 0.912 >= threshold 0.410, chosen for validation FPR <= 0.01") {
		t.Errorf("the verdict is not first:\n%s", out)
	}
	// The vote that moved the result most is listed first.
	if i, j := strings.Index(out, "fhids-cnn-lstm"), strings.Index(out, "fhids-random-forest"); i < 0 || j < 0 || i > j {
		t.Errorf("contributions not ordered by |delta|")
	}
	for _, want := range []string{"family   SSH (0.800, from fhids-kind-random-forest)", "+0.300 towards malware",
		"missing  clamp-dnn", "abstained: not a PE\\x1b[2J", "method   soft-vote"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q", want)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Error("control character passed through")
	}

	r.Verdict = &Verdict{Label: VerdictUnknown, Error: "no usable detection vote", Method: "soft-vote"}
	buf.Reset()
	Render(&buf, r)
	if !strings.HasPrefix(buf.String(), "VERDICT    UNKNOWN: no usable detection vote") {
		t.Errorf("unknown verdict:\n%s", buf.String())
	}
	r.Verdict, r.NoVerdict = nil, "no fusion model"
	buf.Reset()
	Render(&buf, r)
	if !strings.HasPrefix(buf.String(), "VERDICT    none: no fusion model") {
		t.Errorf("no verdict:\n%s", buf.String())
	}
}

// TestRenderLongNamesAndExplanations: a 60-character plugin name does not
// push the other columns out of line (it gets a line of its own), and a
// vote's explanation shows in the text report under its vote, under the
// verdict's contribution, and under an ignored vote.
func TestRenderLongNamesAndExplanations(t *testing.T) {
	long := strings.Repeat("x", 52) + "-sh-exec" // 60 characters
	r := sampleReport()
	r.Votes = []Vote{
		{Classifier: "fhids-cnn-lstm", Stage: "detection", Label: "malware", Scores: []ClassScore{{Class: "malware", Score: 0.97}}, Inputs: []string{"syscalls"}},
		{Classifier: long, Stage: "detection", Label: "malware", Scores: []ClassScore{{Class: "malware", Score: 0.9}}, Inputs: []string{"trace"},
			Explanation: "execve of /bin/sh\nwith -c from a process that\tread /etc/shadow"},
		{Classifier: "plain-ignored", Stage: "detection", Label: "benign", Explanation: "no rule matched"},
	}
	r.Verdict = &Verdict{Label: VerdictMalware, Probability: 0.9, Threshold: 0.5, ThresholdRule: "f1", Method: "soft-vote", Model: "m",
		Contributions: []Contribution{{Classifier: long, Raw: 0.9, Calibrated: 0.9, Weight: 0.5, Delta: 0.2}, {Classifier: "fhids-cnn-lstm", Delta: 0.1}},
		Ignored:       []string{"plain-ignored"}}
	var buf bytes.Buffer
	if err := Render(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	t.Log("\n" + out)
	lines := strings.Split(out, "\n")
	col := func(prefix, what string) int { // the column where what starts on the line after prefix
		for i, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), prefix) {
				if j := strings.Index(l, what); j >= 0 {
					return len([]rune(l[:j]))
				}
				if i+1 < len(lines) {
					if j := strings.Index(lines[i+1], what); j >= 0 {
						return len([]rune(lines[i+1][:j]))
					}
				}
			}
		}
		t.Fatalf("no %q after %q in\n%s", what, prefix, out)
		return -1
	}
	if a, b := col("fhids-cnn-lstm", "detection"), col(long, "detection"); a != b {
		t.Errorf("votes: the long name moved the stage column from %d to %d", a, b)
	}
	if a, b := col("fhids-cnn-lstm", "+0.100"), col("why      "+long, "+0.200"); a != b {
		t.Errorf("verdict: the long name moved the delta column from %d to %d", a, b)
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 140 {
			t.Errorf("line of %d characters: %q", n, l)
		}
	}
	want := "↳ execve of /bin/sh with -c from a process that read /etc/shadow"
	if c := strings.Count(out, want); c != 2 {
		t.Errorf("explanation shown %d times, want 2 (the vote, the verdict's why):\n%s", c, out)
	}
	if !strings.Contains(out, "↳ no rule matched") || !strings.Contains(out, "plain-ignored") {
		t.Errorf("an ignored vote's explanation is not shown")
	}
}

// Signatures come right after the verdict, with severity, techniques and
// escaped evidence; the JSON keeps them under "signatures".
func TestRenderSignatures(t *testing.T) {
	r := sampleReport()
	r.Verdict = &Verdict{Label: VerdictMalware, Probability: 0.9, Threshold: 0.5, ThresholdRule: "fixed", Method: "soft-vote", Model: "f.json"}
	r.Signatures = []Signature{
		{Match: features.Match{ID: "socket-shell", Source: "signatures", Description: "A connected socket becomes a shell's stdin", Severity: 5,
			Techniques: []string{"T1059.004", "T1071"}, Evidence: []string{"pid 7 execve /bin/sh \x1b[31m", "second", "third"}, Count: 3}, Featurizer: "signatures", Set: "signature-matches"},
		{Match: features.Match{ID: "upx_packed", Source: "yara", Description: "UPX-packed executable", Severity: 2, Techniques: []string{"T1027.002"}},
			Featurizer: "yara", Set: "yara-matches"},
	}
	var buf bytes.Buffer
	if err := Render(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	t.Log("\n" + out)
	v, s, h := strings.Index(out, "VERDICT"), strings.Index(out, "SIGNATURES (2)"), strings.Index(out, "Job ")
	if v < 0 || s < v || h < s {
		t.Fatalf("order: verdict at %d, signatures at %d, header at %d", v, s, h)
	}
	for _, want := range []string{"5 critical socket-shell", "T1059.004,T1071; signatures]", "2 low      upx_packed", "... 3 matching in all"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q", want)
		}
	}
	if strings.Contains(out, "\x1b") || strings.Contains(out, "third") {
		t.Error("raw escape or a third evidence line in the text report")
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"signatures":[{"id":"socket-shell","source":"signatures"`) || !strings.Contains(string(b), `"featurizer":"yara","set":"yara-matches"`) {
		t.Fatalf("JSON: %s", b)
	}
}

// TestRenderTraffic: the Network section lists DNS, HTTP, TLS and
// connections, with guest-chosen text made printable.
func TestRenderTraffic(t *testing.T) {
	r := &Report{Machine: Machine{Network: NetworkIsolated, GuestAddr: "10.0.2.15"}, Network: &Traffic{
		DNS:         []DNSQuery{{Name: "evil.example", Type: "A", Answer: "10.0.2.4", Server: "10.0.2.3"}, {Name: "v6.example", Type: "AAAA"}},
		HTTP:        []HTTPRequest{{Method: "GET", Host: "evil.example", Path: "/gate\x1b[2J.php", Dst: "10.0.2.4:80"}},
		TLS:         []TLSHello{{SNI: "c2.example", Dst: "10.0.2.4:443"}, {Dst: "1.2.3.4:443"}},
		Connections: []NetConn{{Proto: "tcp", Dst: "10.0.2.4", Port: 80, Count: 2}},
		Packets:     17, Bytes: 2000, Pcap: &FileRef{Path: "artifacts/j/traffic.pcap", Size: 2300},
	}}
	var b strings.Builder
	if err := Render(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"network: isolated (10.0.2.15)", "Network (isolated fake internet, 17 packets, 2000 bytes)",
		"A     evil.example -> 10.0.2.4", "AAAA  v6.example -> (no answer)", "GET http://evil.example/gate", "(10.0.2.4:80)",
		"c2.example (10.0.2.4:443)", "(no SNI) (1.2.3.4:443)", "tcp 10.0.2.4:80 x2", "pcap: artifacts/j/traffic.pcap (2300 bytes)"} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Error("escape sequence from the guest reached the rendered report")
	}
}
