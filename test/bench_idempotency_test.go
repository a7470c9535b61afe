package test_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
)

// BenchmarkIdempotencyKey: the cost of Idempotency-Key on the ingest path.
// POST /movies/{id}/views → 202 with a unique key per request (fingerprint,
// claim and stored answer: two single-statement writes) against the same
// request without a key, interleaved on one instance in the same run, while
// the consumers apply the events to the same database. x_nokey is the
// keyed time over the unkeyed time.
func BenchmarkIdempotencyKey(b *testing.B) {
	t := &testing.T{}
	in := start(t, testConfig(t))
	defer in.stop()
	body := []byte(`{"userId":"u1","watchedSeconds":5}`)
	client := &http.Client{}
	post := func(i int, key string) time.Duration {
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/movies/m%d/views", in.base, i%64), bytesReader(body))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		began := time.Now()
		resp, err := client.Do(req)
		took := time.Since(began)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			b.Fatalf("%v %v", err, resp)
		}
		_ = resp.Body.Close()
		return took
	}
	for i := range 50 { // warm up connections and prepared statements
		post(i, "")
		post(i, uuid.NewString())
	}

	b.ResetTimer()
	var plain, keyed time.Duration
	for i := range b.N {
		if i%2 == 0 {
			plain += post(i, "")
			keyed += post(i, uuid.NewString())
		} else {
			keyed += post(i, uuid.NewString())
			plain += post(i, "")
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/keyed.Seconds(), "keyed_events/s")
	b.ReportMetric(float64(b.N)/plain.Seconds(), "nokey_events/s")
	b.ReportMetric(keyed.Seconds()/plain.Seconds(), "x_nokey")
}
