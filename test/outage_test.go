package test_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/reelay/reelay/infra/kafka"
)

// TestBrokerDownAnswers503 runs the app against a broker the test owns and
// stops it: POSTs answer 503 with Retry-After within a bounded time, never
// 202 or 500, and /readyz reports the broker.
func TestBrokerDownAnswers503(t *testing.T) {
	if externalBrokers() != nil {
		t.Skip("the broker outage on Apache Kafka is the fault suite's scenario")
	}
	t.Parallel()
	broker, err := kafka.StartEmbedded("127.0.0.1:0", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.KafkaBrokers = []string{broker.Addr()}
	in := start(t, cfg)
	movieID := uid("outage")
	in.mustAccept(http.MethodPost, "/api/v1/movies", map[string]any{"id": movieID, "title": "Before"})
	broker.Close()

	started := time.Now()
	code, body := in.do(http.MethodPost, "/api/v1/movies/"+movieID+"/views", map[string]any{"userId": "u"}, nil)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503: %v", code, body)
	}
	if e := body.(map[string]any)["error"].(map[string]any); e["code"] != "broker_unavailable" {
		t.Fatalf("error %v", e)
	}
	t.Logf("503 after %s", time.Since(started).Round(time.Millisecond))
	resp, err := http.Post(in.base+"/api/v1/movies/"+movieID+"/views", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable && resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
	eventually(t, wait, func() error {
		code, body := in.do(http.MethodGet, "/readyz", nil, nil)
		failing, _ := body.(map[string]any)["failing"].(map[string]any)
		if code != http.StatusServiceUnavailable || failing["broker"] == nil {
			return fmt.Errorf("readyz %d %v", code, body)
		}
		return nil
	})
}
