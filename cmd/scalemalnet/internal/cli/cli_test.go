package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/api/apitest"
	"github.com/scalemalnet/scalemalnet/orchestrator/defaults"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

const token = "0123456789abcdef0123456789abcdef"

type harness struct {
	fake *apitest.Fake
	srv  *httptest.Server
	env  map[string]string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	f := apitest.NewFake()
	srv := httptest.NewServer(api.NewHandler(f, token, api.HandlerOptions{MaxSample: f.MaxSample, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	return &harness{fake: f, srv: srv, env: map[string]string{defaults.EnvAddr: srv.URL, defaults.EnvToken: token}}
}

func (h *harness) run(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, Env{Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return h.env[k] }, PollInterval: 5 * time.Millisecond})
	return code, out.String(), errb.String()
}

func writeSample(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "sample.bin")
	os.WriteFile(p, []byte(content), 0o644)
	return p
}

func TestHelp(t *testing.T) {
	h := newHarness(t)
	code, out, _ := h.run("help")
	if code != 0 || !strings.Contains(out, "submit   submit a sample") || !strings.Contains(out, defaults.EnvToken) {
		t.Fatalf("help: %d %s", code, out)
	}
	code, _, errOut := h.run("submit", "-h")
	if code != 0 || !strings.Contains(errOut, "scalemalnet submit FILE") || !strings.Contains(errOut, "-wait") {
		t.Fatalf("submit -h: %d %s", code, errOut)
	}
	if code, _, _ := h.run(); code != ExitUsage {
		t.Fatalf("no args: %d", code)
	}
	if code, _, _ := h.run("frobnicate"); code != ExitUsage {
		t.Fatalf("unknown: %d", code)
	}
	if code, _, e := h.run("status"); code != ExitUsage || !strings.Contains(e, "want 1 argument") {
		t.Fatalf("status without id: %d %s", code, e)
	}
	if code, _, _ := h.run("submit", "x", "--timeout", "abc"); code != ExitUsage {
		t.Fatalf("bad duration: %d", code)
	}
}

func TestParseInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	wait := fs.Bool("wait", false, "")
	var args stringList
	fs.Var(&args, "arg", "")
	pos, _, ok := parse(fs, []string{"--arg", "a", "FILE", "--wait", "--arg=-b", "--", "--odd"}, 2)
	if !ok || pos[0] != "FILE" || pos[1] != "--odd" || !*wait || args.String() != "a -b" {
		t.Fatalf("pos %q wait %v args %q", pos, *wait, args)
	}
}

func TestSubmitStatusJobs(t *testing.T) {
	h := newHarness(t)
	p := writeSample(t, "\x7fELF...")
	code, out, errOut := h.run("submit", p, "--timeout", "30s", "--arg", "-v", "--arg", "x y")
	if code != 0 {
		t.Fatalf("submit: %d %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	j, err := h.fake.Job(context.Background(), id)
	if err != nil || j.Sample.Name != "sample.bin" || j.Options.Timeout != 30*time.Second || len(j.Options.Args) != 2 {
		t.Fatalf("job %+v %v", j, err)
	}
	code, out, _ = h.run("submit", "--json", p)
	var j2 jobs.Job
	if code != 0 || json.Unmarshal([]byte(out), &j2) != nil || j2.ID == "" {
		t.Fatalf("submit --json: %d %s", code, out)
	}
	code, out, _ = h.run("status", id)
	if code != 0 || !strings.Contains(out, "State     queued") || !strings.Contains(out, "timeout 30s") || !strings.Contains(out, "History") {
		t.Fatalf("status: %d %s", code, out)
	}
	code, out, _ = h.run("status", id, "--json")
	if code != 0 || !strings.Contains(out, `"id": "`+id) {
		t.Fatalf("status --json: %d %s", code, out)
	}
	code, out, _ = h.run("jobs", "--state", "queued")
	if code != 0 || !strings.HasPrefix(out, "ID ") || strings.Count(out, "\n") != 3 || !strings.Contains(out, "sample.bin") {
		t.Fatalf("jobs: %d %s", code, out)
	}
	if code, _, _ := h.run("jobs", "--state", "bogus"); code != ExitUsage {
		t.Fatalf("bad state: %d", code)
	}
	if code, _, errOut := h.run("jobs", "--since", "yesterday"); code != ExitUsage || !strings.Contains(errOut, "--since") {
		t.Fatalf("bad --since: %d %s", code, errOut)
	}
	// The server validates search values: a malformed hash is its 400.
	if code, _, errOut := h.run("jobs", "--md5", "zz"); code != 1 || !strings.Contains(errOut, "md5") {
		t.Fatalf("bad --md5: %d %s", code, errOut)
	}
	// A full page names the cursor of the next one.
	if code, out, errOut := h.run("jobs", "--limit", "1", "--name", "sample"); code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(errOut, "more: --cursor ") {
		t.Fatalf("jobs --limit 1: %d %q %q", code, out, errOut)
	}
	code, _, errOut = h.run("status", "nope")
	if code != 1 || !strings.Contains(errOut, "not_found") && !strings.Contains(errOut, "not found") {
		t.Fatalf("missing job: %d %s", code, errOut)
	}
	code, _, errOut = h.run("report", id)
	if code != 1 || !strings.Contains(errOut, "not ready") || !strings.Contains(errOut, "queued") {
		t.Fatalf("report not ready: %d %s", code, errOut)
	}
	code, out, _ = h.run("health")
	if code != 0 || !strings.Contains(out, "Slots       2 idle of 2") {
		t.Fatalf("health: %d %s", code, out)
	}
	if code, _, _ := h.run("submit", filepath.Dir(p)); code != 1 {
		t.Fatalf("submit a directory: %d", code)
	}
}

func TestTokenFromDataDir(t *testing.T) {
	h := newHarness(t)
	delete(h.env, defaults.EnvToken)
	dir := t.TempDir()
	if code, _, e := h.run("health", "--data-dir", dir); code != 1 || !strings.Contains(e, "no API token") {
		t.Fatalf("no token: %d %s", code, e)
	}
	os.WriteFile(filepath.Join(dir, "token"), []byte(token+"\n"), 0o600)
	if code, _, e := h.run("health", "--data-dir", dir); code != 0 {
		t.Fatalf("token file: %d %s", code, e)
	}
	h.env[defaults.EnvDataDir] = dir
	if code, _, e := h.run("health"); code != 0 {
		t.Fatalf("token via env data dir: %d %s", code, e)
	}
	if code, _, e := h.run("health", "--token", "wrong"); code != 1 || !strings.Contains(e, "hint") {
		t.Fatalf("wrong token: %d %s", code, e)
	}
}

func TestSubmitWait(t *testing.T) {
	h := newHarness(t)
	p := writeSample(t, "payload")
	// Drive the fake job through its life while the CLI watches.
	go func() {
		var id string
		for id == "" {
			time.Sleep(5 * time.Millisecond)
			js, _ := h.fake.Jobs(context.Background(), storeQuery())
			if len(js) > 0 {
				id = js[0].ID
			}
		}
		time.Sleep(20 * time.Millisecond)
		h.fake.Update(id, func(j *jobs.Job) {
			j.Move(jobs.Restoring, j.Created.Add(100*time.Millisecond), "")
			j.Slot, j.Step, j.Updated = "slot0", "restore", j.Created.Add(100*time.Millisecond)
		})
		time.Sleep(20 * time.Millisecond)
		h.fake.Update(id, func(j *jobs.Job) {
			j.Move(jobs.Running, j.Created.Add(2*time.Second), "")
			j.Move(jobs.Collecting, j.Created.Add(4*time.Second), "")
			j.Step, j.Updated = "collect", j.Created.Add(4*time.Second)
		})
		time.Sleep(20 * time.Millisecond)
		h.fake.Finish(id, &report.Report{JobID: id, Outcome: report.Outcome{Status: trace.OutcomeExited, ExitCode: 3}}, nil)
	}()
	code, out, errOut := h.run("submit", p, "--wait")
	if code != 0 {
		t.Fatalf("wait: %d %s %s", code, out, errOut)
	}
	t.Log("\n" + errOut)
	for _, want := range []string{"submitted sample.bin", "+0.0s  queued", "+0.1s  restoring   on slot0", "step restore", "+2.0s  running", "+4.0s  collecting", "step collect", "+5.0s  done"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("progress lacks %q", want)
		}
	}
	if !strings.Contains(out, "Outcome    exited with code 3") {
		t.Fatalf("report: %s", out)
	}
}

func TestSubmitWaitFailed(t *testing.T) {
	h := newHarness(t)
	p := writeSample(t, "payload")
	go func() {
		for {
			time.Sleep(5 * time.Millisecond)
			if js, _ := h.fake.Jobs(context.Background(), storeQuery()); len(js) > 0 {
				h.fake.Update(js[0].ID, func(j *jobs.Job) { j.Move(jobs.Failed, time.Now(), "restore: boom") })
				return
			}
		}
	}()
	code, _, errOut := h.run("submit", p, "--wait")
	if code != ExitFailure || !strings.Contains(errOut, "failed: restore: boom") {
		t.Fatalf("failed job: %d %s", code, errOut)
	}
}

func TestReportAndTrace(t *testing.T) {
	h := newHarness(t)
	code, out, _ := h.run("submit", writeSample(t, "x"))
	id := strings.TrimSpace(out)
	h.fake.Finish(id, &report.Report{JobID: id, Sample: jobs.Sample{Name: "x"}}, []byte("\x1f\x8btracebytes"))
	code, out, _ = h.run("report", id)
	if code != 0 || !strings.Contains(out, "Job        "+id) {
		t.Fatalf("report: %d %s", code, out)
	}
	code, out, _ = h.run("report", "--json", id)
	if code != 0 || !strings.Contains(out, `"job_id": "`+id) {
		t.Fatalf("report --json: %d %s", code, out)
	}
	dst := filepath.Join(t.TempDir(), "t.jsonl.gz")
	code, _, errOut := h.run("trace", id, "-o", dst)
	if b, _ := os.ReadFile(dst); code != 0 || string(b) != "\x1f\x8btracebytes" {
		t.Fatalf("trace: %d %s %q", code, errOut, b)
	}
	code, out, _ = h.run("trace", id, "-o", "-")
	if code != 0 || out != "\x1f\x8btracebytes" {
		t.Fatalf("trace to stdout: %d %q", code, out)
	}
}

func TestServeOptions(t *testing.T) {
	var got ServeOptions
	var out, errb bytes.Buffer
	env := map[string]string{defaults.EnvDataDir: "/srv/smn", defaults.EnvAddr: "unix:/run/smn.sock"}
	code := Run(context.Background(), []string{"serve", "--slots", "3", "--accel", "qemu", "--image", "img"}, Env{
		Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] },
		Serve: func(ctx context.Context, o ServeOptions) error { got = o; return nil },
	})
	if code != 0 || got.DataDir != "/srv/smn" || got.Listen != "unix:/run/smn.sock" || got.Slots != 3 || got.Accel != "qemu" || got.ImageDir != "img" || got.Logger == nil {
		t.Fatalf("serve: %d %+v %s", code, got, errb.String())
	}
	code = Run(context.Background(), []string{"serve", "--accel", "xen"}, Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" },
		Serve: func(ctx context.Context, o ServeOptions) error { return nil }})
	if code != ExitUsage {
		t.Fatalf("bad accel: %d", code)
	}
}
