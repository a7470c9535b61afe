package test_test

import (
	"net/http"

	"github.com/reelay/reelay/events"
	"strings"
	"testing"
)

// TestBadInputGetsJSON4xx sends broken requests to every route: each gets
// its documented status and a JSON error, never a 500.
func TestBadInputGetsJSON4xx(t *testing.T) {
	parallel(t)
	in := start(t, testConfig(t))
	big := `{"title":"` + strings.Repeat("x", 70<<10) + `"}`
	cases := []struct {
		name, method, path string
		body               any
		headers            map[string]string
		status             int
		code, field        string
	}{
		{"broken JSON", "POST", "/api/v1/movies", `{"title":`, nil, 400, "invalid_json", ""},
		{"two JSON values", "POST", "/api/v1/movies", `{"title":"a"}{}`, nil, 400, "invalid_json", ""},
		{"JSON array", "POST", "/api/v1/movies", `[1]`, nil, 400, "invalid_json", ""},
		{"empty JSON array", "POST", "/api/v1/movies", `[]`, nil, 400, "invalid_json", ""},
		{"JSON string", "POST", "/api/v1/movies/m1/views", `"u"`, nil, 400, "invalid_json", ""},
		{"NUL in title", "POST", "/api/v1/movies", `{"title":"a\u0000b"}`, nil, 400, "validation_failed", "title"},
		{"control character in title", "POST", "/api/v1/movies", `{"title":"a\u001bb"}`, nil, 400, "validation_failed", "title"},
		{"year beyond every store", "POST", "/api/v1/movies", `{"title":"a","year":3000000000}`, nil, 400, "validation_failed", "year"},
		{"year beyond int64", "POST", "/api/v1/movies", `{"title":"a","year":1e400}`, nil, 400, "validation_failed", "year"},
		{"NUL in genre", "POST", "/api/v1/movies", `{"title":"a","genres":["x\u0000"]}`, nil, 400, "validation_failed", "genres"},
		{"NUL in updated title", "PUT", "/api/v1/movies/m1", `{"title":"\u0000"}`, nil, 400, "validation_failed", "title"},
		{"update year out of range", "PUT", "/api/v1/movies/m1", `{"year":3000000000}`, nil, 400, "validation_failed", "year"},
		{"content type with a suffix", "POST", "/api/v1/movies", `{"title":"a"}`, map[string]string{"Content-Type": "application/jsonx-anything"}, 415, "unsupported_media_type", ""},
		{"content type unparsable", "POST", "/api/v1/movies", `{"title":"a"}`, map[string]string{"Content-Type": "application/json;;"}, 415, "unsupported_media_type", ""},
		{"empty body", "POST", "/api/v1/movies", ``, nil, 400, "invalid_json", ""},
		{"missing title", "POST", "/api/v1/movies", `{"year":1999}`, nil, 400, "validation_failed", "title"},
		{"empty title", "POST", "/api/v1/movies", `{"title":""}`, nil, 400, "validation_failed", "title"},
		{"long title", "POST", "/api/v1/movies", `{"title":"` + strings.Repeat("t", 201) + `"}`, nil, 400, "validation_failed", "title"},
		{"title wrong type", "POST", "/api/v1/movies", `{"title":7}`, nil, 400, "validation_failed", "title"},
		{"year wrong type", "POST", "/api/v1/movies", `{"title":"a","year":"1999"}`, nil, 400, "validation_failed", "year"},
		{"year out of range", "POST", "/api/v1/movies", `{"title":"a","year":-5}`, nil, 400, "validation_failed", "year"},
		{"genres wrong type", "POST", "/api/v1/movies", `{"title":"a","genres":"drama"}`, nil, 400, "validation_failed", "genres"},
		{"bad movie id", "POST", "/api/v1/movies", `{"title":"a","id":"no spaces"}`, nil, 400, "validation_failed", "id"},
		{"unknown field", "POST", "/api/v1/movies", `{"title":"a","rating":5}`, nil, 400, "validation_failed", "rating"},
		{"oversize body", "POST", "/api/v1/movies", big, nil, 413, "payload_too_large", ""},
		{"not JSON content type", "POST", "/api/v1/movies", `{"title":"a"}`, map[string]string{"Content-Type": "text/plain"}, 415, "unsupported_media_type", ""},
		{"update nothing", "PUT", "/api/v1/movies/m1", `{}`, nil, 400, "validation_failed", ""},
		{"update empty title", "PUT", "/api/v1/movies/m1", `{"title":""}`, nil, 400, "validation_failed", "title"},
		{"update bad id", "PUT", "/api/v1/movies/bad%20id", `{"title":"a"}`, nil, 400, "validation_failed", "id"},
		{"delete bad id", "DELETE", "/api/v1/movies/" + strings.Repeat("a", 65), nil, nil, 400, "validation_failed", "id"},
		{"view without user", "POST", "/api/v1/movies/m1/views", `{}`, nil, 400, "validation_failed", "userId"},
		{"view negative seconds", "POST", "/api/v1/movies/m1/views", `{"userId":"u","watchedSeconds":-1}`, nil, 400, "validation_failed", "watchedSeconds"},
		{"view seconds over a day", "POST", "/api/v1/movies/m1/views", `{"userId":"u","watchedSeconds":9223372036854775807}`, nil, 400, "validation_failed", "watchedSeconds"},
		{"view seconds wrong type", "POST", "/api/v1/movies/m1/views", `{"userId":"u","watchedSeconds":"ten"}`, nil, 400, "validation_failed", "watchedSeconds"},
		{"view fractional seconds", "POST", "/api/v1/movies/m1/views", `{"userId":"u","watchedSeconds":1.5}`, nil, 400, "validation_failed", "watchedSeconds"},
		{"unknown movie", "GET", "/api/v1/movies/never-seen", nil, nil, 404, "not_found", ""},
		{"bad sort", "GET", "/api/v1/movies?sort=title", nil, nil, 400, "validation_failed", "sort"},
		{"bad limit", "GET", "/api/v1/movies?limit=0", nil, nil, 400, "validation_failed", "limit"},
		{"limit not a number", "GET", "/api/v1/movies?limit=ten", nil, nil, 400, "validation_failed", "limit"},
		{"unknown action", "POST", "/api/v1/users/u1/actions", `{"type":"dance"}`, nil, 400, "validation_failed", "type"},
		{"rate without rating", "POST", "/api/v1/users/u1/actions", `{"type":"rate","movieId":"m1"}`, nil, 400, "validation_failed", "rating"},
		{"rate out of range", "POST", "/api/v1/users/u1/actions", `{"type":"rate","movieId":"m1","rating":6}`, nil, 400, "validation_failed", "rating"},
		{"like without movie", "POST", "/api/v1/users/u1/actions", `{"type":"like"}`, nil, 400, "validation_failed", "movieId"},
		{"search without query", "POST", "/api/v1/users/u1/actions", `{"type":"search"}`, nil, 400, "validation_failed", "query"},
		{"NUL in search query", "POST", "/api/v1/users/u1/actions", `{"type":"search","query":"a\u0000"}`, nil, 400, "validation_failed", "query"},
		{"rating on a like", "POST", "/api/v1/users/u1/actions", `{"type":"like","movieId":"m1","rating":3}`, nil, 400, "validation_failed", "rating"},
		{"NUL in subject", "POST", "/api/v1/notifications", `{"userId":"u","channel":"email","subject":"\u0000","body":"b"}`, nil, 400, "validation_failed", "subject"},
		{"control character in body", "POST", "/api/v1/notifications", `{"userId":"u","channel":"email","body":"\u0007"}`, nil, 400, "validation_failed", "body"},
		{"notifications bad limit", "GET", "/api/v1/users/u1/notifications?limit=101", nil, nil, 400, "validation_failed", "limit"},
		{"notification bad channel", "POST", "/api/v1/notifications", `{"userId":"u","channel":"pigeon","body":"b"}`, nil, 400, "validation_failed", "channel"},
		{"notification without body", "POST", "/api/v1/notifications", `{"userId":"u","channel":"email"}`, nil, 400, "validation_failed", "body"},
		{"notification without user", "POST", "/api/v1/notifications", `{"channel":"email","body":"b"}`, nil, 400, "validation_failed", "userId"},
		{"bad top metric", "GET", "/api/v1/analytics/top?metric=revenue", nil, nil, 400, "validation_failed", "metric"},
		{"bad analytics id", "GET", "/api/v1/analytics/movies/a.b", nil, nil, 400, "validation_failed", "id"},
		{"idempotency key not ASCII", "POST", "/api/v1/movies", `{"title":"a"}`, map[string]string{"Idempotency-Key": "k\xff\xfe"}, 400, "validation_failed", "Idempotency-Key"},
		{"long idempotency key", "POST", "/api/v1/movies", `{"title":"a"}`, map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, 400, "validation_failed", "Idempotency-Key"},
		{"unknown route", "GET", "/api/v1/nothing", nil, nil, 404, "not_found", ""},
		{"wrong method", "PATCH", "/api/v1/movies/m1", `{}`, nil, 405, "method_not_allowed", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if s, ok := tc.body.(string); ok {
				body = []byte(s)
			}
			headers := map[string]string{"Content-Type": "application/json"}
			for k, v := range tc.headers {
				headers[k] = v
			}
			code, out := in.do(tc.method, tc.path, body, headers)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %v", code, tc.status, out)
			}
			obj, _ := out.(map[string]any)
			e, _ := obj["error"].(map[string]any)
			if e == nil || e["code"] != tc.code || e["message"] == "" {
				t.Fatalf("error body %v, want code %s", out, tc.code)
			}
			if msg, _ := e["message"].(string); strings.Contains(msg, "httpapi") || strings.Contains(msg, "struct") || strings.Contains(msg, "127.0.0.1") {
				t.Fatalf("message shows internals: %q", msg)
			}
			if tc.field != "" && e["field"] != tc.field {
				t.Fatalf("field %v, want %s", e["field"], tc.field)
			}
		})
	}
}

// TestCorrelationIDRoundTrip: the header is echoed, or generated when absent.
func TestCorrelationIDRoundTrip(t *testing.T) {
	parallel(t)
	in := start(t, testConfig(t))
	req, _ := http.NewRequest(http.MethodGet, in.base+"/healthz", nil)
	req.Header.Set("X-Correlation-ID", "trace-42")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := resp.Header.Get("X-Correlation-ID"); got != "trace-42" {
		t.Fatalf("echoed %q", got)
	}
	resp, err = http.Get(in.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := resp.Header.Get("X-Correlation-ID"); len(got) != 36 {
		t.Fatalf("generated %q", got)
	}
	// The id travels into the event's headers.
	movieID := uid("corr")
	code, out := in.do(http.MethodPost, "/api/v1/movies/"+movieID+"/views", map[string]any{"userId": "u"},
		map[string]string{"X-Correlation-ID": "trace-43"})
	if code != http.StatusAccepted {
		t.Fatalf("%d %v", code, out)
	}
	recs := in.readTopic(events.TopicMovieViews, movieID)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	h := headerMap(recs[0])
	if h[events.HeaderCorrelationID] != "trace-43" || h[events.HeaderType] != events.TypeMovieViewed ||
		h[events.HeaderSpecVersion] != "1.0" || h[events.HeaderSource] == "" || h[events.HeaderTime] == "" ||
		h[events.HeaderContentType] != "application/json" || h[events.HeaderID] != out.(map[string]any)["eventId"] {
		t.Fatalf("headers %v", h)
	}
}
