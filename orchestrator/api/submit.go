package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
)

// Submission parameters, as query parameters (or multipart form fields
// placed before the "file" part).
const (
	ParamName    = "name"    // display name of the sample
	ParamTimeout = "timeout" // Go duration, e.g. "20s"
	ParamWindow  = "window"  // Go duration, e.g. "1s"
	ParamArg     = "arg"     // repeatable: the sample's arguments in order
	ParamNetwork = "network" // guest network: "none" (default) or "user"
	ParamExport  = "export"  // the DLL export rundll32 calls (DLL samples)
	ParamTag     = "tag"     // repeatable: run only on a slot with this tag
	ParamTags    = "tags"    // comma-separated tags (as Cuckoo's tags field)
	FilePart     = "file"    // multipart part holding the sample
)

// maxFieldLen bounds a multipart form field's value.
const maxFieldLen = 4096

// parseSubmitQuery reads the submission options. Unknown parameters and
// repeated single-valued ones are errors, so typos do not go unnoticed.
func parseSubmitQuery(v url.Values) (name string, opts jobs.Options, err error) {
	for k, vals := range v {
		switch k {
		case ParamArg:
			for _, a := range vals {
				if strings.IndexByte(a, 0) >= 0 {
					return "", opts, fmt.Errorf("%w: argument contains a NUL byte", jobs.ErrInvalid)
				}
			}
			opts.Args = append([]string(nil), vals...)
			continue
		case ParamTag, ParamTags:
			for _, t := range vals {
				if k == ParamTag {
					opts.Tags = append(opts.Tags, t) // checked by Normalize
					continue
				}
				for _, p := range strings.Split(t, ",") {
					if p = strings.TrimSpace(p); p != "" {
						opts.Tags = append(opts.Tags, p)
					}
				}
			}
			continue
		case ParamName, ParamTimeout, ParamWindow, ParamNetwork, ParamExport:
		default:
			return "", opts, fmt.Errorf("%w: unknown parameter %q", jobs.ErrInvalid, k)
		}
		if len(vals) != 1 {
			return "", opts, fmt.Errorf("%w: parameter %q given %d times", jobs.ErrInvalid, k, len(vals))
		}
		switch k {
		case ParamName:
			name = vals[0]
		case ParamTimeout:
			if opts.Timeout, err = parsePositiveDuration(k, vals[0]); err != nil {
				return "", opts, err
			}
		case ParamWindow:
			if opts.Window, err = parsePositiveDuration(k, vals[0]); err != nil {
				return "", opts, err
			}
		case ParamNetwork:
			if vals[0] == "" {
				return "", opts, fmt.Errorf("%w: network is empty (want none, isolated or user)", jobs.ErrInvalid)
			}
			opts.Network = vals[0] // checked by Normalize
		case ParamExport:
			opts.Export = vals[0] // checked by Normalize
		}
	}
	if err := opts.Normalize(); err != nil {
		return "", opts, err
	}
	return name, opts, nil
}

func parsePositiveDuration(k, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: %s %q: want a positive Go duration such as 20s", jobs.ErrInvalid, k, s)
	}
	return d, nil
}

// submit handles POST /api/v1/jobs. The body is the raw sample, or
// multipart/form-data with the sample in the "file" part; it is streamed to
// the service, never buffered whole.
func (h *handler) submit(w http.ResponseWriter, r *http.Request) {
	limit := h.maxSample + uploadSlack
	if r.ContentLength > limit {
		writeError(w, http.StatusRequestEntityTooLarge, KindTooLarge,
			fmt.Sprintf("request body of %d bytes exceeds the %d-byte sample limit", r.ContentLength, h.maxSample), "")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	params := r.URL.Query()
	body := io.Reader(r.Body)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		part, err := h.multipartFile(r, params)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		defer part.Close()
		body = part
	}
	name, opts, err := parseSubmitQuery(params)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	j, err := h.svc.Submit(r.Context(), name, uploadReader{body}, opts)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/jobs/"+url.PathEscape(j.ID))
	writeJSON(w, http.StatusCreated, j)
}

// multipartFile reads form fields up to the "file" part, adding them to
// params, and returns that part. Fields after the file part cannot be seen
// without buffering the sample, so they must come first (or be query
// parameters). The file part's file name is the default display name.
func (h *handler) multipartFile(r *http.Request, params url.Values) (io.ReadCloser, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, fmt.Errorf("%w: multipart body: %v", jobs.ErrInvalid, err)
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: multipart body has no %q part", jobs.ErrInvalid, FilePart)
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: multipart body: %v", jobs.ErrInvalid, err)
		}
		field := p.FormName()
		if field == FilePart {
			if params.Get(ParamName) == "" && p.FileName() != "" {
				params.Set(ParamName, p.FileName())
			}
			return p, nil
		}
		v, err := io.ReadAll(io.LimitReader(p, maxFieldLen+1))
		p.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: multipart field %q: %v", jobs.ErrInvalid, field, err)
		}
		if len(v) > maxFieldLen {
			return nil, fmt.Errorf("%w: multipart field %q longer than %d bytes", jobs.ErrInvalid, field, maxFieldLen)
		}
		params.Add(field, string(v))
	}
}

// uploadReader marks a failure to read the upload (a truncated multipart
// body, a client gone mid-upload) as the client's (ErrInvalid, 400) rather
// than the service's (500); a body over the limit stays 413 (the
// *http.MaxBytesError is wrapped too). Found by FuzzHandler.
type uploadReader struct{ r io.Reader }

func (u uploadReader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("%w: reading the upload: %w", ErrInvalid, err)
	}
	return n, err
}
