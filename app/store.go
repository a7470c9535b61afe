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

func openDB(lc fx.Lifecycle, cfg config.Config) (*sqlstore.DB, error) {
	db, err := sqlstore.Open(context.Background(), cfg.DatabaseURL)
	if err != nil {
		if cfg.Postgres() {
			return nil, fmt.Errorf("%w (check %s)", err, config.EnvDatabaseURL)
		}
		return nil, fmt.Errorf("%w (check %s or %s)", err, config.EnvDataDir, config.EnvDatabaseURL)
	}
	lc.Append(fx.StopHook(db.Close))
	return db, nil
}
