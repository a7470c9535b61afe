package ui

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// sessionCookie names the page's session cookie.
const sessionCookie = "reelay_ui_session"

// sessionValue is the cookie value of a session that ends at expires:
// the expiry and an HMAC of it keyed by the token.
func (h *Handler) sessionValue(expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	return exp + "." + base64.RawURLEncoding.EncodeToString(h.sessionMAC(exp))
}

func (h *Handler) sessionMAC(exp string) []byte {
	mac := hmac.New(sha256.New, []byte(h.cfg.Token))
	mac.Write([]byte("reelay-ui-session:" + exp))
	return mac.Sum(nil)
}

// validSession reports whether r carries a session cookie this token made
// that has not expired.
func (h *Handler) validSession(r *http.Request) bool {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return false
	}
	exp, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !h.cfg.now().Before(time.Unix(unix, 0)) {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	return err == nil && hmac.Equal(got, h.sessionMAC(exp))
}

// setSession sets (or, with maxAge < 0, clears) the session cookie.
func (h *Handler) setSession(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: value, Path: "/ui", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// login checks the token the form posts and starts a session; a wrong one
// gets the form again, 401.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	want := sha256.Sum256([]byte(h.cfg.Token))
	got := sha256.Sum256([]byte(r.PostFormValue("token")))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		h.render(w, "login", map[string]string{"Error": "That is not the admin token (REELAY_ADMIN_TOKEN)."})
		return
	}
	h.setSession(w, r, h.sessionValue(h.cfg.now().Add(h.cfg.SessionTTL)), int(h.cfg.SessionTTL.Seconds()))
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	h.setSession(w, r, "", -1)
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

// requireSession serves next only with a valid session; without one, htmx
// is told to go to the login page. A request that changes anything must
// also come from this page: htmx's HX-Request header (which a cross-site
// form cannot set) and, when present, this host's Origin.
func (h *Handler) requireSession(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.validSession(r) {
			w.Header().Set("HX-Redirect", "/ui/")
			http.Error(w, "log in at /ui/ with the admin token", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && !sameOrigin(r) {
			http.Error(w, "refused: not a request of the operations page", http.StatusForbidden)
			return
		}
		next(w, r)
	})
}

// sameOrigin reports whether a state-changing request comes from a page of
// this host, as far as the browser says.
func sameOrigin(r *http.Request) bool {
	if r.Header.Get("HX-Request") != "true" {
		return false
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin) // either scheme: TLS may end at a proxy
		return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host == r.Host
	}
	return true
}
