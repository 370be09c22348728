// Package browsertest starts Debian's chromium, headless, for the web
// interface's tests, driven by github.com/chromedp/chromedp; and saves
// screenshots as test artifacts. It is for tests only.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Need returns chromium's path or stops the test: it fails under CI=true
// (scripts/setup-host.sh installs chromium) and skips with the reason
// elsewhere.
func Need(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	stop := tb.Skipf
	if os.Getenv("CI") == "true" {
		stop = tb.Fatalf
	}
	stop("browser test: chromium not found in PATH (scripts/setup-host.sh installs Debian's chromium)")
	return ""
}

// New starts a headless chromium with a fresh profile and returns a
// browser context (one tab) that ends with the test, with the browser.
// The flags keep it off the network: no background requests, component
// updates, sync or first-run pages (without them Chromium keeps trying to
// reach Google's servers).
func New(tb testing.TB) context.Context {
	tb.Helper()
	path := Need(tb)
	// Not tb.TempDir: its removal would run before the browser is gone.
	profile, err := os.MkdirTemp("", "smn-chromium-")
	if err != nil {
		tb.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // root in a container; the pages are our own
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	tb.Cleanup(func() {
		cancelT()
		cancelB()
		cancelA() // waits for the browser process to exit
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := chromedp.Run(ctx); err != nil { // starts the browser
		tb.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Dir is where screenshots go: $SCALEMALNET_ARTIFACTS/browser when set
// (make test sets it), else a temporary directory of the test.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	if d := os.Getenv("SCALEMALNET_ARTIFACTS"); d != "" {
		dir = filepath.Join(d, "browser")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot saves a full-page PNG of the current page as
// <Dir>/<test>-<name>.png and logs its path.
func Screenshot(tb testing.TB, ctx context.Context, name string) string {
	tb.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		tb.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(Dir(tb), unsafeName.ReplaceAllString(tb.Name()+"-"+name, "_")+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("screenshot: %s (%d bytes)", p, len(png))
	return p
}
