// Package httpapi is Reelay's REST API on Echo: routes that turn requests
// into events, and routes that serve the read models. Routes are thin:
// decode, validate, publish or query, answer. Every error is JSON.
package httpapi

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/reelay/reelay/infra/router"
	"github.com/reelay/reelay/infra/telemetry"
	"github.com/reelay/reelay/infra/tracing"
)

const maxBodyBytes = 64 << 10

// Check is one readiness check; nil means healthy.
type Check func(ctx context.Context) error

// Deps are what the routes use.
type Deps struct {
	Publisher  Publisher
	Movies     MovieQueries
	Analytics  AnalyticsQueries
	Deliveries DeliveryQueries
	// Idempotency keeps Idempotency-Key claims and answers for the routes
	// that publish; IdempotencyTTL is how long a key is remembered
	// (DefaultIdempotencyTTL when zero).
	Idempotency    IdempotencyStore
	IdempotencyTTL time.Duration
	// ReadTimeout bounds reading a request, body included (30 s when 0); a
	// body that does not arrive within it is answered 408.
	ReadTimeout time.Duration
	// Ready are the readiness checks by name (broker, database, handlers).
	Ready map[string]Check
	// Stuck lists partitions that can move on neither by applying nor by
	// dead-lettering a record; /readyz shows them. Nil when no consumer runs.
	Stuck   func() []router.StuckPartition
	Metrics *telemetry.Metrics
	Logger  *slog.Logger
	// AccessLog writes one line per request (REELAY_ACCESS_LOG).
	AccessLog bool
	// Admin is the admin API; disabled when its Token is empty.
	Admin Admin
	// TracerProvider traces each /api/v1 request (a server span, continued
	// from the W3C traceparent header); nil or a no-op provider traces
	// nothing, at no cost.
	TracerProvider trace.TracerProvider
	// UI builds the operations page, served under /ui, given the server's
	// own handler, through which the page calls the admin API. Nil serves
	// no page.
	UI func(api http.Handler) http.Handler
}

// Server is the HTTP API.
type Server struct {
	echo        *echo.Echo
	pub         Publisher
	movies      MovieQueries
	analytics   AnalyticsQueries
	deliveries  DeliveryQueries
	ready       map[string]Check
	stuck       func() []router.StuckPartition
	readTimeout time.Duration
	published   *telemetry.Series[[2]string, prometheus.Counter] // by topic and outcome
	logger      *slog.Logger
	srv         *http.Server
	addr        string
	done        chan error
}

// New builds the server and its routes.
func New(d Deps) *Server {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	s := &Server{echo: e, pub: d.Publisher, movies: d.Movies, analytics: d.Analytics, deliveries: d.Deliveries,
		ready: d.Ready, stuck: d.Stuck, readTimeout: cmp.Or(d.ReadTimeout, 30*time.Second), logger: d.Logger,
		published: telemetry.NewSeries(func(k [2]string) prometheus.Counter { return d.Metrics.Published.WithLabelValues(k[0], k[1]) })}
	e.HTTPErrorHandler = errorHandler(d.Logger)
	routes := map[string]bool{} // the route templates, filled once every route is added
	e.Use(correlationMiddleware)
	if tracer := tracing.Tracer(d.TracerProvider, tracerName); tracer != nil {
		e.Use(traceRequests(tracer, propagation.TraceContext{}))
	}
	if d.AccessLog {
		e.Use(accessLog(d.Logger))
	}
	e.Use(
		metricsMiddleware(d.Metrics, routes),
		middleware.RecoverWithConfig(middleware.RecoverConfig{DisableErrorHandler: false}),
		bodyLimit,
	)
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{})))
	e.GET("/openapi.json", serveOpenAPI)

	ttl := d.IdempotencyTTL
	if ttl <= 0 {
		ttl = DefaultIdempotencyTTL
	}
	// Every route that publishes honours Idempotency-Key.
	idem := idempotency{store: d.Idempotency, ttl: ttl, lease: idempotencyLease, logger: d.Logger}.middleware

	api := e.Group("/api/v1")
	api.POST("/movies", s.createMovie, idem)
	api.GET("/movies", s.listMovies)
	api.GET("/movies/:id", s.getMovie)
	api.PUT("/movies/:id", s.updateMovie, idem)
	api.DELETE("/movies/:id", s.deleteMovie, idem)
	api.POST("/movies/:id/views", s.viewMovie, idem)
	api.POST("/users/:id/actions", s.userAction, idem)
	api.GET("/users/:id/notifications", s.userNotifications)
	api.GET("/analytics/movies/:id", s.movieStats)
	api.GET("/analytics/users/:id", s.userStats)
	api.GET("/analytics/top", s.topMovies)
	api.POST("/notifications", s.requestNotification, idem)
	s.adminRoutes(e.Group("/admin/v1"), d.Admin)
	if d.UI != nil {
		page := echo.WrapHandler(d.UI(e))
		e.Any("/ui", page)
		e.Any("/ui/*", page)
	}
	for _, r := range e.Routes() {
		routes[r.Path] = true
	}
	return s
}

// Handler is the server's http.Handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.echo }

// Start listens on addr and serves in the background. It returns the bound
// address (addr may use port 0).
func (s *Server) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	return s.Serve(ln), nil
}

// Serve serves ln in the background and returns its address; Stop closes it.
func (s *Server) Serve(ln net.Listener) string {
	s.srv = &http.Server{Handler: s.echo, ReadHeaderTimeout: min(10*time.Second, s.readTimeout), ReadTimeout: s.readTimeout, WriteTimeout: 60 * time.Second}
	s.done = make(chan error, 1)
	s.addr = ln.Addr().String()
	go func() { s.done <- s.srv.Serve(ln) }()
	return s.addr
}

// Addr is the address Start bound, or "" before Start.
func (s *Server) Addr() string { return s.addr }

// Stop stops accepting connections and waits for requests in flight, until ctx ends.
func (s *Server) Stop(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if serveErr := <-s.done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}

// readyz answers 200 when every check passes, else 503 with the failures.
// Stuck partitions are listed in the body without failing readiness: the
// instance still serves requests, and taking it out of a load balancer would
// not move the partition.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	failing := map[string]string{}
	for name, check := range s.ready {
		if err := check(ctx); err != nil {
			failing[name] = err.Error()
		}
	}
	body := map[string]any{"status": "ready"}
	if s.stuck != nil {
		if stuck := s.stuck(); len(stuck) > 0 {
			body["status"], body["stuck"] = "degraded", stuck
		}
	}
	if len(failing) > 0 {
		body["status"], body["failing"] = "unavailable", failing
		return c.JSON(http.StatusServiceUnavailable, body)
	}
	return c.JSON(http.StatusOK, body)
}

// bodyLimit answers 413 for a body over 64 KiB, declared or streamed.
func bodyLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength > maxBodyBytes {
			return echo.ErrStatusRequestEntityTooLarge
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, maxBodyBytes)
		return next(c)
	}
}
