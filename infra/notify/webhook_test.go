package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reelay/reelay/handlers/notification"
	"github.com/reelay/reelay/infra/notify"
)

func TestWebhookRetriesServerErrors(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var got map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("Idempotency-Key") != "n1" {
			t.Errorf("Idempotency-Key = %q", r.Header.Get("Idempotency-Key"))
		}
		_ = json.NewDecoder(r.Body).Decode(&got)
	}))
	defer srv.Close()
	w := notify.NewWebhook(srv.URL)
	w.Backoff = time.Millisecond
	attempts, err := w.Notify(context.Background(), notification.Message{ID: "n1", UserID: "u", Channel: "email", Body: "hi"})
	if err != nil || attempts != 3 || got["body"] != "hi" || got["userId"] != "u" {
		t.Fatalf("attempts=%d err=%v body=%v", attempts, err, got)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		status       int
		wantAttempts int
	}{
		{"server error exhausts attempts", http.StatusInternalServerError, 3},
		{"client error fails at once", http.StatusBadRequest, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(tc.status) }))
			defer srv.Close()
			w := notify.NewWebhook(srv.URL)
			w.Backoff = time.Millisecond
			attempts, err := w.Notify(context.Background(), notification.Message{ID: "n", Body: "b"})
			if err == nil || attempts != tc.wantAttempts {
				t.Fatalf("attempts=%d err=%v", attempts, err)
			}
		})
	}
}

// TestWebhookErrorsHideTheURLsSecrets: a transport error names the host,
// never the path or query that carry the webhook's token.
func TestWebhookErrorsHideTheURLsSecrets(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	addr := srv.URL
	srv.Close() // nothing listens: every attempt fails in transport
	w := notify.NewWebhook(addr + "/hooks/T0-s3cret?token=s3cret")
	w.Attempts, w.Backoff = 1, time.Millisecond
	_, err := w.Notify(context.Background(), notification.Message{ID: "n1", UserID: "u", Channel: "email", Body: "b"})
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), strings.TrimPrefix(addr, "http://")) {
		t.Fatalf("err = %v, want the host without path or query", err)
	}
}
