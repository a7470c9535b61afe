package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/reelay/reelay/config"
	"github.com/reelay/reelay/handlers/notification"
)

// Webhook POSTs each notification as JSON to a URL, with the notification id
// in the Idempotency-Key header so the receiver can drop repeats. A 2xx is
// delivered; a 5xx, 429 or transport error is retried with exponential
// backoff and jitter up to Attempts times; any other status fails at once.
// Its errors show the URL's scheme and host only, never its path or query,
// where webhook tokens live.
type Webhook struct {
	URL      string
	Client   *http.Client
	Attempts int
	Backoff  time.Duration
}

// NewWebhook returns a webhook notifier with 3 attempts, a 5 s timeout per
// attempt and 200 ms initial backoff.
func NewWebhook(url string) *Webhook {
	return &Webhook{URL: url, Client: &http.Client{Timeout: 5 * time.Second}, Attempts: 3, Backoff: 200 * time.Millisecond}
}

type webhookBody struct {
	ID      string `json:"id"`
	UserID  string `json:"userId"`
	Channel string `json:"channel"`
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body"`
}

// Notify delivers m and reports the attempts made.
func (w *Webhook) Notify(ctx context.Context, m notification.Message) (int, error) {
	body, err := json.Marshal(webhookBody{ID: m.ID, UserID: m.UserID, Channel: m.Channel, Subject: m.Subject, Body: m.Body})
	if err != nil {
		return 0, err
	}
	wait := w.Backoff
	for attempt := 1; ; attempt++ {
		retryable, err := w.post(ctx, m.ID, body)
		if err == nil || !retryable || attempt >= w.Attempts {
			return attempt, err
		}
		jittered := wait/2 + rand.N(wait)
		select {
		case <-ctx.Done():
			return attempt, ctx.Err()
		case <-time.After(jittered):
		}
		wait *= 2
	}
}

func (w *Webhook) post(ctx context.Context, id string, body []byte) (retryable bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("webhook %s: invalid URL", config.RedactURL(w.URL))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", id)
	resp, err := w.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = config.RedactURL(ue.URL) // the error is recorded and shown: no path or token in it
		}
		return ctx.Err() == nil, fmt.Errorf("webhook: %w", err)
	}
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return true, fmt.Errorf("webhook: status %d", resp.StatusCode)
	default:
		return false, fmt.Errorf("webhook: status %d", resp.StatusCode)
	}
}
