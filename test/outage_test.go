package test_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

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

// TestSlowBrokerAnswers503WithinThePublishDeadline holds the broker's
// produce requests: a POST is answered 503 with Retry-After once
// REELAY_PUBLISH_TIMEOUT has passed, not when the broker answers. Its
// event is written after all once the broker lets go, and the client's
// retry with the same Idempotency-Key is accepted: each read model counts
// the view once, and the consumers dropped the second copy as a duplicate.
func TestSlowBrokerAnswers503WithinThePublishDeadline(t *testing.T) {
	if externalBrokers() != nil {
		t.Skip("holds produce requests of a kfake cluster the test owns")
	}
	t.Parallel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ListenFn(func(network, _ string) (net.Listener, error) {
		return net.Listen(network, "127.0.0.1:0")
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	var hold atomic.Bool
	release := make(chan struct{})
	cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		if hold.Load() {
			cluster.SleepControl(func() { <-release })
		}
		return nil, nil, false
	})
	cfg := testConfig(t)
	cfg.KafkaBrokers = cluster.ListenAddrs()
	cfg.PublishTimeout = 500 * time.Millisecond
	in := start(t, cfg)
	movieID := uid("slow")
	key := map[string]string{"Idempotency-Key": uid("key")}

	hold.Store(true)
	began := time.Now()
	resp := postRaw(t, in, "/api/v1/movies/"+movieID+"/views", `{"userId":"u"}`, key)
	took := time.Since(began)
	if resp.code != http.StatusServiceUnavailable || resp.header.Get("Retry-After") == "" {
		t.Fatalf("held broker: %d (Retry-After %q) %s, want 503 with Retry-After", resp.code, resp.header.Get("Retry-After"), resp.body)
	}
	if took > cfg.PublishTimeout+2*time.Second {
		t.Fatalf("answered after %s; the publish deadline is %s", took, cfg.PublishTimeout)
	}
	hold.Store(false)
	close(release)

	eventually(t, wait, func() error {
		if r := postRaw(t, in, "/api/v1/movies/"+movieID+"/views", `{"userId":"u"}`, key); r.code != http.StatusAccepted {
			return fmt.Errorf("retry: %d %s", r.code, r.body)
		}
		return nil
	})
	in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"views": 1}))
	in.waitFor("/api/v1/analytics/movies/"+movieID, fields(map[string]any{"views": 1}))
	eventually(t, wait, func() error {
		if n := metricValue(t, in, `reelay_events_total{group="movie-group",handler="movie:movie-views",outcome="duplicate"}`); n != 1 {
			return fmt.Errorf("movie-group duplicates %v, want the held copy dropped", n)
		}
		return nil
	})
	in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"views": 1}))
}

type rawResponse struct {
	code   int
	header http.Header
	body   string
}

// postRaw POSTs a JSON body with headers and returns the answer as is.
func postRaw(t *testing.T, in *instance, path, body string, headers map[string]string) rawResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, in.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	return rawResponse{code: resp.StatusCode, header: resp.Header, body: string(raw)}
}
