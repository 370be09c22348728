package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

const testToken = "0123456789abcdef0123456789abcdef"

// hostile has markup, an ANSI escape and a right-to-left override.
const hostile = "<script>alert(1)</script>\x1b[31mred\u202egnp.exe"

// newServer serves the API with the web interface over st.
func newServer(t testing.TB, st *store.Store) *httptest.Server {
	t.Helper()
	svc := storeService{Store: st}
	log := slog.New(slog.DiscardHandler)
	h := api.NewHandler(svc, testToken, api.HandlerOptions{Logger: log, UI: New(svc, testToken, Options{Logger: log})})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func noRedirect(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestAuth(t *testing.T) {
	srv := newServer(t, openStore(t))
	jar, _ := cookiejar.New(nil)
	c := noRedirect(jar)
	if resp, body := get(t, c, srv.URL+"/ui/jobs"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `name="token"`) {
		t.Fatalf("no session: %d, login form %v", resp.StatusCode, strings.Contains(body, `name="token"`))
	}
	if resp, _ := get(t, c, srv.URL+"/"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/jobs" {
		t.Fatalf("/: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := get(t, c, srv.URL+"/?token=x"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/jobs?token=x" {
		t.Fatalf("/?token=: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := get(t, c, srv.URL+"/ui/jobs?token=wrong"); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Fatalf("wrong token: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	// The API beside it still wants its bearer header, cookie or not.
	if resp, _ := get(t, c, srv.URL+"/api/v1/jobs"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("api without bearer: %d", resp.StatusCode)
	}
	resp, _ := get(t, c, srv.URL+"/ui/jobs?state=done&token="+testToken)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/jobs?state=done" {
		t.Fatalf("?token=: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var tok *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == tokenCookie {
			tok = ck
		}
	}
	if tok == nil || !tok.HttpOnly || tok.SameSite != http.SameSiteStrictMode || tok.Path != "/ui/" {
		t.Fatalf("session cookie %+v", tok)
	}
	if resp, body := get(t, c, srv.URL+"/ui/jobs"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Submit a sample") {
		t.Fatalf("with cookie: %d", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}
	// Login form; the next URL stays inside /ui/.
	jar2, _ := cookiejar.New(nil)
	c2 := noRedirect(jar2)
	resp, err := c2.PostForm(srv.URL+"/ui/login", url.Values{"token": {testToken}, "next": {"//evil.example/x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/jobs" {
		t.Fatalf("login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Bearer header works without a cookie.
	req, _ := http.NewRequest("GET", srv.URL+"/ui/jobs", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("bearer: %v %v", resp, err)
	}
}

// login returns a client with a session and the jobs page's CSRF token.
func login(t *testing.T, srv *httptest.Server) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := noRedirect(jar)
	get(t, c, srv.URL+"/ui/jobs?token="+testToken)
	_, body := get(t, c, srv.URL+"/ui/jobs")
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF field on the jobs page")
	}
	return c, m[1]
}

func uploadBody(t *testing.T, csrf, name string, content []byte) (string, *bytes.Buffer) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if csrf != "" {
		mw.WriteField("csrf", csrf)
	}
	mw.WriteField("timeout", "5s")
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(content)
	mw.Close()
	return mw.FormDataContentType(), &b
}

func TestUploadCSRF(t *testing.T) {
	st := openStore(t)
	srv := newServer(t, st)
	c, csrf := login(t, srv)
	for _, bad := range []string{"", strings.Repeat("0", 64)} {
		ct, body := uploadBody(t, bad, "x.bin", []byte("\x7fELF..."))
		resp, err := c.Post(srv.URL+"/ui/jobs", ct, body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("csrf %q: %d", bad, resp.StatusCode)
		}
	}
	if js, _ := st.ListJobs(store.ListQuery{}); len(js) != 0 {
		t.Fatalf("a refused upload stored %d jobs", len(js))
	}
	// A control character in the part's header is a clear 400; nothing
	// is stored.
	ct, body := uploadBody(t, csrf, hostile+".bin", []byte("#!/bin/sh\necho hi\n"))
	resp, err := c.Post(srv.URL+"/ui/jobs", ct, body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if js, _ := st.ListJobs(store.ListQuery{}); resp.StatusCode != http.StatusBadRequest || len(js) != 0 {
		t.Fatalf("malformed part header: %d, %d jobs", resp.StatusCode, len(js))
	}
	ct, body = uploadBody(t, csrf, "<b>x</b>\u202egnp.exe.bin", []byte("#!/bin/sh\necho hi\n"))
	resp, err = c.Post(srv.URL+"/ui/jobs", ct, body)
	if err != nil {
		t.Fatal(err)
	}
	eb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	js, _ := st.ListJobs(store.ListQuery{})
	if resp.StatusCode != http.StatusSeeOther {
		t.Logf("upload answer: %s", eb)
	}
	if resp.StatusCode != http.StatusSeeOther || len(js) != 1 || resp.Header.Get("Location") != "/ui/jobs/"+js[0].ID {
		t.Fatalf("upload: %d %q, %d jobs", resp.StatusCode, resp.Header.Get("Location"), len(js))
	}
	if j := js[0]; len(j.Sample.MD5) != 32 || len(j.Sample.SHA1) != 40 || j.Options.Timeout.String() != "5s" {
		t.Fatalf("job %+v", j)
	}
	// The queued job's page and the jobs list show it escaped, with the
	// live-progress hook.
	_, page := get(t, c, srv.URL+"/ui/jobs")
	if !strings.Contains(page, `data-active="`+js[0].ID+`"`) || strings.Contains(page, "<script>alert") {
		t.Fatalf("jobs page: active hook %v, raw script %v", strings.Contains(page, "data-active"), strings.Contains(page, "<script>alert"))
	}
	_, prog := get(t, c, srv.URL+"/ui/progress?id="+js[0].ID)
	if !strings.Contains(prog, `"state":"queued"`) {
		t.Fatalf("progress %s", prog)
	}
}

func TestHostileStringsEscaped(t *testing.T) {
	st := openStore(t)
	srv := newServer(t, st)
	j := addJob(t, st, hostile, []byte("hostile"), sampleTrace(4, true, hostile), malwareVerdict(hostile))
	c, _ := login(t, srv)
	// The store already made the sample name printable (SanitizeName);
	// the trace's strings (paths, argv, exe, API arguments) come as the
	// guest wrote them.
	if _, body := get(t, c, srv.URL+"/ui/jobs"); !strings.Contains(body, `script&gt;?[31mred?gnp.exe`) || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("jobs page: the sanitised name or the family is not shown escaped")
	}
	for _, p := range []string{"/ui/jobs/" + j.ID, "/ui/jobs/" + j.ID + "/log", "/ui/jobs/" + j.ID + "/log?kind=api"} {
		resp, body := get(t, c, srv.URL+p)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
		if strings.Contains(body, "<script>alert") || strings.ContainsAny(body, "\x1b\u202e") {
			t.Errorf("%s: raw hostile text in the page", p)
		}
		if !strings.Contains(body, `&lt;script&gt;alert(1)&lt;/script&gt;\x1b[31mred\u202egnp.exe`) {
			t.Errorf("%s: the escaped name is not shown", p)
		}
	}
	if got := Clean("a\x1b[0m\u202eb\u2066c\xffd\te"); got != `a\x1b[0m\u202eb\u2066c\xffd\x09e` {
		t.Fatalf("Clean: %q", got)
	}
}

func TestReportPage(t *testing.T) {
	st := openStore(t)
	srv := newServer(t, st)
	j := addJob(t, st, "dropper.elf", []byte("dropper"), sampleTrace(12, true, "x"), malwareVerdict("Mirai"))
	c, _ := login(t, srv)
	_, body := get(t, c, srv.URL+"/ui/jobs/"+j.ID)
	for _, want := range []string{`id="verdict-label">malware<`, `id="family">Mirai<`, "callseq-cnn", `class="proc"`,
		"/usr/bin/wgetx", "System calls per window", "Windows API calls per window", `HKLM\Software\Runx`,
		"inet 203.0.113.7:4444", "/ui/jobs/" + j.ID + "/trace.jsonl.gz",
		`<tr class="sig sev-5">`, "<strong>socket-shell</strong>", "T1059.004", "pid 7 execve /bin/sh &lt;script&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("report page lacks %q", want)
		}
	}
	// 12 windows x (total + 3 processes) on the system call plot, 12 x
	// (total + 1) on the API plot.
	if n := strings.Count(body, `class="pt"`); n != 12*4+12*2 {
		t.Errorf("%d data points", n)
	}
	resp, _ := get(t, c, srv.URL+"/ui/jobs/"+j.ID+"/trace.jsonl.gz")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/gzip" {
		t.Fatalf("trace download %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := get(t, c, srv.URL+"/ui/jobs/20261124T014000Z-0k3f9q2w"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown job %d", resp.StatusCode)
	}
	// Search through the UI.
	_, page := get(t, c, srv.URL+"/ui/jobs?family=mirai&md5="+j.Sample.MD5)
	if !strings.Contains(page, j.ID) {
		t.Fatal("search by family and md5 misses the job")
	}
	_, page = get(t, c, srv.URL+"/ui/jobs?verdict=benign")
	if strings.Contains(page, j.ID) || !strings.Contains(page, "No jobs match") {
		t.Fatal("search by verdict benign shows the malware job")
	}
	if resp, _ := get(t, c, srv.URL+"/ui/jobs?sha256=xyz"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad hash: %d", resp.StatusCode)
	}
}

// The log pages of a filter, read in order, are exactly the matching calls,
// each once; resuming from a learnt page start gives the same page.
func TestLogPaging(t *testing.T) {
	tr := sampleTrace(40, true, "x")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tr.WriteJSONL(zw)
	zw.Close()
	for _, f := range []logFilter{{Kind: "syscall"}, {Kind: "syscall", PID: 101}, {Kind: "syscall", Call: "OPEN"}, {Kind: "api", Call: "regopen"}} {
		var want int
		for i := range tr.Windows {
			want += len(rowsOf(&tr.Windows[i], f))
		}
		var starts []pagePos
		got := 0
		var page3 []logRow
		for p := 0; ; p++ {
			rows, more, learnt, err := logPage(bytes.NewReader(buf.Bytes()), f, p, starts)
			if err != nil {
				t.Fatal(err)
			}
			starts = learnt
			got += len(rows)
			if p == 3 {
				page3 = rows
			}
			if !more {
				break
			}
			if len(rows) != LogPageSize {
				t.Fatalf("%+v page %d: %d rows with more after", f, p, len(rows))
			}
		}
		if got != want {
			t.Fatalf("%+v: %d rows paged, %d match", f, got, want)
		}
		if page3 != nil {
			// Straight to page 3 with no known starts, and from the
			// trace view's counters: same rows.
			rows, _, _, _ := logPage(bytes.NewReader(buf.Bytes()), f, 3, nil)
			if len(rows) != len(page3) || rows[0] != page3[0] {
				t.Fatalf("%+v: page 3 differs when read cold", f)
			}
			v, err := scanView(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			from, ok := v.pageStart(f, 3)
			if !ok {
				t.Fatalf("%+v: no page start for page 3", f)
			}
			rows, _, _, _ = logPageAt(bytes.NewReader(buf.Bytes()), f, 3, 3, from, nil)
			if len(rows) != len(page3) || rows[0] != page3[0] || rows[len(rows)-1] != page3[len(page3)-1] {
				t.Fatalf("%+v: page 3 differs when started from the counters", f)
			}
		}
	}
	// A truncated artifact is an error, not a crash.
	if _, _, _, err := logPage(bytes.NewReader(buf.Bytes()[:buf.Len()/2]), logFilter{Kind: "syscall"}, 1000, nil); err == nil {
		t.Fatal("truncated artifact: no error")
	}
}
