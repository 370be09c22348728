package web

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scalemalnet/scalemalnet/guest/trace"
	"github.com/scalemalnet/scalemalnet/internal/browsertest"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

// Browser tests: a real chromium loads the pages from the real handler
// over a real store and the test asserts what is visible.

func TestBrowserPages(t *testing.T) {
	ctx := browsertest.New(t)
	st := openStore(t)
	srv := newServer(t, st)
	addJob(t, st, "benign-tool", []byte("benign"), sampleTrace(5, false, "b"), &report.Verdict{Label: report.VerdictBenign, Probability: 0.04, Threshold: 0.5, Method: "soft-vote",
		Contributions: []report.Contribution{{Classifier: "header-rf", Delta: -0.2}, {Classifier: "callseq-cnn", Delta: -0.1}}})
	j := addJob(t, st, "dropper.elf", []byte("dropper"), sampleTrace(15, true, ""), malwareVerdict("Mirai"))

	var jobsText string
	var rows int
	err := chromedp.Run(ctx,
		chromedp.Navigate(srv.URL+"/ui/jobs?token="+testToken),
		chromedp.WaitVisible("#jobs"),
		chromedp.Text("#jobs", &jobsText),
		chromedp.Evaluate(`document.querySelectorAll("#jobs tbody tr[data-id]").length`, &rows),
	)
	if err != nil {
		t.Fatal(err)
	}
	if rows != 2 || !strings.Contains(jobsText, j.ID) || !strings.Contains(jobsText, "malware 0.93") || !strings.Contains(jobsText, "Mirai") ||
		!strings.Contains(jobsText, j.Sample.MD5) || !strings.Contains(jobsText, "dropper.elf") {
		t.Fatalf("jobs page shows %d rows:\n%s", rows, jobsText)
	}
	browsertest.Screenshot(t, ctx, "jobs")

	// Search from the form: family, typed in another case.
	err = chromedp.Run(ctx,
		chromedp.SendKeys(`#search input[name="family"]`, "mIRAI"),
		chromedp.Submit(`#search input[name="family"]`),
		chromedp.WaitVisible("#jobs"),
		chromedp.Evaluate(`document.querySelectorAll("#jobs tbody tr[data-id]").length`, &rows),
	)
	if err != nil || rows != 1 {
		t.Fatalf("search by family: %d rows, %v", rows, err)
	}

	var label, family string
	var procs, points, contribBars int
	var treeText string
	var svgW float64
	err = chromedp.Run(ctx,
		chromedp.Navigate(srv.URL+"/ui/jobs/"+j.ID),
		chromedp.WaitVisible("#verdict-label"),
		chromedp.Text("#verdict-label", &label),
		chromedp.Text("#family", &family),
		chromedp.Evaluate(`document.querySelectorAll("#tree li.proc").length`, &procs),
		chromedp.Text("#tree", &treeText),
		chromedp.Evaluate(`document.querySelectorAll("svg.line circle.pt").length`, &points),
		chromedp.Evaluate(`document.querySelectorAll("#contrib rect").length`, &contribBars),
		chromedp.Evaluate(`document.querySelector("svg.line").getBoundingClientRect().width`, &svgW),
	)
	if err != nil {
		t.Fatal(err)
	}
	if label != "malware" || family != "Mirai" {
		t.Errorf("verdict %q family %q", label, family)
	}
	if procs != 3 || !strings.Contains(treeText, "/usr/bin/wget") || !strings.Contains(treeText, "/tmp/.cache/worker") {
		t.Errorf("tree: %d nodes: %s", procs, treeText)
	}
	// 15 windows: syscalls (total + 3 processes), API (total + 1 process).
	if points != 15*4+15*2 || contribBars != 3 || svgW < 300 {
		t.Errorf("points %d, contribution bars %d, plot width %.0f", points, contribBars, svgW)
	}
	browsertest.Screenshot(t, ctx, "report")

	// The log, filtered by process and call name, then the next page.
	var logRows int
	var pids []string
	err = chromedp.Run(ctx,
		chromedp.Navigate(srv.URL+"/ui/jobs/"+j.ID+"/log?pid=101&call=open"),
		chromedp.WaitVisible("#log"),
		chromedp.Evaluate(`document.querySelectorAll("#log tbody tr").length`, &logRows),
		chromedp.Evaluate(`Array.from(document.querySelectorAll("#log tbody tr td:nth-child(2)")).map(td => td.textContent)`, &pids),
	)
	if err != nil {
		t.Fatal(err)
	}
	// pid 101 opens 2*i times in window i: 2*(1+...+14) = 210 calls.
	if logRows != LogPageSize {
		t.Fatalf("log page 1: %d rows", logRows)
	}
	for _, p := range pids {
		if p != "101" {
			t.Fatalf("filtered log shows pid %s", p)
		}
	}
	browsertest.Screenshot(t, ctx, "log")
	err = chromedp.Run(ctx,
		chromedp.Click("#next"),
		chromedp.WaitVisible("#prev"),
		chromedp.Click("#next"),
		chromedp.WaitVisible("#log"),
		chromedp.Evaluate(`document.querySelectorAll("#log tbody tr").length`, &logRows),
	)
	if err != nil || logRows != 10 {
		t.Fatalf("log page 3: %d rows, %v", logRows, err)
	}
}

// Uploading through the form creates a job and shows its page, which polls
// for progress.
func TestBrowserUpload(t *testing.T) {
	ctx := browsertest.New(t)
	st := openStore(t)
	srv := newServer(t, st)
	f := filepath.Join(t.TempDir(), "upload-me.sh")
	os.WriteFile(f, []byte("#!/bin/sh\necho uploaded\n"), 0o644)
	var state, title string
	err := chromedp.Run(ctx,
		chromedp.Navigate(srv.URL+"/ui/login"),
		chromedp.SendKeys(`input[name="token"]`, testToken),
		chromedp.Submit(`input[name="token"]`),
		chromedp.WaitVisible("#upload"),
		chromedp.SetUploadFiles(`#upload input[name="file"]`, []string{f}),
		chromedp.SetValue(`#upload input[name="timeout"]`, "7s"),
		chromedp.Submit(`#upload input[name="file"]`),
		chromedp.WaitVisible("#progress"),
		chromedp.Text("#progress .st", &state),
		chromedp.Title(&title),
	)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := st.ListJobs(store.ListQuery{})
	if len(js) != 1 || js[0].Sample.Name != "upload-me.sh" || js[0].Options.Timeout != 7*time.Second || state != "queued" {
		t.Fatalf("after upload: %d jobs %+v, page state %q (%s)", len(js), js, state, title)
	}
}

// Hostile strings in the sample name and the trace render as inert text.
func TestBrowserHostile(t *testing.T) {
	ctx := browsertest.New(t)
	st := openStore(t)
	srv := newServer(t, st)
	const evil = `<script>document.title="pwned"</script><img src=x onerror="document.title='pwned'">` + "\x1b[2J\u202egnp.exe"
	j := addJob(t, st, evil, []byte("evil"), sampleTrace(3, true, evil), malwareVerdict(evil))
	for _, page := range []string{"/ui/jobs", "/ui/jobs/" + j.ID, "/ui/jobs/" + j.ID + "/log", "/ui/jobs/" + j.ID + "/log?kind=api"} {
		var title, text string
		var scripts, imgs int
		err := chromedp.Run(ctx,
			chromedp.Navigate(srv.URL+page+sep(page)+"token="+testToken),
			chromedp.WaitVisible("main"),
			chromedp.Sleep(200*time.Millisecond), // an onerror handler would have run
			chromedp.Title(&title),
			chromedp.Evaluate(`document.scripts.length`, &scripts),
			chromedp.Evaluate(`document.images.length`, &imgs),
			chromedp.Text("main", &text),
		)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(title, "pwned") || scripts != 1 || imgs != 0 {
			t.Errorf("%s: title %q, %d scripts, %d images", page, title, scripts, imgs)
		}
		want := `<script>document.title="pwned"</script><img src=x onerror="document.title='pwned'">\x1b[2J\u202egnp.exe`
		if page == "/ui/jobs" {
			// The list shows the sample name, which the store made
			// printable at submission (store.SanitizeName), cut to 48
			// characters, and the family cut to 32.
			want = `script><img src=x onerror="document.title='pwne…`
			if !strings.Contains(text, `<script>document.title="pwned"<…`) {
				t.Errorf("jobs page: family not shown as text")
			}
		}
		if page == "/ui/jobs/"+j.ID+"/log" {
			// System call arguments are shown Go-quoted.
			want = `<script>document.title=\"pwned\"</script><img src=x onerror=\"document.title='pwned'\">\x1b[2J\u202egnp.exe`
		}
		if strings.ContainsAny(text, "\x1b\u202e") || !strings.Contains(text, want) {
			t.Errorf("%s: hostile text not shown as inert escaped text:\n%s", page, text)
		}
		if page == "/ui/jobs/"+j.ID {
			browsertest.Screenshot(t, ctx, "hostile-report")
		}
	}
}

func sep(u string) string {
	if strings.Contains(u, "?") {
		return "&"
	}
	return "?"
}

// A trace recorded from a real VM (fork-exec, saved by cmd/scalemalnet's
// TestBrowserRealJob) loaded into a store: the report page shows its real
// process tree and timeline.
func TestBrowserRecordedTrace(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "fork-exec.trace.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trace.ReadJSONL(zr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t)
	st := openStore(t)
	srv := newServer(t, st)
	j := addJob(t, st, "fork-exec", []byte("fork-exec recorded"), tr, malwareVerdict("Gafgyt"))
	var tree, label string
	var procs, points int
	err = chromedp.Run(ctx,
		chromedp.Navigate(srv.URL+"/ui/jobs/"+j.ID+"?token="+testToken),
		chromedp.WaitVisible("#verdict-label"),
		chromedp.Text("#verdict-label", &label),
		chromedp.Text("#tree", &tree),
		chromedp.Evaluate(`document.querySelectorAll("#tree li.proc").length`, &procs),
		chromedp.Evaluate(`document.querySelectorAll("svg.line circle.pt").length`, &points),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Every window gets a point on the total line and on each process's.
	if label != "malware" || procs != len(tr.Summary.Processes) || !strings.Contains(tree, "/bin/sh") ||
		points != len(tr.Windows)*(1+len(tr.Summary.Processes)) {
		t.Fatalf("verdict %q, %d tree nodes (%d processes), %d points (%d windows):\n%s", label, procs, len(tr.Summary.Processes), points, len(tr.Windows), tree)
	}
	browsertest.Screenshot(t, ctx, "report")
}
