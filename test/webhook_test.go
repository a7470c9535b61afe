package test_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/reelay/reelay/events"
)

// TestWebhookDeliveries configures the webhook notifier against a receiver
// that refuses one user: deliveries are recorded delivered or failed with
// their attempts, and the receiver sees each notification id.
func TestWebhookDeliveries(t *testing.T) {
	parallel(t)
	good, bad := uid("good"), uid("bad")
	var mu sync.Mutex
	received := map[string]int{}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ ID, UserID string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.UserID == bad {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		mu.Lock()
		received[r.Header.Get("Idempotency-Key")]++
		mu.Unlock()
	}))
	defer receiver.Close()
	cfg := testConfig(t)
	cfg.NotifyWebhookURL = receiver.URL
	in := start(t, cfg)
	in.mustAccept(http.MethodPost, "/api/v1/notifications", map[string]any{"userId": good, "channel": "push", "body": "hi"})
	in.mustAccept(http.MethodPost, "/api/v1/notifications", map[string]any{"userId": bad, "channel": "sms", "body": "hi"})

	check := func(user, status string, attempts float64) map[string]any {
		return in.waitForDelivery(user, func(d map[string]any) error {
			if d["status"] != status || d["attempts"] != attempts {
				return fmt.Errorf("delivery %v", d)
			}
			return nil
		})
	}
	delivered := check(good, "delivered", 1)
	failed := check(bad, "failed", 3)
	if failed["error"] != "webhook: status 502" {
		t.Fatalf("failure reason %v", failed["error"])
	}
	mu.Lock()
	defer mu.Unlock()
	if len(received) != 1 || received[delivered["notificationId"].(string)] != 1 {
		t.Fatalf("receiver saw %v", received)
	}
}

// waitForDelivery polls the user's deliveries until there is exactly one and
// check accepts it; it returns that delivery.
func (in *instance) waitForDelivery(user string, check func(d map[string]any) error) map[string]any {
	in.t.Helper()
	var d map[string]any
	eventually(in.t, wait, func() error {
		v, err := in.getJSON("/api/v1/users/" + user + "/notifications")
		if err != nil {
			return err
		}
		list := v.([]any)
		if len(list) != 1 {
			return fmt.Errorf("deliveries %v", list)
		}
		d = list[0].(map[string]any)
		return check(d)
	})
	return d
}

// TestRedeliveredNotificationIsNotSentAgain: the same event arriving twice
// reaches the webhook once — the notification consumer has side effects, so
// its inbox is consulted before the notifier is called.
func TestRedeliveredNotificationIsNotSentAgain(t *testing.T) {
	parallel(t)
	var mu sync.Mutex
	received := map[string]int{}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ ID string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		received[body.ID]++
		mu.Unlock()
	}))
	defer receiver.Close()
	cfg := testConfig(t)
	cfg.NotifyWebhookURL = receiver.URL
	in := start(t, cfg)
	user := uid("twice")
	data := mustJSON(map[string]any{"notificationId": "n-twice", "userId": user, "channel": "email", "body": "hi"})
	headers := binary(uuid.NewString(), events.TypeNotificationRequested)
	topic := events.NotificationTopic(events.ChannelEmail)
	in.produce(topic, user, data, headers)
	in.waitForDelivery(user, func(d map[string]any) error {
		if d["status"] != "delivered" {
			return fmt.Errorf("delivery %v", d)
		}
		return nil
	})
	in.produce(topic, user, data, headers) // the same event again, behind it on the same partition
	marker := mustJSON(map[string]any{"notificationId": "n-marker", "userId": user, "channel": "email", "body": "after"})
	in.produce(topic, user, marker, binary(uuid.NewString(), events.TypeNotificationRequested))
	eventually(t, wait, func() error {
		mu.Lock()
		defer mu.Unlock()
		if received["n-marker"] != 1 {
			return fmt.Errorf("receiver saw %v", received)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if received["n-twice"] != 1 {
		t.Fatalf("the redelivered notification was sent %d times", received["n-twice"])
	}
}
