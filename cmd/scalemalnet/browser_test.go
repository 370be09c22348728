package main

// The web interface in a real browser against a real orchestrator: `serve`
// analyses a bundled sample in a real VM, then Debian's chromium (driven by
// chromedp) loads its jobs page, report and call log.

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scalemalnet/scalemalnet/internal/browsertest"
	"github.com/scalemalnet/scalemalnet/internal/vmtest"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

func TestBrowserRealJob(t *testing.T) {
	imageDir, samplesDir := vmtest.Need(t)
	browsertest.Need(t)
	o := newOrchestrator(t, buildBinary(t), imageDir, 1)
	o.start()
	defer func() {
		if o.cmd != nil {
			o.stop()
		}
	}()
	j, err := o.submit(filepath.Join(samplesDir, "fork-exec"), "fork-exec", jobs.Options{Timeout: 20 * time.Second, Window: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 6*time.Minute, "job done", func() bool { return o.job(j.ID).State.Final() })
	if j = o.job(j.ID); j.State != jobs.Done {
		t.Fatalf("job %s: %s (%s)", j.ID, j.State, j.Error)
	}

	// serve listens on a Unix socket; the browser gets a loopback TCP
	// port that forwards to it.
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: "http", Host: "serve"})
			r.Out.Host = r.In.Host
		},
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", o.sock)
		}},
	}
	srv := httptest.NewServer(rp)
	defer srv.Close()
	tok, err := os.ReadFile(filepath.Join(o.dataDir, "token"))
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(tok))

	ctx := browsertest.New(t)
	var jobsText string
	err = chromedp.Run(ctx,
		chromedp.Navigate(srv.URL+"/?token="+token), // "/" redirects to the jobs page
		chromedp.WaitVisible("#jobs"),
		chromedp.Text("#jobs", &jobsText),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(jobsText, j.ID) || !strings.Contains(jobsText, "done") || !strings.Contains(jobsText, j.Sample.SHA1) {
		t.Fatalf("jobs page:\n%s", jobsText)
	}
	browsertest.Screenshot(t, ctx, "jobs")

	var verdict, tree string
	var procs, points int
	err = chromedp.Run(ctx,
		chromedp.Navigate(srv.URL+"/ui/jobs/"+j.ID+"?token="+token),
		chromedp.WaitVisible("#verdict"),
		chromedp.Text("#verdict .big", &verdict),
		chromedp.Text("#tree", &tree),
		chromedp.Evaluate(`document.querySelectorAll("#tree li.proc").length`, &procs),
		chromedp.Evaluate(`document.querySelectorAll("svg.line circle.pt").length`, &points),
	)
	if err != nil {
		t.Fatal(err)
	}
	// This orchestrator has no fusion model (only the built-in plugins):
	// the page says so where the verdict goes.
	if !strings.Contains(verdict, "No verdict") && !strings.Contains(verdict, "Verdict:") {
		t.Errorf("verdict line %q", verdict)
	}
	// fork-exec forks; the child executes /bin/sh -c "echo child; id".
	if procs < 2 || !strings.Contains(tree, "/bin/sh") {
		t.Errorf("process tree: %d nodes\n%s", procs, tree)
	}
	if points < 2 {
		t.Errorf("timeline: %d data points", points)
	}
	browsertest.Screenshot(t, ctx, "report")

	var rows int
	err = chromedp.Run(ctx,
		chromedp.Navigate(srv.URL+"/ui/jobs/"+j.ID+"/log?call=exec&token="+token),
		chromedp.WaitVisible("#log"),
		chromedp.Evaluate(`Array.from(document.querySelectorAll("#log td.call")).filter(td => td.textContent.startsWith("exec")).length`, &rows),
	)
	if err != nil || rows < 1 {
		t.Fatalf("call log filtered on exec: %d rows, %v", rows, err)
	}
	browsertest.Screenshot(t, ctx, "log")

	// The trace, downloaded through the interface, is kept beside the
	// screenshots (orchestrator/web's recorded-trace test uses one).
	var trace []byte
	req, _ := http.NewRequest("GET", srv.URL+"/ui/jobs/"+j.ID+"/trace.jsonl.gz", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		trace, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err != nil || resp.StatusCode != http.StatusOK || len(trace) < 100 {
		t.Fatalf("trace download: %v %d bytes", err, len(trace))
	}
	p := filepath.Join(browsertest.Dir(t), "fork-exec.trace.jsonl.gz")
	if err := os.WriteFile(p, trace, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("trace: %s", p)
}
