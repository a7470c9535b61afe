package app_test

import (
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/fx"

	"github.com/reelay/reelay/app"
	"github.com/reelay/reelay/config"
	"github.com/reelay/reelay/events"
)

// TestGraphIsComplete checks, without running a constructor, that every
// dependency of the application's graph is provided, for the default
// configuration and for one that runs no consumer group.
func TestGraphIsComplete(t *testing.T) {
	t.Parallel()
	for _, groups := range []string{"", config.GroupsNone} {
		cfg, err := config.Load(func(k string) string {
			if k == config.EnvConsumerGroups {
				return groups
			}
			return ""
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := fx.ValidateApp(app.Options(cfg)); err != nil {
			t.Fatalf("groups %q: %v", groups, err)
		}
	}
}

// TestTwoConsumersCannotShareAGroup: a consumer registered for a group that
// another consumer has stops the app being built, with one line naming the
// group: the two would share its inbox, dead letters and replays.
func TestTwoConsumersCannotShareAGroup(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = filepath.Join(cfg.DataDir, "reelay.db")
	cfg.EmbeddedKafkaAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	second := func() events.Consumer {
		return events.Consumer{Name: "second", Group: events.GroupMovie, Topics: []string{events.TopicMovieViews}}
	}
	a := fx.New(app.Options(cfg, fx.Provide(app.AsConsumer(second)), fx.NopLogger))
	err = a.Err()
	if err == nil || !strings.Contains(app.Cause(err), `two consumers register the consumer group "movie-group"`) {
		t.Fatalf("built with two consumers in movie-group: %v", err)
	}
}
