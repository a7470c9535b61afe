package test_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"go.uber.org/fx"

	"github.com/reelay/reelay/app"
	"github.com/reelay/reelay/events"
)

// movieRated is the data of a new event type, as the README's walkthrough
// writes it: it validates itself with the shared rules.
type movieRated struct {
	MovieID string `json:"movieId"`
	Stars   int    `json:"stars"`
}

func (r movieRated) Validate() error {
	if err := events.CheckID("movieId", r.MovieID, true); err != nil {
		return err
	}
	if r.Stars < 1 || r.Stars > 5 {
		return events.Invalid("stars", "stars must be 1 to 5")
	}
	return nil
}

// TestAddingAConsumerTheDocumentedWay adds a consumer group the way the
// README says: a constructor returning an events.Consumer with an On[T]
// route, registered with app.AsConsumer and nothing else. With the default
// REELAY_CONSUMER_GROUPS it runs, its dead-letter topic exists, a valid
// event reaches the route once (a redelivered copy is dropped by the
// inbox), and an invalid one is dead-lettered to its own topic.
func TestAddingAConsumerTheDocumentedWay(t *testing.T) {
	parallel(t)
	var (
		mu    sync.Mutex
		rated []movieRated
	)
	newRatings := func() events.Consumer {
		return events.Consumer{
			Name: "ratings", Group: "ratings-group", Topics: []string{events.TopicMovieEvents}, SideEffects: true,
			Routes: []events.Route{events.On("movie.rated", func(_ context.Context, _ events.Envelope, r movieRated) error {
				mu.Lock()
				defer mu.Unlock()
				rated = append(rated, r)
				return nil
			})},
		}
	}
	in := start(t, testConfig(t), fx.Provide(app.AsConsumer(newRatings)))
	movie := uid("rated")
	send := func(id string, data movieRated) {
		raw, err := json.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		in.produce(events.TopicMovieEvents, movie, raw, map[string]string{
			events.HeaderSpecVersion: events.SpecVersion, events.HeaderID: id, events.HeaderSource: "test",
			events.HeaderType: "movie.rated", events.HeaderContentType: events.ContentTypeJSON,
		})
	}
	send("r1", movieRated{MovieID: movie, Stars: 4})
	send("r1", movieRated{MovieID: movie, Stars: 4}) // the same event again
	send("r2", movieRated{MovieID: movie, Stars: 9}) // invalid
	send("r3", movieRated{MovieID: movie, Stars: 2})
	eventually(t, wait, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(rated) != 2 || rated[0].Stars != 4 || rated[1].Stars != 2 {
			return fmt.Errorf("rated %v, want stars 4 then 2", rated)
		}
		return nil
	})
	eventually(t, wait, func() error {
		dead := in.readTopic(events.DeadLetterTopic("ratings-group"), movie)
		if len(dead) != 1 || string(dead[0].Value) != `{"movieId":"`+movie+`","stars":9}` {
			return fmt.Errorf("%d dead letters", len(dead))
		}
		return nil
	})
	if code, body := in.do(http.MethodGet, "/readyz", nil, nil); code != http.StatusOK {
		t.Fatalf("readyz %d %v", code, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(rated) != 2 {
		t.Fatalf("rated %v after the dead letter, want 2", rated)
	}
}
