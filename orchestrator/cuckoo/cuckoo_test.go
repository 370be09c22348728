package cuckoo_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/api/apitest"
	"github.com/scalemalnet/scalemalnet/orchestrator/cuckoo"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

const token = "0123456789abcdef0123456789abcdef"

type env struct {
	st  *store.Store
	srv *httptest.Server
	url string // with a trailing slash, as the clients are configured
}

// newEnv serves the API with the Cuckoo routes mounted beside it, over a
// real bbolt store.
func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := apitest.StoreService{Store: st}
	log := slog.New(slog.DiscardHandler)
	ch := cuckoo.NewHandler(svc, st, cuckoo.Options{Token: token, MaxSample: 1 << 20, Logger: log, Hostname: "sandbox"})
	h := api.NewHandler(svc, token, api.HandlerOptions{MaxSample: 1 << 20, Logger: log, Mounts: cuckoo.Mounts(ch)})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{st: st, srv: srv, url: srv.URL + "/"}
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return m
}

// wantCuckooError checks a Cuckoo-style error: the status and a JSON body
// {"message": "..."} containing want.
func wantCuckooError(t *testing.T, resp *http.Response, body []byte, status int, want string) {
	t.Helper()
	var e struct {
		Message string `json:"message"`
	}
	if resp.StatusCode != status || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Message, want) {
		t.Fatalf("%s %s: got %d %s, want %d with message containing %q", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, body, status, want)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type %q", ct)
	}
}

func taskIDOf(t *testing.T, resp *http.Response, body []byte) int {
	t.Helper()
	if resp.StatusCode != 200 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	m := decode(t, body)
	// Cortex reads response.json()['task_ids'][0] unconditionally (its
	// public analyzer source); MISP and Cuckoo 2.0.7 clients read task_id.
	ids, ok := m["task_ids"].([]any)
	id, ok2 := m["task_id"].(float64)
	if !ok || len(ids) != 1 || !ok2 || ids[0].(float64) != id {
		t.Fatalf("want task_id and task_ids [task_id] in %s", body)
	}
	return int(id)
}

// TestCortexAnalyzerFlow runs the Cortex CuckooSandbox analyzer's
// sequence: submit, poll tasks/view until reported, read the JSON report
// the way it does.
func TestCortexAnalyzerFlow(t *testing.T) {
	e := newEnv(t)
	sample := []byte("\x7fELF\x02\x01\x01 pretend sample")
	body, ctype := pyRequestsMultipart(nil, []pyFile{{"file", "dropper.bin", sample}})
	resp, b := pyPost(t, e.url+"tasks/create/file", token, body, ctype)
	id := taskIDOf(t, resp, b)
	if id != 1 {
		t.Fatalf("first task id %d, want 1", id)
	}
	view := func() map[string]any {
		resp, b := pyGet(t, e.url+"tasks/view/"+fmt.Sprint(id), token)
		if resp.StatusCode != 200 {
			t.Fatalf("view: %d %s", resp.StatusCode, b)
		}
		return decode(t, b)["task"].(map[string]any)
	}
	task := view()
	if task["status"] != "pending" || task["category"] != "file" || task["target"] != "dropper.bin" {
		t.Fatalf("queued task: %v", task)
	}
	jobID := task["scalemalnet_job_id"].(string)
	// The report is not there yet: Cuckoo's 404.
	resp, b = pyGet(t, e.url+"tasks/report/"+fmt.Sprint(id)+"/json", token)
	wantCuckooError(t, resp, b, 404, "Report not found")

	for _, step := range []struct {
		to   jobs.State
		want string
	}{{jobs.Restoring, "running"}, {jobs.Running, "running"}, {jobs.Collecting, "completed"}} {
		if err := apitest.Advance(e.st, jobID, step.to); err != nil {
			t.Fatal(err)
		}
		if got := view()["status"]; got != step.want {
			t.Fatalf("job %s: status %v, want %s", step.to, got, step.want)
		}
	}
	rep := apitest.RichReport()
	rep.JobID = jobID
	j, _ := e.st.Job(jobID)
	rep.Sample, rep.Options = j.Sample, j.Options
	if err := e.st.PutReport(jobID, rep); err != nil {
		t.Fatal(err)
	}
	if err := apitest.Advance(e.st, jobID, jobs.Done); err != nil {
		t.Fatal(err)
	}
	task = view()
	if task["status"] != "reported" || task["completed_on"] == nil || task["started_on"] == nil {
		t.Fatalf("done task: %v", task)
	}

	resp, b = pyGet(t, e.url+"tasks/report/"+fmt.Sprint(id)+"/json", token)
	if resp.StatusCode != 200 {
		t.Fatalf("report: %d %s", resp.StatusCode, b)
	}
	r := decode(t, b)
	// What the analyzer reads, the way it reads it.
	var descs []string
	for _, s := range r["signatures"].([]any) {
		descs = append(descs, s.(map[string]any)["description"].(string))
	}
	if len(descs) != 2 || !strings.Contains(descs[0], "malware") || !strings.Contains(descs[0], "Mirai") || !strings.Contains(descs[1], "callseq-mlp") {
		t.Fatalf("signature descriptions %q", descs)
	}
	network := r["network"].(map[string]any)
	var hosts [][3]any
	for _, h := range network["hosts"].([]any) {
		m := h.(map[string]any)
		hosts = append(hosts, [3]any{m["ip"], m["hostname"], m["country_name"]})
	}
	if len(hosts) != 1 || hosts[0][0] != "93.184.216.34" {
		t.Fatalf("hosts %v: want the one remote address (loopback and unix sockets left out)", hosts)
	}
	// The report ran on the fake internet: Cortex reads network.http[].uri.
	if uris, ok := network["http"].([]any); !ok || len(uris) != 1 || uris[0].(map[string]any)["uri"] != "http://evil.example/gate.php" {
		t.Fatalf("network.http %v: want the fake internet's request", network["http"])
	}
	if r["malscore"] != 9.1 || r["malfamily"] != "Mirai" {
		t.Fatalf("malscore %v malfamily %v, want 9.1 Mirai", r["malscore"], r["malfamily"])
	}
	info := r["info"].(map[string]any)
	if info["score"] != 9.1 || info["id"] != float64(id) || info["category"] != "file" {
		t.Fatalf("info %v", info)
	}
	file := r["target"].(map[string]any)["file"].(map[string]any)
	if ft := file["type"].(string); !strings.Contains(ft, "ELF") {
		t.Fatalf("target.file.type %q", ft)
	}
	if yara, ok := file["yara"].([]any); !ok || len(yara) != 0 {
		t.Fatalf("target.file.yara %v: want an empty list", file["yara"])
	}
	if file["md5"] != j.Sample.MD5 || file["sha256"] != j.Sample.SHA256 || len(file["sha512"].(string)) != 128 || file["name"] != "dropper.bin" {
		t.Fatalf("target.file %v", file)
	}
	procs := r["behavior"].(map[string]any)["processes"].([]any)
	if len(procs) != 2 || procs[1].(map[string]any)["process_name"] != "sh" || procs[1].(map[string]any)["ppid"] != float64(100) {
		t.Fatalf("behavior.processes %v", procs)
	}
	tree := r["behavior"].(map[string]any)["processtree"].([]any)
	if kids := tree[0].(map[string]any)["children"].([]any); len(kids) != 1 {
		t.Fatalf("processtree %v", tree)
	}
	// /tasks/report/<id> without a format is the same JSON report.
	resp, b2 := pyGet(t, e.url+"tasks/report/"+fmt.Sprint(id), token)
	if resp.StatusCode != 200 || decode(t, b2)["malscore"] != 9.1 {
		t.Fatalf("report without format: %d", resp.StatusCode)
	}
}

// TestMISPSubmitFlow sends what MISP's cuckoo_submit sends.
func TestMISPSubmitFlow(t *testing.T) {
	e := newEnv(t)
	body, ctype := pyRequestsMultipart(nil, []pyFile{{"file", "invoice.pdf.exe", []byte("MZ\x90\x00 pretend PE")}})
	resp, b := pyPost(t, e.url+"tasks/create/file", token, body, ctype)
	if resp.StatusCode != 200 {
		t.Fatalf("MISP checks for 200: got %d %s", resp.StatusCode, b)
	}
	if id := taskIDOf(t, resp, b); id != 1 {
		t.Fatalf("task id %d", id)
	}
	// tasks/create/url: a clear Cuckoo-style refusal, nothing stored.
	form := url.Values{"url": {"http://example.com/x"}}.Encode()
	resp, b = pyPost(t, e.url+"tasks/create/url", token, []byte(form), "application/x-www-form-urlencoded")
	wantCuckooError(t, resp, b, 400, "URL analysis is not supported")
	if n, _ := e.st.Count(jobs.Queued); n != 1 {
		t.Fatalf("%d jobs queued, want 1", n)
	}
}

// TestCreateFileFields: Cuckoo's form fields, acted on or listed as
// ignored in the task and the report.
func TestCreateFileFields(t *testing.T) {
	e := newEnv(t)
	fields := []pyField{
		{"timeout", "120"}, {"priority", "2"}, {"owner", "analyst1"}, {"custom", "case-42"},
		{"options", "route=internet,arguments=-v -x,procmemdump=yes"}, {"tags", "win7,x64"},
		{"package", "exe"}, {"machine", "cuckoo1"}, {"platform", "windows"}, {"memory", "1"},
		{"enforce_timeout", "0"}, {"clock", "01-01-2030 10:00:00"}, {"shrike_url", "x"},
	}
	body, ctype := pyRequestsMultipart(fields, []pyFile{{"file", "s.bin", []byte("sample with fields")}})
	resp, b := pyPost(t, e.url+"tasks/create/file", token, body, ctype)
	id := taskIDOf(t, resp, b)
	resp, b = pyGet(t, e.url+"tasks/view/"+fmt.Sprint(id), token)
	task := decode(t, b)["task"].(map[string]any)
	j, err := e.st.Job(task["scalemalnet_job_id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if j.Options.Timeout != 120*time.Second || j.Options.Network != jobs.NetworkUser || strings.Join(j.Options.Args, " ") != "-v -x" ||
		strings.Join(j.Options.Tags, ",") != "win7,x64" {
		t.Fatalf("job options %+v: want timeout 120s, network user, args -v -x, tags win7,x64", j.Options)
	}
	if task["timeout"] != float64(120) || task["priority"] != float64(2) || task["owner"] != "analyst1" || task["custom"] != "case-42" || task["route"] != "internet" {
		t.Fatalf("task %v", task)
	}
	ign := fmt.Sprint(task["ignored_options"])
	for _, want := range []string{"options.procmemdump=yes", "package=exe", "machine=cuckoo1", "platform=windows", "memory=1", "clock=", "shrike_url=x"} {
		if !strings.Contains(ign, want) {
			t.Errorf("ignored_options %s lacks %q", ign, want)
		}
	}
	if strings.Contains(ign, "enforce_timeout") || strings.Contains(ign, "tags") || strings.Contains(ign, "owner") || strings.Contains(ign, "timeout=120") {
		t.Errorf("ignored_options %s lists a field that was used or left at its default", ign)
	}
	if err := apitest.Finish(e.st, j.ID, &report.Report{}, nil); err != nil {
		t.Fatal(err)
	}
	resp, b = pyGet(t, e.url+"tasks/report/"+fmt.Sprint(id)+"/json", token)
	r := decode(t, b)
	info := r["info"].(map[string]any)
	if !strings.Contains(fmt.Sprint(info["ignored_options"]), "options.procmemdump=yes") || info["owner"] != "analyst1" {
		t.Fatalf("report info %v", info)
	}
	// No verdict: malscore 0 (Cortex compares it with numbers), no family.
	if r["malscore"] != float64(0) || r["malfamily"] != nil || len(r["signatures"].([]any)) != 0 {
		t.Fatalf("report without verdict: malscore %v malfamily %v signatures %v", r["malscore"], r["malfamily"], r["signatures"])
	}
}

// TestMalformedRequests: every bad request gets a Cuckoo JSON error and
// stores nothing.
func TestMalformedRequests(t *testing.T) {
	e := newEnv(t)
	file := []pyFile{{"file", "s.bin", []byte("x")}}
	for _, c := range []struct {
		fields []pyField
		files  []pyFile
		want   string
	}{
		{[]pyField{{"timeout", "abc"}}, file, `timeout "abc": want whole seconds`},
		{[]pyField{{"timeout", "12.5"}}, file, "want whole seconds"},
		{[]pyField{{"timeout", "-3"}}, file, "want whole seconds"},
		{[]pyField{{"timeout", "99999"}}, file, "exceeds ScaleMalNet's maximum of 600 s"},
		{[]pyField{{"priority", "high"}}, file, `priority "high"`},
		{[]pyField{{"memory", "maybe"}}, file, `memory "maybe": want a boolean`},
		{[]pyField{{"options", "justakey"}}, file, `options: "justakey" is not key=value`},
		{[]pyField{{"options", "arguments=" + strings.Repeat("a ", 40)}}, file, "at most 32"},
		{[]pyField{{"owner", "a"}, {"owner", "b"}}, file, "owner given 2 times"},
		{[]pyField{{"custom", strings.Repeat("c", 5000)}}, file, "longer than 4096"},
		{[]pyField{{"timeout", "1\x00"}}, file, "NUL"},
		{nil, nil, `Expected one file in the part named "file", got 0`},
		{nil, []pyFile{{"sample", "s.bin", []byte("x")}}, "got 0"},
		{nil, []pyFile{{"file", "a", []byte("x")}, {"file", "b", []byte("y")}}, "got 2"},
	} {
		body, ctype := pyRequestsMultipart(c.fields, c.files)
		resp, b := pyPost(t, e.url+"tasks/create/file", token, body, ctype)
		wantCuckooError(t, resp, b, 400, c.want)
	}
	resp, b := pyPost(t, e.url+"tasks/create/file", token, []byte("raw bytes"), "application/octet-stream")
	wantCuckooError(t, resp, b, 400, "multipart/form-data")
	resp, b = pyPost(t, e.url+"tasks/create/file", token, []byte("--b\r\nbroken"), "multipart/form-data; boundary=b")
	wantCuckooError(t, resp, b, 400, "Malformed multipart body")
	big, ctype := pyRequestsMultipart(nil, []pyFile{{"file", "big", make([]byte, 1<<20+1)}})
	resp, b = pyPost(t, e.url+"tasks/create/file", token, big, ctype)
	wantCuckooError(t, resp, b, 413, "File too large")
	if js, _ := e.st.ListJobs(store.ListQuery{}); len(js) != 0 {
		t.Fatalf("bad requests stored %d jobs", len(js))
	}
	// Authentication, routes, ids.
	resp, b = pyGet(t, e.url+"tasks/view/1", "")
	wantCuckooError(t, resp, b, 401, "Authentication required")
	resp, b = pyGet(t, e.url+"tasks/view/1", "wrong-token-wrong-token")
	wantCuckooError(t, resp, b, 401, "Authentication required")
	resp, b = pyGet(t, e.url+"tasks/view/1", token)
	wantCuckooError(t, resp, b, 404, "Task not found")
	resp, b = pyGet(t, e.url+"tasks/view/abc", token)
	wantCuckooError(t, resp, b, 400, `task id "abc"`)
	resp, b = pyGet(t, e.url+"tasks/view/0", token)
	wantCuckooError(t, resp, b, 400, "positive integer")
	resp, b = pyGet(t, e.url+"tasks/create/file", token)
	wantCuckooError(t, resp, b, 405, "Method not allowed")
	if resp.Header.Get("Allow") != "POST" {
		t.Fatalf("Allow %q", resp.Header.Get("Allow"))
	}
	resp, b = pyGet(t, e.url+"tasks/nope", token)
	wantCuckooError(t, resp, b, 404, "Not found")
	resp, b = pyGet(t, e.url+"tasks/list/x", token)
	wantCuckooError(t, resp, b, 400, "limit")
	resp, b = pyGet(t, e.url+"files/view/md5/xyz", token)
	wantCuckooError(t, resp, b, 400, "Invalid lookup term")
	resp, b = pyGet(t, e.url+"files/view/id/3", token)
	wantCuckooError(t, resp, b, 404, "File not found")

	body, ctype := pyRequestsMultipart(nil, file)
	resp, b = pyPost(t, e.url+"tasks/create/file", token, body, ctype)
	id := taskIDOf(t, resp, b)
	resp, b = pyGet(t, e.url+fmt.Sprintf("tasks/report/%d/html", id), token)
	wantCuckooError(t, resp, b, 404, "json report only")
	resp, b = pyGet(t, e.url+fmt.Sprintf("tasks/report/%d/zip", id), token)
	wantCuckooError(t, resp, b, 400, "Invalid report format")
	// unique=1 refuses a file already stored.
	body, ctype = pyRequestsMultipart([]pyField{{"unique", "1"}}, file)
	resp, b = pyPost(t, e.url+"tasks/create/file", token, body, ctype)
	wantCuckooError(t, resp, b, 400, "already been submitted")
	// The API beside keeps its own error format.
	req, _ := http.NewRequest("GET", e.url+"api/v1/nope", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, b = send(t, req)
	if resp.StatusCode != 404 || !strings.Contains(string(b), `"kind": "not_found"`) {
		t.Fatalf("/api/v1 error: %d %s", resp.StatusCode, b)
	}
}

// TestHostileNamesEscaped: a file name with markup, an escape sequence and
// RTL override characters comes back escaped in JSON, never as raw markup
// or a raw control character.
func TestHostileNamesEscaped(t *testing.T) {
	e := newEnv(t)
	// A raw escape character in a multipart header (urllib3 does not
	// percent-encode ESC in file names) is refused by Go's MIME parser: a
	// clear 400, nothing stored.
	body, ctype := pyRequestsMultipart(nil, []pyFile{{"file", "a\x1b[31mb", []byte("hostile")}})
	resp, b := pyPost(t, e.url+"tasks/create/file", token, body, ctype)
	wantCuckooError(t, resp, b, 400, "Malformed multipart body")
	hostile := "<script>alert(1)</script>red\u202egpj.exe"
	body, ctype = pyRequestsMultipart([]pyField{{"owner", "<img src=x onerror=alert(2)>\x1b[31m"}}, []pyFile{{"file", hostile, []byte("hostile")}})
	resp, b = pyPost(t, e.url+"tasks/create/file", token, body, ctype)
	id := taskIDOf(t, resp, b)
	resp, b = pyGet(t, e.url+"tasks/view/"+fmt.Sprint(id), token)
	raw := string(b)
	for _, bad := range []string{"<script>", "<img", "\x1b", "\u202e"} {
		if strings.Contains(raw, bad) {
			t.Fatalf("tasks/view carries %q raw: %s", bad, raw)
		}
	}
	task := decode(t, b)["task"].(map[string]any)
	// The name is cut to its last path element (Go's multipart FileName)
	// and the RTL override replaced (store.SanitizeName).
	if name := task["target"].(string); name != "script>red?gpj.exe" {
		t.Fatalf("target %q, want script>red?gpj.exe", name)
	}
	if owner := task["owner"].(string); owner != "<img src=x onerror=alert(2)>\x1b[31m" {
		t.Fatalf("owner %q", owner)
	}
	j, _ := e.st.Job(task["scalemalnet_job_id"].(string))
	if err := apitest.Finish(e.st, j.ID, &report.Report{}, nil); err != nil {
		t.Fatal(err)
	}
	resp, b = pyGet(t, e.url+fmt.Sprintf("tasks/report/%d/json", id), token)
	for _, bad := range []string{"<script>", "<img", "\x1b", "\u202e"} {
		if strings.Contains(string(b), bad) {
			t.Fatalf("report carries %q raw", bad)
		}
	}
}

func TestListFilesAndStatus(t *testing.T) {
	e := newEnv(t)
	svc := apitest.StoreService{Store: e.st}
	// A job submitted through /api/v1 gets a task id when a Cuckoo client first lists it.
	native, err := svc.Submit(t.Context(), "native.bin", strings.NewReader("native"), jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for i := 0; i < 3; i++ {
		body, ctype := pyRequestsMultipart(nil, []pyFile{{"file", fmt.Sprint("c", i), []byte(fmt.Sprint("cuckoo ", i))}})
		resp, b := pyPost(t, e.url+"tasks/create/file", token, body, ctype)
		ids = append(ids, taskIDOf(t, resp, b))
	}
	list := func(path string) []map[string]any {
		resp, b := pyGet(t, e.url+path, token)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		var out []map[string]any
		for _, x := range decode(t, b)["tasks"].([]any) {
			out = append(out, x.(map[string]any))
		}
		return out
	}
	all := list("tasks/list")
	if len(all) != 4 || all[0]["id"] != float64(ids[2]) || all[3]["scalemalnet_job_id"] != native.ID || all[3]["id"] != float64(4) {
		t.Fatalf("tasks/list: %v", all)
	}
	page := list("tasks/list/2/1")
	if len(page) != 2 || page[0]["id"] != float64(ids[1]) || page[1]["id"] != float64(ids[0]) {
		t.Fatalf("tasks/list/2/1: %v", page)
	}
	if got := list("tasks/list/10/10"); len(got) != 0 {
		t.Fatalf("past the end: %v", got)
	}
	// Files by md5 and sha256.
	j, _ := e.st.Job(all[0]["scalemalnet_job_id"].(string))
	for _, p := range []string{"files/view/md5/" + j.Sample.MD5, "files/view/sha256/" + j.Sample.SHA256, "files/view/md5/" + strings.ToUpper(j.Sample.MD5)} {
		resp, b := pyGet(t, e.url+p, token)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", p, resp.StatusCode, b)
		}
		s := decode(t, b)["sample"].(map[string]any)
		if s["sha256"] != j.Sample.SHA256 || s["md5"] != j.Sample.MD5 || s["sha1"] != j.Sample.SHA1 || s["file_size"] != float64(j.Sample.Size) || len(s["crc32"].(string)) != 8 {
			t.Fatalf("%s: %v", p, s)
		}
	}
	resp, b := pyGet(t, e.url+"files/view/md5/00000000000000000000000000000000", token)
	wantCuckooError(t, resp, b, 404, "File not found")
	// Status counts in Cuckoo's words.
	if err := apitest.Advance(e.st, j.ID, jobs.Restoring); err != nil {
		t.Fatal(err)
	}
	resp, b = pyGet(t, e.url+"cuckoo/status", token)
	st := decode(t, b)
	tasks := st["tasks"].(map[string]any)
	if st["version"] != "2.0.7" || tasks["total"] != float64(4) || tasks["pending"] != float64(3) || tasks["running"] != float64(1) {
		t.Fatalf("cuckoo/status: %s", b)
	}
	if m := st["machines"].(map[string]any); m["total"] != float64(2) || m["available"] != float64(1) {
		t.Fatalf("machines %v", m)
	}
}

func TestStatusWords(t *testing.T) {
	for _, c := range []struct {
		j    jobs.Job
		want string
	}{
		{jobs.Job{State: jobs.Queued}, "pending"},
		{jobs.Job{State: jobs.Restoring}, "running"},
		{jobs.Job{State: jobs.Running}, "running"},
		{jobs.Job{State: jobs.Collecting}, "completed"},
		{jobs.Job{State: jobs.Done}, "reported"},
		{jobs.Job{State: jobs.Failed, Error: "step restore: timeout"}, "failed_analysis"},
		{jobs.Job{State: jobs.Failed, Error: "step report: disk full"}, "failed_processing"},
		{jobs.Job{State: jobs.Cancelled, Error: "cancelled"}, "failed_analysis"},
	} {
		if got := cuckoo.Status(c.j); got != c.want {
			t.Errorf("%s (%q): %s, want %s", c.j.State, c.j.Error, got, c.want)
		}
	}
	if got := cuckoo.Malscore(&report.Verdict{Label: "benign", Probability: 0.04}); got != 0.4 {
		t.Errorf("malscore of benign 0.04: %v", got)
	}
	if got := cuckoo.Malscore(&report.Verdict{Label: "unknown", Probability: 0.9}); got != 0 {
		t.Errorf("malscore of unknown: %v", got)
	}
}

// Every job state has its Cuckoo status; processing (the VM gone, the
// report being made: issue 11's post-VM workers) is completed, not failed.
func TestStatusOfEveryState(t *testing.T) {
	want := map[jobs.State]string{
		jobs.Queued: cuckoo.StatusPending, jobs.Restoring: cuckoo.StatusRunning, jobs.Running: cuckoo.StatusRunning,
		jobs.Collecting: cuckoo.StatusCompleted, jobs.Processing: cuckoo.StatusCompleted, jobs.Done: cuckoo.StatusReported,
		jobs.Failed: cuckoo.StatusFailedAnalysis, jobs.Cancelled: cuckoo.StatusFailedAnalysis,
	}
	for st, w := range want {
		if got := cuckoo.Status(jobs.Job{State: st}); got != w {
			t.Errorf("%s: %s, want %s", st, got, w)
		}
	}
}
