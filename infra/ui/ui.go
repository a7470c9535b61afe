// Package ui is the operations page served at /ui: flow, lag, dead letters
// (with replay and discard) and recent events of a running Reelay, updated
// every two seconds.
//
// The page is a client of the admin API and of nothing else: every
// fragment it renders comes from a request to /admin/v1, made in process
// through the server's own handler with the admin token, so it shows what
// `reelay dlq` or any other client would see. Templates and assets are
// embedded in the binary; htmx swaps the fragments and uPlot draws the
// charts, both vendored (static/vendor).
//
// Access takes the admin token: the login form posts it, and the page then
// holds a session cookie (HttpOnly, SameSite=Strict, Secure over TLS, Path
// /ui) whose value is an expiry and an HMAC-SHA256 of it keyed by the token,
// so changing the token ends every session and the token itself never
// leaves the server again. Requests that change anything (replay, discard)
// must also carry htmx's HX-Request header and, when the browser sends
// them, an Origin of this host and Sec-Fetch-Site same-origin: a form on
// another site can send none of these. With no
// token configured the page is disabled, as the admin API is.
package ui

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

//go:embed templates static
var files embed.FS

// Config is what the page needs.
type Config struct {
	// Token is the admin token (REELAY_ADMIN_TOKEN); empty disables the page.
	Token string
	// API serves the admin API (/admin/v1); the page calls it in process.
	API http.Handler
	// Logger logs admin API calls that fail.
	Logger *slog.Logger
	// SessionTTL is how long a login lasts (12 h when zero).
	SessionTTL time.Duration
	// now is the clock, for tests (time.Now when nil).
	now func() time.Time
}

// Handler serves the page under /ui.
type Handler struct {
	cfg  Config
	tmpl *template.Template
	mux  *http.ServeMux
	api  api
}

// New builds the page's handler.
func New(cfg Config) *Handler {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), api: api{handler: cfg.API, token: cfg.Token, logger: cfg.Logger},
		tmpl: template.Must(template.New("").Funcs(funcs(cfg.now)).ParseFS(files, "templates/*.html"))}
	static, _ := fs.Sub(files, "static")
	h.mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	h.mux.HandleFunc("GET /ui/{$}", h.page)
	h.mux.HandleFunc("POST /ui/login", h.login)
	h.mux.HandleFunc("POST /ui/logout", h.logout)
	for pattern, fn := range map[string]http.HandlerFunc{
		"GET /ui/flow.json":         h.flowJSON,
		"GET /ui/parts/flow":        h.flow,
		"GET /ui/parts/lag":         h.lag,
		"GET /ui/parts/deadletters": h.deadLetters,
		"GET /ui/parts/group":       h.group,
		"GET /ui/parts/records":     h.records,
		"GET /ui/parts/record":      h.record,
		"GET /ui/parts/replay":      h.replayProgress,
		"GET /ui/parts/recent":      h.recent,
		"GET /ui/parts/event":       h.event,
		"POST /ui/actions/replay":   h.replay,
		"POST /ui/actions/discard":  h.discard,
	} {
		h.mux.Handle(pattern, h.requireSession(fn))
	}
	return h
}

// ServeHTTP serves /ui and everything under it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	if h.cfg.Token == "" {
		hd.Set("Cache-Control", "no-store")
		hd.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		h.render(w, "disabled", nil)
		return
	}
	if r.URL.Path == "/ui" {
		http.Redirect(w, r, "/ui/", http.StatusFound)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/ui/static/") {
		hd.Set("Cache-Control", "no-store") // fragments and pages are live; assets may be cached
	}
	h.mux.ServeHTTP(w, r)
}

// render executes the template name; a template error is a bug, logged.
func (h *Handler) render(w http.ResponseWriter, name string, data any) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	if err := h.tmpl.ExecuteTemplate(w, name, data); err != nil {
		h.cfg.Logger.Error("ui: rendering", "template", name, "err", err)
	}
}
