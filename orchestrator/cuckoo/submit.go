package cuckoo

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

// Form fields of Cuckoo 2.0.7's tasks/create/file.
const (
	fieldFile     = "file"
	maxFieldBytes = 4096
	formMemory    = 8 << 20 // multipart parts beyond this go to temporary files
)

// createdTask is the answer to tasks/create/file: Cuckoo 2.0.7's
// "task_id", and "task_ids" as well, which Cortex's CuckooSandbox analyzer
// reads unconditionally (`response.json()['task_ids'][0]` in
// analyzers/CuckooSandbox/cuckoosandbox_analyzer.py).
type createdTask struct {
	TaskID  uint64   `json:"task_id"`
	TaskIDs []uint64 `json:"task_ids"`
}

// submission is a parsed tasks/create/file request.
type submission struct {
	opts   jobs.Options
	task   store.CuckooTask
	unique bool
}

// createFile handles POST /tasks/create/file: the sample in the multipart
// part "file" (any position; parts are spooled to disk beyond 8 MiB), the
// Cuckoo fields beside it. It answers 200 {"task_id": N} like Cuckoo.
func (h *handler) createFile(w http.ResponseWriter, r *http.Request) {
	limit := h.opts.MaxSample + 1<<20
	if r.ContentLength > limit {
		drain(r.Body)
		jsonError(w, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("File too large: request body of %d bytes exceeds the %d-byte sample limit", r.ContentLength, h.opts.MaxSample))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		jsonError(w, http.StatusBadRequest, "tasks/create/file takes multipart/form-data with the sample in a part named \"file\"")
		return
	}
	if err := r.ParseMultipartForm(formMemory); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.fail(w, r, err, "")
			return
		}
		jsonError(w, http.StatusBadRequest, "Malformed multipart body: "+err.Error())
		return
	}
	defer r.MultipartForm.RemoveAll()
	files := r.MultipartForm.File[fieldFile]
	if len(files) != 1 {
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("Expected one file in the part named \"file\", got %d", len(files)))
		return
	}
	sub, err := parseForm(r.MultipartForm.Value)
	if err != nil {
		h.fail(w, r, err, "")
		return
	}
	fh := files[0]
	if fh.Size > h.opts.MaxSample {
		h.fail(w, r, fmt.Errorf("sample of %d bytes: %w", fh.Size, store.ErrTooLarge), "")
		return
	}
	f, err := fh.Open()
	if err != nil {
		h.fail(w, r, err, "")
		return
	}
	defer f.Close()
	if sub.unique {
		sum := sha256.New()
		if _, err := io.Copy(sum, f); err != nil {
			h.fail(w, r, err, "")
			return
		}
		if _, err := h.tasks.Sample(hex.EncodeToString(sum.Sum(nil))); err == nil {
			jsonError(w, http.StatusBadRequest, "This file has already been submitted")
			return
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			h.fail(w, r, err, "")
			return
		}
	}
	j, err := h.svc.Submit(r.Context(), fh.Filename, f, sub.opts)
	if err != nil {
		h.fail(w, r, err, "")
		return
	}
	sub.task.Created = j.Created
	t, err := h.tasks.CuckooTaskFor(j.ID, sub.task)
	if err != nil {
		h.fail(w, r, err, "")
		return
	}
	h.opts.Logger.Info("cuckoo task created", "task", t.ID, "job", j.ID, "ignored", len(t.Ignored))
	writeJSON(w, http.StatusOK, createdTask{TaskID: t.ID, TaskIDs: []uint64{t.ID}})
}

// parseForm reads Cuckoo's form fields. What ScaleMalNet acts on:
// timeout (whole seconds; 0 or empty: the default), options "arguments"
// (the sample's arguments) and "route" (none/drop: no network; internet:
// the user-mode network; inetsim: the isolated fake internet), tags (only slots with every tag run the job),
// unique. What it records and shows but does not
// act on (Task.Ignored lists them): package, machine, platform,
// memory, enforce_timeout, clock and every other option and field.
// priority, owner and custom are kept and shown as Cuckoo does.
func parseForm(v map[string][]string) (submission, error) {
	var s submission
	var ignored []string
	one := func(k string) (string, error) {
		vals := v[k]
		if len(vals) > 1 {
			return "", badField("field %s given %d times", k, len(vals))
		}
		if len(vals) == 0 {
			return "", nil
		}
		if len(vals[0]) > maxFieldBytes {
			return "", badField("field %s longer than %d bytes", k, maxFieldBytes)
		}
		if strings.IndexByte(vals[0], 0) >= 0 {
			return "", badField("field %s contains a NUL byte", k)
		}
		return vals[0], nil
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		val, err := one(k)
		if err != nil {
			return s, err
		}
		switch k {
		case "timeout":
			if val == "" || val == "0" {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil || n < 0 {
				return s, badField("timeout \"%s\": want whole seconds, e.g. 120", printable(val))
			}
			s.opts.Timeout = time.Duration(n) * time.Second
			if s.opts.Timeout > jobs.MaxTimeout {
				return s, badField("timeout %d s exceeds ScaleMalNet's maximum of %d s", n, int(jobs.MaxTimeout.Seconds()))
			}
		case "priority":
			if val == "" {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil {
				return s, badField("priority \"%s\": want an integer", printable(val))
			}
			s.task.Priority = n
		case "options":
			opts, ign, err := parseOptions(val)
			if err != nil {
				return s, err
			}
			s.opts.Args, s.opts.Network = opts.Args, opts.Network
			s.task.Options = val
			ignored = append(ignored, ign...)
		case "owner":
			s.task.Owner = val
		case "custom":
			s.task.Custom = val
		case "unique":
			b, err := parseBool(k, val)
			if err != nil {
				return s, err
			}
			s.unique = b
		case "tags":
			for _, t := range strings.Split(val, ",") {
				if t = strings.TrimSpace(t); t != "" {
					s.task.Tags = append(s.task.Tags, t)
				}
			}
			s.opts.Tags = s.task.Tags // routes the job: only slots with every tag run it
		case "memory", "enforce_timeout":
			b, err := parseBool(k, val)
			if err != nil {
				return s, err
			}
			if k == "memory" {
				s.task.Memory = b
			} else {
				s.task.Enforce = b
			}
			if b {
				ignored = append(ignored, k+"="+val)
			}
		case "package", "machine", "platform", "clock":
			switch k {
			case "package":
				s.task.Package = val
			case "machine":
				s.task.Machine = val
			case "platform":
				s.task.Platform = val
			case "clock":
				s.task.Clock = val
			}
			if val != "" {
				ignored = append(ignored, k+"="+val)
			}
		default:
			ignored = append(ignored, k+"="+val)
		}
	}
	if err := s.opts.Normalize(); err != nil {
		return s, err
	}
	s.task.Ignored = ignored
	return s, nil
}

// parseOptions reads Cuckoo's "key=value,key2=value2" options.
func parseOptions(s string) (jobs.Options, []string, error) {
	var o jobs.Options
	var ignored []string
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, val, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return o, nil, badField("options: \"%s\" is not key=value", printable(kv))
		}
		switch k {
		case "arguments":
			o.Args = strings.Fields(val)
			if len(o.Args) > jobs.MaxArgs {
				return o, nil, badField("options: arguments: %d arguments, at most %d", len(o.Args), jobs.MaxArgs)
			}
		case "route":
			switch val {
			case "none", "drop", "":
				o.Network = jobs.NetworkNone
			case "internet":
				o.Network = jobs.NetworkUser
			case "inetsim":
				o.Network = jobs.NetworkIsolated
			default:
				ignored = append(ignored, "options.route="+val+" (taken as none)")
			}
		default:
			ignored = append(ignored, "options."+kv)
		}
	}
	return o, ignored, nil
}

// parseBool is Cuckoo's parse_bool: 1/0, true/false, yes/no, on/off.
func parseBool(k, s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "0", "false", "no", "off":
		return false, nil
	case "1", "true", "yes", "on":
		return true, nil
	}
	return false, badField("%s \"%s\": want a boolean (1, 0, true, false, yes, no)", k, printable(s))
}
