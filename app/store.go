package app

import (
	"context"
	"fmt"

	"go.uber.org/fx"

	"github.com/reelay/reelay/config"
	"github.com/reelay/reelay/handlers/analytics"
	"github.com/reelay/reelay/handlers/movie"
	"github.com/reelay/reelay/handlers/notification"
	"github.com/reelay/reelay/infra/httpapi"
	"github.com/reelay/reelay/infra/router"
	"github.com/reelay/reelay/infra/sqlstore"
)

// StoreModule opens the database (SQLite or PostgreSQL by URL), applies the
// migrations, and supplies each handler's store and each route's queries.
var StoreModule = fx.Module("store",
	fx.Provide(
		fx.Annotate(openDB, fx.As(fx.Self()), fx.As(new(router.Inbox))),
		fx.Annotate(sqlstore.NewMovies, fx.As(new(movie.Store)), fx.As(new(httpapi.MovieQueries))),
		fx.Annotate(sqlstore.NewAnalytics, fx.As(new(analytics.Store)), fx.As(new(httpapi.AnalyticsQueries))),
		fx.Annotate(sqlstore.NewDeliveries, fx.As(new(notification.Store)), fx.As(new(httpapi.DeliveryQueries))),
	),
)

// openDB prepares the database; its start hook connects and applies the
// migrations (within fx's start timeout), its stop hook closes it.
func openDB(lc fx.Lifecycle, cfg config.Config) (*sqlstore.DB, error) {
	hint := func(err error) error {
		if cfg.Postgres() {
			return fmt.Errorf("%w (check %s)", err, config.EnvDatabaseURL)
		}
		return fmt.Errorf("%w (check %s or %s)", err, config.EnvDataDir, config.EnvDatabaseURL)
	}
	db, err := sqlstore.New(cfg.DatabaseURL)
	if err != nil {
		return nil, hint(err)
	}
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if err := db.Start(ctx); err != nil {
				return hint(err)
			}
			return nil
		},
		OnStop: func(context.Context) error { return db.Close() },
	})
	return db, nil
}
