package test_test

import (
	"fmt"
	"net/http"
	"testing"
)

// TestSeedFlow drives every flow of the seed over HTTP and waits until every
// read model agrees exactly.
func TestSeedFlow(t *testing.T) {
	parallel(t)
	in := start(t, testConfig(t))
	heat, alien := uid("heat"), uid("alien")
	u1, u2, u3 := uid("u1"), uid("u2"), uid("u3")

	// A view before the movie exists: the read model must still end right.
	in.mustAccept(http.MethodPost, "/api/v1/movies/"+heat+"/views", map[string]any{"userId": u1, "watchedSeconds": 100})
	created := in.mustAccept(http.MethodPost, "/api/v1/movies", map[string]any{"id": heat, "title": "Heat", "year": 1995, "genres": []string{"crime"}})
	if created["movieId"] != heat || created["eventId"] == "" {
		t.Fatalf("create answer: %v", created)
	}
	generated := in.mustAccept(http.MethodPost, "/api/v1/movies", map[string]any{"title": "Alien"})["movieId"].(string)
	in.mustAccept(http.MethodPost, "/api/v1/movies", map[string]any{"id": alien, "title": "Alien"})
	in.mustAccept(http.MethodPut, "/api/v1/movies/"+alien, map[string]any{"year": 1979})
	for _, v := range []struct {
		user string
		secs int
	}{{u2, 50}, {u1, 30}, {u3, 0}} {
		in.mustAccept(http.MethodPost, "/api/v1/movies/"+heat+"/views", map[string]any{"userId": v.user, "watchedSeconds": v.secs})
	}
	in.mustAccept(http.MethodPost, "/api/v1/movies/"+alien+"/views", map[string]any{"userId": u1})
	for _, a := range []map[string]any{
		{"type": "like", "movieId": heat},
		{"type": "rate", "movieId": heat, "rating": 5},
		{"type": "search", "query": "heist"},
		{"type": "add_to_watchlist", "movieId": alien},
	} {
		in.mustAccept(http.MethodPost, "/api/v1/users/"+u1+"/actions", a)
	}
	in.mustAccept(http.MethodPost, "/api/v1/users/"+u2+"/actions", map[string]any{"type": "rate", "movieId": heat, "rating": 2})
	in.mustAccept(http.MethodPost, "/api/v1/users/"+u2+"/actions", map[string]any{"type": "like", "movieId": heat})
	in.mustAccept(http.MethodPost, "/api/v1/users/"+u2+"/actions", map[string]any{"type": "unlike", "movieId": heat})
	notificationIDs := map[string]string{} // channel → the id POST answered
	for _, ch := range []string{"email", "push", "sms"} {
		body := in.mustAccept(http.MethodPost, "/api/v1/notifications", map[string]any{"userId": u1, "channel": ch, "subject": "New: " + ch, "body": "Heat is out"})
		id, _ := body["notificationId"].(string)
		if id == "" || id == body["eventId"] {
			t.Fatalf("POST /notifications answered %v, want a notificationId of its own", body)
		}
		notificationIDs[ch] = id
	}

	in.waitFor("/api/v1/movies/"+heat, fields(map[string]any{"title": "Heat", "year": 1995, "views": 4, "genres": []any{"crime"}}))
	in.waitFor("/api/v1/movies/"+alien, fields(map[string]any{"title": "Alien", "year": 1979, "views": 1}))
	in.waitFor("/api/v1/movies/"+generated, fields(map[string]any{"title": "Alien", "views": 0}))
	in.waitFor("/api/v1/analytics/movies/"+heat, fields(map[string]any{
		"views": 4, "uniqueViewers": 3, "watchedSeconds": 180, "likes": 1, "ratingAvg": 3.5,
	}))
	in.waitFor("/api/v1/analytics/users/"+u1, fields(map[string]any{
		"views": 3, "actions": map[string]any{"like": 1, "rate": 1, "search": 1, "add_to_watchlist": 1},
	}))
	in.waitFor("/api/v1/analytics/users/"+u2, fields(map[string]any{
		"views": 1, "actions": map[string]any{"rate": 1, "like": 1, "unlike": 1},
	}))
	eventually(t, wait, func() error {
		v, err := in.getJSON("/api/v1/users/" + u1 + "/notifications")
		if err != nil {
			return err
		}
		list := v.([]any)
		if len(list) != 3 {
			return fmt.Errorf("%d deliveries: %v", len(list), list)
		}
		channels := map[string]bool{}
		for _, d := range list {
			d := d.(map[string]any)
			if d["status"] != "delivered" || d["attempts"] != 1.0 || d["subject"] != "New: "+d["channel"].(string) ||
				d["notificationId"] != notificationIDs[d["channel"].(string)] {
				return fmt.Errorf("delivery %v (POST answered %v)", d, notificationIDs)
			}
			channels[d["channel"].(string)] = true
		}
		if len(channels) != 3 {
			return fmt.Errorf("channels %v", channels)
		}
		return nil
	})

	// Lists: most viewed first, restricted to this test's movies.
	top, err := in.getJSON("/api/v1/movies?sort=views&limit=100")
	if err != nil {
		t.Fatal(err)
	}
	order := idsIn(top, "id", heat, alien, generated)
	if fmt.Sprint(order) != fmt.Sprint([]string{heat, alien, generated}) {
		t.Fatalf("movies by views: %v", order)
	}
	byLikes, err := in.getJSON("/api/v1/analytics/top?metric=likes&limit=100")
	if err != nil {
		t.Fatal(err)
	}
	if got := idsIn(byLikes, "movieId", heat, alien); len(got) == 0 || got[0] != heat {
		t.Fatalf("top by likes: %v", got)
	}

	// Deleting hides the movie.
	in.mustAccept(http.MethodDelete, "/api/v1/movies/"+alien, nil)
	eventually(t, wait, func() error {
		if code, body := in.do(http.MethodGet, "/api/v1/movies/"+alien, nil, nil); code != http.StatusNotFound {
			return fmt.Errorf("deleted movie: %d %v", code, body)
		}
		return nil
	})
}

// idsIn lists, in answer order, the ids among want found in a JSON list.
func idsIn(list any, key string, want ...string) []string {
	keep := map[string]bool{}
	for _, w := range want {
		keep[w] = true
	}
	var out []string
	for _, item := range list.([]any) {
		id, _ := item.(map[string]any)[key].(string)
		if keep[id] {
			out = append(out, id)
		}
	}
	return out
}

// TestOrderPerKey publishes a movie's creation and 40 updates in order; the
// catalog must end with the last one. Any reordering within the key (a
// retry that overtakes, parallel handling of one partition) leaves another
// title or year.
func TestOrderPerKey(t *testing.T) {
	parallel(t)
	in := start(t, testConfig(t))
	movieID := uid("ordered")
	in.mustAccept(http.MethodPost, "/api/v1/movies", map[string]any{"id": movieID, "title": "v0", "year": 1900})
	for i := 1; i <= 40; i++ {
		in.mustAccept(http.MethodPut, "/api/v1/movies/"+movieID, map[string]any{"title": fmt.Sprint("v", i), "year": 1900 + i})
	}
	in.mustAccept(http.MethodPost, "/api/v1/movies/"+movieID+"/views", map[string]any{"userId": "u"})
	in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"views": 1}))
	in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"title": "v40", "year": 1940}))
}
