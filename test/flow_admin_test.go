package test_test

import (
	"fmt"
	"net/http"
	"testing"
)

// TestAdminFlowAndRecentEvents: a view posted over HTTP shows in the
// instance's recent events (type, key, correlation id, outcome, in each
// group that handled it) and in its flow counters (published to
// movie-views, applied by movie-group); a limit out of range is a 400.
func TestAdminFlowAndRecentEvents(t *testing.T) {
	parallel(t)
	in := start(t, adminConfig(t))
	movieID, corr := uid("flow"), uid("corr")
	code, out := in.do(http.MethodPost, "/api/v1/movies/"+movieID+"/views", map[string]any{"userId": "u1"},
		map[string]string{"X-Correlation-ID": corr})
	if code != http.StatusAccepted {
		t.Fatalf("view: %d %v", code, out)
	}
	eventID := out.(map[string]any)["eventId"]
	eventually(t, wait, func() error {
		body := in.mustAdmin(http.StatusOK, http.MethodGet, "/admin/v1/events/recent?limit=200", nil)
		seen := map[string]bool{}
		for _, e := range body["events"].([]any) {
			e := e.(map[string]any)
			if e["key"] != movieID {
				continue
			}
			if e["type"] != "movie.viewed" || e["eventId"] != eventID || e["correlationId"] != corr || e["outcome"] != "applied" || e["topic"] != "movie-views" {
				return fmt.Errorf("event %v", e)
			}
			seen[e["group"].(string)] = true
		}
		if !seen["movie-group"] || !seen["analytics-group"] {
			return fmt.Errorf("groups that handled the view: %v", seen)
		}
		return nil
	})
	eventually(t, wait, func() error {
		body := in.mustAdmin(http.StatusOK, http.MethodGet, "/admin/v1/flow", nil)
		var published, applied float64
		for _, tp := range body["topics"].([]any) {
			if tp := tp.(map[string]any); tp["topic"] == "movie-views" {
				published = tp["published"].(float64)
			}
		}
		for _, g := range body["groups"].([]any) {
			if g := g.(map[string]any); g["group"] == "movie-group" {
				applied = g["outcomes"].(map[string]any)["applied"].(float64)
			}
		}
		if published != 1 || applied != 1 || len(body["times"].([]any)) == 0 {
			return fmt.Errorf("published %v, applied %v, %d samples", published, applied, len(body["times"].([]any)))
		}
		return nil
	})
	for _, limit := range []string{"0", "201", "x"} {
		if code, body := in.admin(http.MethodGet, "/admin/v1/events/recent?limit="+limit, nil); code != http.StatusBadRequest || errorCode(body) != "validation_failed" {
			t.Errorf("limit %s: %d %v", limit, code, body)
		}
	}
}
