package test_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"testing"

	"go.uber.org/fx"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/httpapi"
)

// gatedPublisher lets a test hold the next publish until it says so, or fail
// the next ones as an unreachable broker would.
type gatedPublisher struct {
	httpapi.Publisher
	mu      sync.Mutex
	held    chan struct{} // closed to let the held publish go on
	entered chan struct{} // closed when the held publish has begun
	fail    int           // publishes still to fail
}

// hold makes the next publish wait until release is called.
func (g *gatedPublisher) hold() (entered <-chan struct{}, release func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	held, in := make(chan struct{}), make(chan struct{})
	g.held, g.entered = held, in
	var once sync.Once
	return in, func() { once.Do(func() { close(held) }) }
}

func (g *gatedPublisher) failNext(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.fail = n
}

func (g *gatedPublisher) Publish(ctx context.Context, topic string, e events.Envelope) error {
	g.mu.Lock()
	held, entered := g.held, g.entered
	g.held, g.entered = nil, nil
	fail := g.fail > 0
	if fail {
		g.fail--
	}
	g.mu.Unlock()
	if held != nil {
		close(entered)
		<-held
	}
	if fail {
		return errors.New("broker unreachable (test)")
	}
	return g.Publisher.Publish(ctx, topic, e)
}

// TestIdempotencyKey checks Idempotency-Key against the IETF draft on every
// kind of publishing route: a key reused with another body is refused, a
// retry gets the first answer and publishes nothing more, a retry while the
// first runs is told so, and failures leave the key usable.
func TestIdempotencyKey(t *testing.T) {
	parallel(t)
	gate := &gatedPublisher{}
	in := start(t, testConfig(t), fx.Decorate(func(p httpapi.Publisher) httpapi.Publisher {
		gate.Publisher = p
		return gate
	}))
	post := func(method, path string, body any, key string) (int, map[string]any) {
		t.Helper()
		code, out := in.do(method, path, body, map[string]string{"Idempotency-Key": key})
		m, _ := out.(map[string]any)
		return code, m
	}
	errorCode := func(body map[string]any) any {
		e, _ := body["error"].(map[string]any)
		return e["code"]
	}
	records := func(topic, key string) int { return len(in.readTopic(topic, key)) }
	deliveries := func(user string, want int) {
		t.Helper()
		eventually(t, wait, func() error {
			v, err := in.getJSON("/api/v1/users/" + user + "/notifications")
			if err != nil {
				return err
			}
			if n := len(v.([]any)); n != want {
				return fmt.Errorf("%s has %d deliveries, want %d", user, n, want)
			}
			return nil
		})
	}

	t.Run("reused with another body is 422", func(t *testing.T) {
		key := uid("key")
		users := []string{uid("u1"), uid("u2"), uid("u3")}
		for i, u := range users {
			code, body := post(http.MethodPost, "/api/v1/notifications",
				map[string]any{"userId": u, "channel": "email", "body": "hello"}, key)
			switch {
			case i == 0 && code != http.StatusAccepted:
				t.Fatalf("first: %d %v", code, body)
			case i > 0 && (code != http.StatusUnprocessableEntity || errorCode(body) != "idempotency_key_reused"):
				t.Fatalf("reuse %d: %d %v, want 422 idempotency_key_reused", i, code, body)
			}
		}
		topic := events.NotificationTopic(events.ChannelEmail)
		for i, u := range users {
			want := 0
			if i == 0 {
				want = 1
			}
			if n := records(topic, u); n != want {
				t.Fatalf("%s: %d events published, want %d", u, n, want)
			}
		}
		deliveries(users[0], 1)
	})

	t.Run("same body gets the first answer", func(t *testing.T) {
		key, user := uid("key"), uid("u")
		req := map[string]any{"userId": user, "channel": "push", "subject": "s", "body": "hello"}
		code1, first := post(http.MethodPost, "/api/v1/notifications", req, key)
		code2, again := post(http.MethodPost, "/api/v1/notifications", req, key)
		if code1 != http.StatusAccepted || code2 != http.StatusAccepted || !reflect.DeepEqual(first, again) || first["eventId"] == nil {
			t.Fatalf("answers %d %v and %d %v, want the same 202 twice", code1, first, code2, again)
		}
		if n := records(events.NotificationTopic(events.ChannelPush), user); n != 1 {
			t.Fatalf("%d events published, want 1", n)
		}
		deliveries(user, 1)
	})

	t.Run("movies: same body replays, another body is 422", func(t *testing.T) {
		key := uid("key")
		code1, first := post(http.MethodPost, "/api/v1/movies", map[string]any{"title": "Heat"}, key)
		code2, again := post(http.MethodPost, "/api/v1/movies", map[string]any{"title": "Heat"}, key)
		if code1 != http.StatusAccepted || code2 != http.StatusAccepted || !reflect.DeepEqual(first, again) || first["movieId"] == nil {
			t.Fatalf("answers %d %v and %d %v, want the same 202 twice", code1, first, code2, again)
		}
		movieID := first["movieId"].(string)
		code, body := post(http.MethodPost, "/api/v1/movies", map[string]any{"title": "Alien"}, key)
		if code != http.StatusUnprocessableEntity || errorCode(body) != "idempotency_key_reused" {
			t.Fatalf("another title: %d %v, want 422 idempotency_key_reused", code, body)
		}
		if n := records(events.TopicMovieEvents, movieID); n != 1 {
			t.Fatalf("%d events published, want 1", n)
		}
		in.waitFor("/api/v1/movies/"+movieID, fields(map[string]any{"title": "Heat"}))
	})

	t.Run("in flight is 409", func(t *testing.T) {
		key, movie := uid("key"), uid("m")
		path := "/api/v1/movies/" + movie + "/views"
		view := map[string]any{"userId": "u1"}
		entered, release := gate.hold()
		defer release()
		type answer struct {
			code int
			body any
		}
		firstDone := make(chan answer, 1)
		go func() {
			code, body := in.do(http.MethodPost, path, view, map[string]string{"Idempotency-Key": key})
			firstDone <- answer{code, body}
		}()
		<-entered
		if code, body := post(http.MethodPost, path, view, key); code != http.StatusConflict || errorCode(body) != "idempotency_key_in_flight" {
			t.Fatalf("retry in flight: %d %v, want 409 idempotency_key_in_flight", code, body)
		}
		if code, body := post(http.MethodPost, path, map[string]any{"userId": "u2"}, key); code != http.StatusUnprocessableEntity {
			t.Fatalf("another body in flight: %d %v, want 422", code, body)
		}
		release()
		first := <-firstDone
		if first.code != http.StatusAccepted {
			t.Fatalf("first: %d %v", first.code, first.body)
		}
		if code, body := post(http.MethodPost, path, view, key); code != http.StatusAccepted || !reflect.DeepEqual(any(body), first.body) {
			t.Fatalf("retry after: %d %v, want the first answer %v", code, body, first.body)
		}
		if n := records(events.TopicMovieViews, movie); n != 1 {
			t.Fatalf("%d events published, want 1", n)
		}
	})

	t.Run("a 503 releases the key for a retry", func(t *testing.T) {
		key, movie := uid("key"), uid("m")
		path := "/api/v1/movies/" + movie + "/views"
		view := map[string]any{"userId": "u1", "watchedSeconds": 5}
		gate.failNext(1)
		if code, body := post(http.MethodPost, path, view, key); code != http.StatusServiceUnavailable {
			t.Fatalf("broker down: %d %v, want 503", code, body)
		}
		if code, body := post(http.MethodPost, path, map[string]any{"userId": "u2"}, key); code != http.StatusUnprocessableEntity {
			t.Fatalf("another body after a 503: %d %v, want 422", code, body)
		}
		if code, body := post(http.MethodPost, path, view, key); code != http.StatusAccepted {
			t.Fatalf("retry: %d %v, want 202", code, body)
		}
		if n := records(events.TopicMovieViews, movie); n != 1 {
			t.Fatalf("%d events published, want 1", n)
		}
		in.waitFor("/api/v1/movies/"+movie, fields(map[string]any{"views": 1}))
	})

	t.Run("a 400 leaves the key free", func(t *testing.T) {
		key, user := uid("key"), uid("u")
		code, body := post(http.MethodPost, "/api/v1/users/"+user+"/actions", map[string]any{"type": "rate", "movieId": "m", "rating": 9}, key)
		if code != http.StatusBadRequest {
			t.Fatalf("invalid rating: %d %v, want 400", code, body)
		}
		if code, body := post(http.MethodPost, "/api/v1/users/"+user+"/actions", map[string]any{"type": "rate", "movieId": "m", "rating": 4}, key); code != http.StatusAccepted {
			t.Fatalf("corrected body, same key: %d %v, want 202", code, body)
		}
	})
}
