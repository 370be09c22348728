package cuckoo

import (
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

// Cuckoo's task status words.
const (
	StatusPending          = "pending"
	StatusRunning          = "running"
	StatusCompleted        = "completed"
	StatusReported         = "reported"
	StatusFailedAnalysis   = "failed_analysis"
	StatusFailedProcessing = "failed_processing"
)

// Status maps a job state to Cuckoo's task status: queued is pending,
// restoring and running are running, collecting and processing (the VM is
// gone; features, votes and report being made) are completed, done is
// reported. A failed
// job is failed_processing when it failed in the featurize, classify, fuse
// or report step, failed_analysis otherwise; a cancelled job is
// failed_analysis (Cuckoo has no cancelled status), its errors say so.
func Status(j jobs.Job) string {
	switch j.State {
	case jobs.Queued:
		return StatusPending
	case jobs.Restoring, jobs.Running:
		return StatusRunning
	case jobs.Collecting, jobs.Processing:
		return StatusCompleted
	case jobs.Done:
		return StatusReported
	case jobs.Failed:
		for _, step := range []string{"step featurize", "step classify", "step fuse", "step report"} {
			if strings.HasPrefix(j.Error, step) {
				return StatusFailedProcessing
			}
		}
	}
	return StatusFailedAnalysis
}

// cuckooTime is Cuckoo's datetime format in its API ("2017-05-16 10:31:07").
const cuckooTime = "2006-01-02 15:04:05"

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(cuckooTime)
}

// phases finds when the job started (first claimed by a slot) and ended.
func phases(j jobs.Job) (started, completed time.Time) {
	for _, tr := range j.History {
		if tr.State == jobs.Restoring && started.IsZero() {
			started = tr.At
		}
		if tr.State.Final() {
			completed = tr.At
		}
	}
	return started, completed
}

// Task is a task as tasks/view and tasks/list show it (Cuckoo's
// Task.to_dict plus the sample), with ScaleMalNet's job id.
type Task struct {
	ID             uint64         `json:"id"`
	Category       string         `json:"category"`
	Target         string         `json:"target"`
	Timeout        int            `json:"timeout"`
	Priority       int            `json:"priority"`
	Custom         *string        `json:"custom"`
	Owner          string         `json:"owner"`
	Machine        *string        `json:"machine"`
	Package        *string        `json:"package"`
	Tags           []string       `json:"tags"`
	Options        map[string]any `json:"options"`
	Platform       *string        `json:"platform"`
	Memory         bool           `json:"memory"`
	EnforceTimeout bool           `json:"enforce_timeout"`
	Clock          any            `json:"clock"`
	AddedOn        any            `json:"added_on"`
	StartedOn      any            `json:"started_on"`
	CompletedOn    any            `json:"completed_on"`
	Status         string         `json:"status"`
	Route          string         `json:"route"`
	SampleID       *int           `json:"sample_id"`
	Errors         []string       `json:"errors"`
	Guest          map[string]any `json:"guest"`
	Sample         *Sample        `json:"sample"`
	Duration       *int           `json:"duration"`
	// ScaleMalNet's additions.
	JobID          string   `json:"scalemalnet_job_id"`
	State          string   `json:"scalemalnet_state"`
	IgnoredOptions []string `json:"ignored_options"`
}

// Sample is Cuckoo's sample record.
type Sample struct {
	ID       *int    `json:"id"`
	FileSize int64   `json:"file_size"`
	FileType string  `json:"file_type"`
	MD5      string  `json:"md5"`
	CRC32    string  `json:"crc32"`
	SHA1     string  `json:"sha1"`
	SHA256   string  `json:"sha256"`
	SHA512   string  `json:"sha512"`
	SSDeep   *string `json:"ssdeep"`
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// sampleOf describes a stored sample with the digests Cuckoo adds (sha512,
// crc32), computed from its content.
func (h *handler) sampleOf(s jobs.Sample) (*Sample, error) {
	out := &Sample{FileSize: s.Size, FileType: s.Type, MD5: s.MD5, SHA1: s.SHA1, SHA256: s.SHA256}
	f, err := h.tasks.OpenSample(s.SHA256)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return out, nil // GC'd content: the recorded digests stay
		}
		return nil, err
	}
	defer f.Close()
	h512, hcrc := sha512.New(), crc32.NewIEEE()
	if _, err := io.Copy(io.MultiWriter(h512, hcrc), f); err != nil {
		return nil, err
	}
	out.SHA512 = hex.EncodeToString(h512.Sum(nil))
	out.CRC32 = strings.ToUpper(hex.EncodeToString(hcrc.Sum(nil)))
	return out, nil
}

// taskOf renders a job and its task; digests adds the sample's sha512 and
// crc32, which read the sample (tasks/list leaves them empty).
func (h *handler) taskOf(j jobs.Job, t store.CuckooTask, digests bool) (Task, error) {
	smp := &Sample{FileSize: j.Sample.Size, FileType: j.Sample.Type, MD5: j.Sample.MD5, SHA1: j.Sample.SHA1, SHA256: j.Sample.SHA256}
	if digests {
		var err error
		if smp, err = h.sampleOf(j.Sample); err != nil {
			return Task{}, err
		}
	}
	started, completed := phases(j)
	route := routeOf(j.Options.Network)
	opts := map[string]any{}
	for _, kv := range strings.Split(t.Options, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k != "" {
			opts[k] = v
		}
	}
	out := Task{
		ID: t.ID, Category: "file", Target: j.Sample.Name, Timeout: int(j.Options.Timeout / time.Second),
		Priority: max(t.Priority, 1), Custom: strOrNil(t.Custom), Owner: t.Owner,
		Machine: strOrNil(j.Slot), Package: strOrNil(t.Package), Tags: t.Tags, Options: opts,
		Platform: strOrNil(t.Platform), Memory: t.Memory, EnforceTimeout: t.Enforce, Clock: timeOrNil(j.Created),
		AddedOn: timeOrNil(j.Created), StartedOn: timeOrNil(started), CompletedOn: timeOrNil(completed),
		Status: Status(j), Route: route, Errors: []string{}, Guest: map[string]any{}, Sample: smp,
		JobID: j.ID, State: string(j.State), IgnoredOptions: t.Ignored,
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if out.IgnoredOptions == nil {
		out.IgnoredOptions = []string{}
	}
	if j.Error != "" {
		out.Errors = append(out.Errors, j.Error)
	}
	if !started.IsZero() && !completed.IsZero() {
		d := int(completed.Sub(started) / time.Second)
		out.Duration = &d
	}
	if j.Slot != "" {
		out.Guest = map[string]any{"name": j.Slot, "label": j.Slot, "manager": "libvirt", "started_on": timeOrNil(started)}
	}
	return out, nil
}

// lookup finds a task and its job by the id in the path.
func (h *handler) lookup(r *http.Request) (store.CuckooTask, jobs.Job, error) {
	id, err := taskID(r.PathValue("id"))
	if err != nil {
		return store.CuckooTask{}, jobs.Job{}, err
	}
	t, err := h.tasks.CuckooTask(id)
	if err != nil {
		return t, jobs.Job{}, err
	}
	j, err := h.svc.Job(r.Context(), t.Job)
	return t, j, err
}

func (h *handler) view(w http.ResponseWriter, r *http.Request) {
	t, j, err := h.lookup(r)
	if err != nil {
		h.fail(w, r, err, "Task not found")
		return
	}
	out, err := h.taskOf(j, t, true)
	if err != nil {
		h.fail(w, r, err, "Task not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"task": out})
}

// maxList bounds tasks/list (Cuckoo lists every task without a limit).
const maxList = store.MaxListLimit

// list handles tasks/list[/limit[/offset]]: newest first, like Cuckoo.
// Jobs submitted through /api/v1 get their task id here. The samples'
// sha512 and crc32 are left empty (tasks/view and files/view have them).
func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	limit, offset := maxList, 0
	if s := r.PathValue("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			h.fail(w, r, badField("limit \"%s\": want a non-negative integer", printable(s)), "")
			return
		}
		limit = min(n, maxList)
	}
	if s := r.PathValue("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			h.fail(w, r, badField("offset \"%s\": want a non-negative integer", printable(s)), "")
			return
		}
		offset = n
	}
	tasks := []Task{}
	before := ""
	for skip := offset; len(tasks) < limit; {
		page, err := h.svc.Jobs(r.Context(), api.ListQuery{Limit: maxList, Before: before})
		if err != nil {
			h.fail(w, r, err, "")
			return
		}
		var pick []jobs.Job
		for _, j := range page {
			before = j.ID
			if skip > 0 {
				skip--
				continue
			}
			if len(tasks)+len(pick) == limit {
				break
			}
			pick = append(pick, j)
		}
		ids := make([]string, len(pick))
		for i, j := range pick {
			ids[i] = j.ID
		}
		ts, err := h.tasks.CuckooTasksFor(ids) // one transaction for the page
		if err != nil {
			h.fail(w, r, err, "")
			return
		}
		for i, j := range pick {
			out, err := h.taskOf(j, ts[i], false)
			if err != nil {
				h.fail(w, r, err, "")
				return
			}
			tasks = append(tasks, out)
		}
		if len(page) < maxList {
			break
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tasks": tasks})
}

// fileView handles files/view/md5/{h} and files/view/sha256/{h}.
func (h *handler) fileView(w http.ResponseWriter, r *http.Request) {
	hash := strings.ToLower(r.PathValue("hash"))
	var s jobs.Sample
	var err error
	if strings.HasPrefix(r.URL.Path, "/files/view/md5/") {
		s, err = h.tasks.SampleByMD5(hash)
	} else {
		s, err = h.tasks.Sample(hash)
	}
	if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			jsonError(w, http.StatusBadRequest, "Invalid lookup term: "+err.Error())
			return
		}
		h.fail(w, r, err, "File not found")
		return
	}
	out, err := h.sampleOf(s)
	if err != nil {
		h.fail(w, r, err, "File not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sample": out})
}

// status handles cuckoo/status.
func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	health := h.svc.Health(r.Context())
	counts := map[string]int{}
	total := 0
	for _, st := range []jobs.State{jobs.Queued, jobs.Restoring, jobs.Running, jobs.Collecting, jobs.Processing, jobs.Done, jobs.Failed, jobs.Cancelled} {
		n, err := h.tasks.Count(st)
		if err != nil {
			h.fail(w, r, err, "")
			return
		}
		total += n
		counts[Status(jobs.Job{State: st})] += n
	}
	disk := map[string]any{}
	if u, err := h.tasks.Usage(); err == nil {
		free, _ := h.tasks.FreeBytes()
		disk["analyses"] = map[string]any{"total": uint64(u.TotalBytes) + free, "free": free, "used": u.TotalBytes}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"version":  Version,
		"hostname": h.opts.Hostname,
		"machines": map[string]int{"total": health.SlotsTotal, "available": health.SlotsIdle},
		"tasks": map[string]int{
			"total": total, "pending": counts[StatusPending], "running": counts[StatusRunning],
			"completed": counts[StatusCompleted], "reported": counts[StatusReported],
		},
		"diskspace":              disk,
		"cpuload":                []float64{},
		"scalemalnet_status":     health.Status,
		"scalemalnet_hypervisor": health.Hypervisor,
		"scalemalnet_version":    health.Version,
	})
}
