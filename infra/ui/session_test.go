package ui

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestSessionCookie: a session is valid until it expires, and only for the
// token that made it; a changed expiry or signature is refused.
func TestSessionCookie(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	h := New(Config{Token: "token-0123456789abcdef", API: http.NotFoundHandler(), SessionTTL: time.Hour})
	h.cfg.now = func() time.Time { return now }
	other := New(Config{Token: "token-0123456789abcdeX", API: http.NotFoundHandler()})
	other.cfg.now = h.cfg.now

	valid := h.sessionValue(now.Add(time.Hour))
	for _, tc := range []struct {
		name  string
		value string
		at    time.Time
		want  bool
	}{
		{"fresh", valid, now, true},
		{"just before expiry", valid, now.Add(time.Hour - time.Second), true},
		{"expired", valid, now.Add(time.Hour), false},
		{"expiry moved", "9999999999" + valid[len("1795860000"):], now, false},
		{"signature changed", valid[:len(valid)-2] + "AA", now, false},
		{"another token's", other.sessionValue(now.Add(time.Hour)), now, false},
		{"no signature", "1795860000", now, false},
		{"empty", "", now, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := tc.at
			h.cfg.now = func() time.Time { return at }
			r := httptest.NewRequest(http.MethodGet, "/ui/", nil)
			r.AddCookie(&http.Cookie{Name: sessionCookie, Value: tc.value})
			if got := h.validSession(r); got != tc.want {
				t.Fatalf("valid = %v, want %v (%q)", got, tc.want, tc.value)
			}
		})
	}
}
