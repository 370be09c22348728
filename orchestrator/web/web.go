// Package web is the orchestrator's web interface: server-rendered HTML
// pages (html/template, assets embedded in the binary) that take an analyst
// from the jobs list to a report without the CLI. The API handler mounts
// it under /ui/ (api.HandlerOptions.UI).
//
// Routes (all under /ui/):
//
//	GET  login, POST login          the token form; sets the session cookies
//	GET  jobs                       jobs list with search (api.ListParams) and upload form
//	POST jobs                       upload a sample (multipart; CSRF field)
//	GET  jobs/{id}                  report page (progress while the job runs)
//	GET  jobs/{id}/log              system call / API log, filtered and paged
//	GET  jobs/{id}/report.json      the report, as a download
//	GET  jobs/{id}/trace.jsonl.gz   the trace artifact, as a download
//	GET  progress?id=..             JSON states of jobs, polled by the jobs page
//	GET  static/...                 embedded CSS and JavaScript
//
// Authentication is the API's token. A browser cannot send a bearer header
// when it navigates, so the token is given once, through the login form or
// ?token= on any page, and kept in an HttpOnly, SameSite=Strict cookie
// compared in constant time with the token on every request. A bearer
// header is accepted too. The upload form carries a CSRF token: an HMAC,
// keyed by the API token, of a random per-session value kept in a second
// HttpOnly cookie; the SameSite cookies already keep other sites' forms
// out, the field also covers same-site attackers.
//
// Everything from the guest and the submitter (sample names, paths, argv,
// call names and arguments) goes through html/template's contextual
// escaping, and displayed strings are first neutralised (see Clean):
// control characters and bidirectional overrides become visible escapes.
package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api"
)

// Prefix is where the API handler mounts the interface.
const Prefix = "/ui/"

// Cookie names.
const (
	tokenCookie   = "smn_token"
	sessionCookie = "smn_session"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options tune New.
type Options struct {
	Logger *slog.Logger
	// MaxSample is the largest upload; default 64 MiB.
	MaxSample int64
	// Secure marks the cookies Secure (set when served over TLS).
	Secure bool
}

// Handler is the web interface.
type Handler struct {
	svc       api.Service
	tokenHash [32]byte
	csrfKey   []byte
	noToken   bool
	opts      Options
	log       *slog.Logger
	tmpl      *template.Template
	mux       *http.ServeMux
	traces    *traceCache
}

// New returns the web interface serving svc, guarded by token (an empty
// token refuses every request, like the API).
func New(svc api.Service, token string, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxSample <= 0 {
		opts.MaxSample = 64 << 20
	}
	key := sha256.Sum256([]byte("scalemalnet csrf\x00" + token))
	h := &Handler{svc: svc, tokenHash: sha256.Sum256([]byte(token)), csrfKey: key[:], noToken: token == "",
		opts: opts, log: opts.Logger, mux: http.NewServeMux(), traces: newTraceCache(16)}
	h.tmpl = template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html"))
	static, _ := fs.Sub(staticFS, "static")
	h.mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", cacheStatic(http.FileServerFS(static))))
	h.mux.HandleFunc("GET /ui/login", h.loginForm)
	h.mux.HandleFunc("POST /ui/login", h.login)
	h.mux.HandleFunc("POST /ui/logout", h.auth(h.logout))
	h.mux.HandleFunc("GET /ui/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/jobs", http.StatusSeeOther)
	})
	h.mux.HandleFunc("GET /ui/jobs", h.auth(h.jobsPage))
	h.mux.HandleFunc("POST /ui/jobs", h.auth(h.upload))
	h.mux.HandleFunc("GET /ui/progress", h.auth(h.progress))
	h.mux.HandleFunc("GET /ui/jobs/{id}", h.auth(h.reportPage))
	h.mux.HandleFunc("GET /ui/jobs/{id}/log", h.auth(h.logPage))
	h.mux.HandleFunc("GET /ui/jobs/{id}/report.json", h.auth(h.reportJSON))
	h.mux.HandleFunc("GET /ui/jobs/{id}/trace.jsonl.gz", h.auth(h.traceFile))
	h.mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		h.errorPage(w, r, http.StatusNotFound, "No such page.")
	})
	return h
}

// ServeHTTP serves the interface; "/" redirects to the jobs page, and
// browsers' /favicon.ico gets an empty answer.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	switch r.URL.Path {
	case "/":
		// Keeps the query: "/?token=..." signs in on the jobs page.
		u := "/ui/jobs"
		if r.URL.RawQuery != "" {
			u += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, u, http.StatusSeeOther)
		return
	case "/favicon.ico":
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.mux.ServeHTTP(w, r)
}

func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=300")
		next.ServeHTTP(w, r)
	})
}

// validToken compares tok with the token in constant time (of equal-length
// hashes).
func (h *Handler) validToken(tok string) bool {
	if h.noToken || tok == "" {
		return false
	}
	got := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(got[:], h.tokenHash[:]) == 1
}

// authorized reports whether the request carries the token: the session
// cookie or a bearer header.
func (h *Handler) authorized(r *http.Request) bool {
	if c, err := r.Cookie(tokenCookie); err == nil && h.validToken(c.Value) {
		return true
	}
	auth := r.Header.Get("Authorization")
	const prefix = "bearer "
	return len(auth) > len(prefix) && strings.EqualFold(auth[:len(prefix)], prefix) &&
		h.validToken(strings.TrimSpace(auth[len(prefix):]))
}

// auth guards a page. ?token= logs in and redirects to the same URL
// without it (so the token leaves the address bar and history).
func (h *Handler) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("token"); tok != "" && r.Method == http.MethodGet {
			if !h.validToken(tok) {
				h.loginPage(w, r, http.StatusUnauthorized, "Wrong token.")
				return
			}
			h.setSession(w, tok)
			q := r.URL.Query()
			q.Del("token")
			u := *r.URL
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		if !h.authorized(r) {
			if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/ui/progress") {
				h.loginPage(w, r, http.StatusUnauthorized, "")
				return
			}
			w.Header().Set("Connection", "close") // no keep-alive without the token (issue 13 finding 5)
			http.Error(w, "missing or wrong token", http.StatusUnauthorized)
			return
		}
		next(w, r)
	}
}

func (h *Handler) setSession(w http.ResponseWriter, tok string) {
	var b [16]byte
	rand.Read(b[:])
	for _, c := range []*http.Cookie{
		{Name: tokenCookie, Value: tok},
		{Name: sessionCookie, Value: hex.EncodeToString(b[:])},
	} {
		c.Path, c.HttpOnly, c.Secure, c.SameSite = "/ui/", true, h.opts.Secure, http.SameSiteStrictMode
		http.SetCookie(w, c)
	}
}

// csrfToken is the form token of the request's session ("" without one).
func (h *Handler) csrfToken(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return ""
	}
	m := hmac.New(sha256.New, h.csrfKey)
	m.Write([]byte(c.Value))
	return hex.EncodeToString(m.Sum(nil))
}

// checkCSRF verifies a form's CSRF field against the session.
func (h *Handler) checkCSRF(r *http.Request, field string) bool {
	want := h.csrfToken(r)
	return want != "" && subtle.ConstantTimeCompare([]byte(field), []byte(want)) == 1
}

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	h.loginPage(w, r, http.StatusOK, "")
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	next := r.URL.RequestURI()
	if r.URL.Path == "/ui/login" {
		next = r.URL.Query().Get("next")
	}
	h.render(w, r, status, "login.html", map[string]any{"Title": "Sign in", "Error": msg, "Next": safeNext(next)})
}

// safeNext keeps a post-login redirect inside the interface.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(u.Path, Prefix) || strings.HasPrefix(next, "//") {
		return "/ui/jobs"
	}
	q := u.Query()
	q.Del("token")
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		h.loginPage(w, r, http.StatusBadRequest, "Malformed form.")
		return
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	if !h.validToken(tok) {
		time.Sleep(200 * time.Millisecond) // slows guessing a little; the token is 256 bits anyway
		h.render(w, r, http.StatusUnauthorized, "login.html", map[string]any{"Title": "Sign in", "Error": "Wrong token.", "Next": safeNext(r.PostForm.Get("next"))})
		return
	}
	h.setSession(w, tok)
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil || !h.checkCSRF(r, r.PostForm.Get("csrf")) {
		h.errorPage(w, r, http.StatusForbidden, "Missing or wrong form token; reload the page.")
		return
	}
	for _, n := range []string{tokenCookie, sessionCookie} {
		http.SetCookie(w, &http.Cookie{Name: n, Path: "/ui/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	}
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// render executes a page template into a buffer first, so a template error
// becomes a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	data["CSRF"] = h.csrfToken(r)
	data["Page"] = name
	var b strings.Builder
	if err := h.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		h.log.Error("web: render", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.render(w, r, status, "error.html", map[string]any{"Title": http.StatusText(status), "Status": status, "Error": msg})
}

// fail renders a service error with the status the API would give it.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	if status >= 500 && !errors.Is(err, context.Canceled) {
		h.log.Error("web: request failed", "path", r.URL.Path, "err", err)
	}
	h.errorPage(w, r, status, Clean(err.Error()))
}

func statusOf(err error) int {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case isKind(err, "not_found"):
		return http.StatusNotFound
	case isKind(err, "invalid"):
		return http.StatusBadRequest
	case isKind(err, "not_ready"):
		return http.StatusConflict
	case isKind(err, "too_large"):
		return http.StatusRequestEntityTooLarge
	case isKind(err, "unavailable"):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// isKind classifies err the way the API does.
func isKind(err error, kind api.Kind) bool {
	_, k := api.Classify(err)
	return k == kind
}

// errf is a small helper for form errors.
func errf(format string, a ...any) error { return fmt.Errorf(format, a...) }
