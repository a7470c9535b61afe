package app_test

import (
	"testing"

	"go.uber.org/fx"

	"github.com/reelay/reelay/app"
	"github.com/reelay/reelay/config"
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
