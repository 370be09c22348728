// Package client is a Go client of the orchestrator's REST API (see package
// api), used by the scalemalnet CLI.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/scalemalnet/scalemalnet/plugins/host"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/report"
)

// Client talks to one orchestrator. It is safe for concurrent use.
type Client struct {
	base  string // e.g. "http://127.0.0.1:7433"
	addr  string // what errors name: base, or "unix:/path"
	token string
	http  *http.Client
}

// New returns a client for addr: "http://host:port", "https://host:port",
// "host:port" (plain HTTP) or "unix:/path/to.sock".
func New(addr, token string) *Client {
	c := &Client{token: token, http: &http.Client{}}
	switch {
	case strings.HasPrefix(addr, api.UnixPrefix):
		path := strings.TrimPrefix(addr, api.UnixPrefix)
		c.base = "http://unix"
		c.http.Transport = &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", path)
			},
		}
	case strings.HasPrefix(addr, "http://"), strings.HasPrefix(addr, "https://"):
		c.base = strings.TrimRight(addr, "/")
	default:
		c.base = "http://" + addr
	}
	c.addr = c.base
	if strings.HasPrefix(addr, api.UnixPrefix) {
		c.addr = addr
	}
	return c
}

// Addr is the orchestrator's address as errors name it: the base URL, or
// "unix:/path" for a Unix socket.
func (c *Client) Addr() string { return c.addr }

// Base is the URL requests go to ("http://unix" for a Unix socket).
func (c *Client) Base() string { return c.base }

// Sentinel errors matched (with errors.Is) by *Error according to the kind
// the server reported.
var (
	ErrInvalid      = errors.New("invalid request")
	ErrUnauthorized = errors.New("unauthorized")
	ErrNotFound     = errors.New("not found")
	ErrNotReady     = errors.New("not ready")
	ErrConflict     = errors.New("conflict")
	ErrTooLarge     = errors.New("too large")
	ErrUnavailable  = errors.New("service unavailable")
	ErrInternal     = errors.New("internal server error")
)

var kindErrors = map[api.Kind]error{
	api.KindInvalid: ErrInvalid, api.KindUnauthorized: ErrUnauthorized, api.KindNotFound: ErrNotFound,
	api.KindNotReady: ErrNotReady, api.KindTooLarge: ErrTooLarge, api.KindUnavailable: ErrUnavailable,
	api.KindInternal: ErrInternal, api.KindConflict: ErrConflict,
}

// Error is an error response from the server.
type Error struct {
	Status  int        // HTTP status
	Kind    api.Kind   // server's classification
	Message string     // server's message
	State   jobs.State // job state, for not-ready errors
	// Addr is the orchestrator that answered; a 401's message names it
	// (a token is right or wrong for one orchestrator).
	Addr string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.State != "" {
		return fmt.Sprintf("%s (job is %s)", msg, e.State)
	}
	if e.Status == http.StatusUnauthorized && e.Addr != "" {
		return msg + " at " + e.Addr
	}
	return msg
}

// Is matches the client sentinel for the error's kind.
func (e *Error) Is(target error) bool {
	s, ok := kindErrors[e.Kind]
	return ok && s == target
}

// do sends a request and decodes a JSON response into out (unless nil).
// On success with out == nil the caller owns resp.Body.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body io.Reader, ctype string, out any) (*http.Response, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		e := decodeError(resp)
		e.Addr = c.addr
		return nil, e
	}
	if out == nil {
		return resp, nil
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(out); err != nil {
		return nil, fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return resp, nil
}

func decodeError(resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode}
	var body api.ErrorBody
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &body) == nil && body.Kind != "" {
		e.Kind, e.Message, e.State = body.Kind, body.Error, body.State
		return e
	}
	e.Message = strings.TrimSpace(string(b))
	switch resp.StatusCode {
	case http.StatusBadRequest:
		e.Kind = api.KindInvalid
	case http.StatusUnauthorized:
		e.Kind = api.KindUnauthorized
	case http.StatusNotFound:
		e.Kind = api.KindNotFound
	case http.StatusConflict:
		e.Kind = api.KindNotReady
	case http.StatusRequestEntityTooLarge:
		e.Kind = api.KindTooLarge
	case http.StatusServiceUnavailable:
		e.Kind = api.KindUnavailable
	default:
		e.Kind = api.KindInternal
	}
	return e
}

// Submit uploads a sample as the raw request body and returns its queued
// job. Zero option fields take the server's defaults.
func (c *Client) Submit(ctx context.Context, name string, body io.Reader, opts jobs.Options) (jobs.Job, error) {
	q := url.Values{}
	if name != "" {
		q.Set(api.ParamName, name)
	}
	if opts.Timeout != 0 {
		q.Set(api.ParamTimeout, opts.Timeout.String())
	}
	if opts.Window != 0 {
		q.Set(api.ParamWindow, opts.Window.String())
	}
	for _, a := range opts.Args {
		q.Add(api.ParamArg, a)
	}
	if opts.Network != "" {
		q.Set(api.ParamNetwork, opts.Network)
	}
	if opts.Export != "" {
		q.Set(api.ParamExport, opts.Export)
	}
	for _, t := range opts.Tags {
		q.Add(api.ParamTag, t)
	}
	var j jobs.Job
	_, err := c.do(ctx, http.MethodPost, "/api/v1/jobs", q, body, "application/octet-stream", &j)
	return j, err
}

// Job returns a job's status.
func (c *Client) Job(ctx context.Context, id string) (jobs.Job, error) {
	var j jobs.Job
	_, err := c.do(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id), nil, nil, "", &j)
	return j, err
}

// Jobs lists jobs, newest first: the jobs of SearchJobs.
func (c *Client) Jobs(ctx context.Context, q api.ListQuery) ([]jobs.Job, error) {
	p, err := c.SearchJobs(ctx, q)
	return p.Jobs, err
}

// SearchJobs runs GET /api/v1/jobs with every filter of q set; the page's
// NextCursor, passed as q.Cursor, fetches the next page.
func (c *Client) SearchJobs(ctx context.Context, q api.ListQuery) (api.Page, error) {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("state", string(q.State))
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	set("before", q.Before)
	set("cursor", q.Cursor)
	set("sha256", q.SHA256)
	set("sha1", q.SHA1)
	set("md5", q.MD5)
	set("name", q.Name)
	set("verdict", q.Verdict)
	set("family", q.Family)
	set("signature", q.Signature)
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339Nano))
	}
	var l api.JobList
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/jobs", v, nil, "", &l); err != nil {
		return api.Page{}, err
	}
	return api.Page{Jobs: l.Jobs, NextCursor: l.NextCursor}, nil
}

// Report returns a finished job's report; ErrNotReady (with Error.State)
// while the job is still active.
func (c *Client) Report(ctx context.Context, id string) (*report.Report, error) {
	var r report.Report
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id)+"/report", nil, nil, "", &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Trace opens a job's trace artifact: gzip-compressed JSON lines, returned
// as stored (not decompressed). The caller closes it.
func (c *Client) Trace(ctx context.Context, id string) (io.ReadCloser, error) {
	resp, err := c.do(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id)+"/trace", nil, nil, "", nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Pcap opens the packet capture of a job run with network isolated
// (libpcap). The caller closes it.
func (c *Client) Pcap(ctx context.Context, id string) (io.ReadCloser, error) {
	resp, err := c.do(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id)+"/pcap", nil, nil, "", nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Health returns the orchestrator's health.
func (c *Client) Health(ctx context.Context) (api.Health, error) {
	var h api.Health
	_, err := c.do(ctx, http.MethodGet, "/api/v1/health", nil, nil, "", &h)
	return h, err
}

// ReloadPlugins asks the orchestrator to reload its plugins from
// plugins.json (POST /api/v1/plugins/reload).
func (c *Client) ReloadPlugins(ctx context.Context) (host.ReloadReport, error) {
	var rep host.ReloadReport
	_, err := c.do(ctx, http.MethodPost, "/api/v1/plugins/reload", nil, nil, "", &rep)
	return rep, err
}

// Plugins lists the orchestrator's plugins and their health.
func (c *Client) Plugins(ctx context.Context) ([]host.Status, error) {
	var l api.PluginList
	_, err := c.do(ctx, http.MethodGet, "/api/v1/plugins", nil, nil, "", &l)
	return l.Plugins, err
}

// GC asks the orchestrator to apply a retention policy now and returns
// what it did. Zero limits take the orchestrator's configured retention.
func (c *Client) GC(ctx context.Context, p api.Policy) (api.GCReport, error) {
	req := api.GCRequest{MaxBytes: p.MaxBytes, Compact: p.Compact, DryRun: p.DryRun}
	if p.MaxAge != 0 {
		req.MaxAge = p.MaxAge.String()
	}
	body, err := json.Marshal(req)
	if err != nil {
		return api.GCReport{}, err
	}
	var rep api.GCReport
	_, err = c.do(ctx, http.MethodPost, "/api/v1/gc", nil, bytes.NewReader(body), "application/json", &rep)
	return rep, err
}

// Watch polls a job every interval, calling fn (if not nil) on the first
// poll and whenever its state or step changes, until the job reaches a
// final state (returned) or ctx ends. Transient errors (unavailable) are
// retried.
func (c *Client) Watch(ctx context.Context, id string, interval time.Duration, fn func(jobs.Job)) (jobs.Job, error) {
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	var last jobs.Job
	first := true
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		j, err := c.Job(ctx, id)
		switch {
		case err == nil:
			if fn != nil && (first || j.State != last.State || j.Step != last.Step) {
				fn(j)
			}
			first, last = false, j
			if j.State.Final() {
				return j, nil
			}
		case errors.Is(err, ErrUnavailable):
		default:
			return last, err
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-t.C:
		}
	}
}
