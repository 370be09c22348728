package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

// jobsPage lists and searches jobs (the API's list parameters).
func (h *Handler) jobsPage(w http.ResponseWriter, r *http.Request) {
	form := r.URL.Query()
	q, err := api.ParseListQuery(form)
	data := map[string]any{"Title": "Jobs", "Form": form, "States": []jobs.State{jobs.Queued, jobs.Restoring, jobs.Running, jobs.Collecting, jobs.Processing, jobs.Done, jobs.Failed, jobs.Cancelled}}
	if err != nil {
		data["Error"] = Clean(err.Error())
		h.render(w, r, http.StatusBadRequest, "jobs.html", data)
		return
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	page, err := api.Search(r.Context(), h.svc, q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data["Jobs"] = page.Jobs
	if page.NextCursor != "" {
		next := url.Values{}
		for k, v := range form {
			if k != "cursor" && len(v) == 1 && v[0] != "" {
				next.Set(k, v[0])
			}
		}
		next.Set("cursor", page.NextCursor)
		data["Next"] = "/ui/jobs?" + next.Encode()
	}
	var activeIDs []string
	for _, j := range page.Jobs {
		if !j.State.Final() {
			activeIDs = append(activeIDs, j.ID)
		}
	}
	data["Active"] = strings.Join(activeIDs, ",")
	data["Searching"] = len(form) > 0
	h.render(w, r, http.StatusOK, "jobs.html", data)
}

// progress answers the jobs page's poll: the state and step of the jobs
// named in ?id= (comma-separated, at most 100).
func (h *Handler) progress(w http.ResponseWriter, r *http.Request) {
	type st struct {
		ID      string     `json:"id"`
		State   jobs.State `json:"state"`
		Step    string     `json:"step,omitempty"`
		Verdict string     `json:"verdict,omitempty"`
		Final   bool       `json:"final"`
	}
	out := []st{}
	ids := strings.Split(r.URL.Query().Get("id"), ",")
	if len(ids) > 100 {
		ids = ids[:100]
	}
	for _, id := range ids {
		if id == "" || !store.ValidID(id) {
			continue
		}
		j, err := h.svc.Job(r.Context(), id)
		if err != nil {
			continue
		}
		s := st{ID: j.ID, State: j.State, Step: j.Step, Final: j.State.Final()}
		if j.Verdict != nil {
			s.Verdict = Clean(j.Verdict.String())
		}
		out = append(out, s)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}

// upload submits a sample from the jobs page's form. The form's fields
// come before the file part (the browser sends them in document order), so
// the sample streams through like an API submission.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxSample+1<<20)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		h.errorPage(w, r, http.StatusBadRequest, "The upload form must be sent as multipart/form-data.")
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Malformed upload: "+Clean(err.Error()))
		return
	}
	fields := url.Values{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			h.errorPage(w, r, http.StatusBadRequest, "The upload has no file.")
			return
		}
		if err != nil {
			h.fail(w, r, fmt.Errorf("%w: upload: %v", jobs.ErrInvalid, err))
			return
		}
		if p.FormName() != "file" {
			v, err := io.ReadAll(io.LimitReader(p, 4097))
			p.Close()
			if err != nil || len(v) > 4096 {
				h.errorPage(w, r, http.StatusBadRequest, "A form field is too long.")
				return
			}
			fields.Add(p.FormName(), string(v))
			continue
		}
		if !h.checkCSRF(r, fields.Get("csrf")) {
			p.Close()
			h.errorPage(w, r, http.StatusForbidden, "Missing or wrong form token (CSRF); reload the jobs page and submit again.")
			return
		}
		if p.FileName() == "" {
			p.Close()
			h.errorPage(w, r, http.StatusBadRequest, "Choose a file to upload.")
			return
		}
		opts, err := uploadOptions(fields)
		if err != nil {
			p.Close()
			h.fail(w, r, err)
			return
		}
		name := fields.Get("name")
		if name == "" {
			name = p.FileName()
		}
		j, err := h.svc.Submit(r.Context(), name, p, opts)
		p.Close()
		if err != nil {
			h.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/ui/jobs/"+url.PathEscape(j.ID), http.StatusSeeOther)
		return
	}
}

func uploadOptions(f url.Values) (jobs.Options, error) {
	var o jobs.Options
	for _, d := range []struct {
		k string
		p *time.Duration
	}{{"timeout", &o.Timeout}, {"window", &o.Window}} {
		if v := strings.TrimSpace(f.Get(d.k)); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil {
				return o, fmt.Errorf("%w: %s %q: want a Go duration such as 20s", jobs.ErrInvalid, d.k, v)
			}
			*d.p = t
		}
	}
	if a := strings.TrimSpace(f.Get("args")); a != "" {
		o.Args = strings.Fields(a)
	}
	if n := f.Get("network"); n != "" && n != "none" {
		o.Network = n
	}
	return o, o.Normalize()
}

// reportView is the report page's data.
type reportView struct {
	Job          jobs.Job
	Report       *report.Report
	Contrib      *barChart
	SysChart     *lineChart
	APIChart     *lineChart
	Trace        *traceView
	TraceErr     string
	ProcNames    map[int]string
	Contribution []report.Contribution
}

// reportPage shows a finished job's report, or its progress while active.
func (h *Handler) reportPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	j, err := h.svc.Job(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data := map[string]any{"Title": "Job " + j.ID, "Job": j}
	if !j.HasReport {
		h.render(w, r, http.StatusOK, "job.html", data)
		return
	}
	rep, err := h.svc.Report(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := &reportView{Job: j, Report: rep, ProcNames: map[int]string{}}
	var walk func([]report.ProcessNode)
	walk = func(ns []report.ProcessNode) {
		for _, n := range ns {
			v.ProcNames[n.PID] = n.Exe
			walk(n.Children)
		}
	}
	walk(rep.Behavior.Processes)
	if rep.Verdict != nil {
		v.Contrib = contributionChart(rep.Verdict.Contributions)
	}
	if tv, err := h.view(r, id); err != nil {
		v.TraceErr = Clean(err.Error())
	} else {
		v.Trace = tv
		v.SysChart = timelineChart("System calls per window", tv.Windows, tv.Sys, func(w winCount) int { return w.Total }, v.ProcNames)
		if tv.APITotal > 0 {
			v.APIChart = timelineChart("Windows API calls per window", tv.Windows, tv.API, func(w winCount) int { return w.API }, v.ProcNames)
		}
	}
	data["R"] = v
	data["Title"] = "Report " + j.ID
	h.render(w, r, http.StatusOK, "report.html", data)
}

// view returns the job's trace view, reading the artifact once.
func (h *Handler) view(r *http.Request, id string) (*traceView, error) {
	if v := h.traces.view(id); v != nil {
		return v, nil
	}
	rc, err := h.svc.OpenTrace(r.Context(), id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	v, err := scanView(rc)
	if err != nil {
		return nil, err
	}
	h.traces.putView(id, v)
	return v, nil
}

// logPage shows one page of the call log.
func (h *Handler) logPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	j, err := h.svc.Job(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	qv := r.URL.Query()
	f := logFilter{Kind: "syscall", Call: strings.TrimSpace(qv.Get("call"))}
	if qv.Get("kind") == "api" {
		f.Kind = "api"
	}
	if len(f.Call) > 128 {
		h.errorPage(w, r, http.StatusBadRequest, "Call name filter longer than 128 bytes.")
		return
	}
	if p := qv.Get("pid"); p != "" {
		if f.PID, err = strconv.Atoi(p); err != nil || f.PID < 0 {
			h.errorPage(w, r, http.StatusBadRequest, "pid must be a process id.")
			return
		}
	}
	page := 0
	if p := qv.Get("page"); p != "" {
		if page, err = strconv.Atoi(p); err != nil || page < 1 || page > 1_000_000 {
			h.errorPage(w, r, http.StatusBadRequest, "page must be a number from 1.")
			return
		}
		page--
	}
	data := map[string]any{"Title": "Call log " + j.ID, "Job": j, "Filter": f, "PageNo": page + 1}
	tv, err := h.view(r, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data["Trace"] = tv
	rc, err := h.svc.OpenTrace(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer rc.Close()
	var rows []logRow
	var more bool
	if from, ok := tv.pageStart(f, page); ok {
		// Straight to the page's window: the lines before are
		// decompressed and skipped, not decoded.
		rows, more, _, err = logPageAt(rc, f, page, page, from, nil)
	} else {
		key := f.key(id)
		var learnt []pagePos
		rows, more, learnt, err = logPage(rc, f, page, h.traces.pageStarts(key))
		if err == nil {
			h.traces.putStarts(key, learnt)
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data["Rows"] = rows
	link := func(p int) string {
		u := url.Values{}
		u.Set("kind", f.Kind)
		if f.PID != 0 {
			u.Set("pid", strconv.Itoa(f.PID))
		}
		if f.Call != "" {
			u.Set("call", f.Call)
		}
		u.Set("page", strconv.Itoa(p))
		return "/ui/jobs/" + url.PathEscape(id) + "/log?" + u.Encode()
	}
	if more {
		data["Next"] = link(page + 2)
	}
	if page > 0 {
		data["Prev"] = link(page)
	}
	var pids []int
	for pid := range tv.Sys {
		pids = append(pids, pid)
	}
	for pid := range tv.API {
		if _, ok := tv.Sys[pid]; !ok {
			pids = append(pids, pid)
		}
	}
	data["PIDs"] = sortedInts(pids)
	names := tv.CallNames
	if f.Kind == "api" {
		names = tv.APINames
	}
	if len(names) > 200 {
		names = names[:200]
	}
	data["Names"] = names
	h.render(w, r, http.StatusOK, "log.html", data)
}

func sortedInts(a []int) []int {
	for i := 1; i < len(a); i++ {
		for k := i; k > 0 && a[k] < a[k-1]; k-- {
			a[k], a[k-1] = a[k-1], a[k]
		}
	}
	return a
}

func (h *Handler) reportJSON(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rep, err := h.svc.Report(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", safeFileName(id)+".report.json"))
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
}

func (h *Handler) traceFile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rc, err := h.svc.OpenTrace(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", safeFileName(id)+".trace.jsonl.gz"))
	if f, ok := rc.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
		}
	}
	if _, err := io.Copy(w, rc); err != nil {
		h.log.Warn("web: trace download interrupted", "job", id, "err", err)
	}
}

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
