package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/reelay/reelay/infra/kafka"
	"github.com/reelay/reelay/infra/router"
	"github.com/reelay/reelay/ops"
)

// Admin is what the admin API (/admin/v1) serves. Token is the bearer
// token every admin request must carry; with no token the admin API is
// disabled: every admin route answers 403 admin_disabled, to loopback
// clients too, so that no proxy in front of the instance can open it.
type Admin struct {
	Token       string
	DeadLetters AdminDeadLetters
	Replays     AdminReplays
	Lag         AdminLag
	Topics      AdminTopics
	Flow        AdminFlow
	Recent      AdminRecent
}

// AdminDeadLetters inspects and discards dead letters (ops.DeadLetters).
type AdminDeadLetters interface {
	Summaries(ctx context.Context) ([]ops.GroupSummary, error)
	List(ctx context.Context, group string, q ops.Query) ([]ops.DeadLetter, string, error)
	Get(ctx context.Context, group string, ref ops.RecordRef) (ops.DeadLetter, error)
	Discard(ctx context.Context, group string, f ops.Filter, by, reason string) (int, error)
}

// AdminReplays starts replays and reports their progress (ops.Replays).
type AdminReplays interface {
	Start(ctx context.Context, group string, f ops.Filter, dryRun bool) (ops.Replay, *ops.DryRun, error)
	Get(ctx context.Context, id string) (ops.Replay, error)
}

// AdminLag reports consumer groups' lag (ops.LagMonitor).
type AdminLag interface {
	Lag(ctx context.Context) ([]ops.GroupLag, error)
}

// AdminTopics lists the cluster's topics (kafka.Offsets).
type AdminTopics interface {
	Topics(ctx context.Context) ([]kafka.TopicInfo, error)
}

// AdminFlow reports what went through this instance (ops.FlowMonitor).
type AdminFlow interface {
	Flow() ops.Flow
}

// AdminRecent lists the last events this instance's handlers finished with
// (router.Runner), newest first.
type AdminRecent interface {
	Recent(limit int) []router.HandledEvent
}

// adminRoutes adds the admin API under g.
func (s *Server) adminRoutes(g *echo.Group, a Admin) {
	g.Use(adminAuth(a.Token))
	h := adminHandlers{a}
	g.GET("/deadletters", h.deadLetterSummaries)
	g.GET("/deadletters/:group/records", h.deadLetters)
	g.GET("/deadletters/:group/records/:partition/:offset", h.deadLetter)
	g.POST("/deadletters/:group/replay", h.replay)
	g.POST("/deadletters/:group/discard", h.discard)
	g.GET("/replays/:id", h.replayProgress)
	g.GET("/lag", h.lag)
	g.GET("/topics", h.topics)
	g.GET("/flow", h.flow)
	g.GET("/events/recent", h.recentEvents)
}

type adminHandlers struct{ Admin }

// adminAuth refuses a request without the bearer token (401), and every
// request when no token is configured (403). The comparison takes the same
// time whatever the token sent.
func adminAuth(token string) echo.MiddlewareFunc {
	want := sha256.Sum256([]byte(token))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if token == "" {
				return &apiError{Status: http.StatusForbidden, Code: "admin_disabled",
					Message: "the admin API is disabled: set REELAY_ADMIN_TOKEN or REELAY_ADMIN_TOKEN_FILE"}
			}
			got, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
			sum := sha256.Sum256([]byte(got))
			if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="reelay-admin"`)
				return &apiError{Status: http.StatusUnauthorized, Code: "unauthorized",
					Message: "the admin API needs Authorization: Bearer <REELAY_ADMIN_TOKEN>"}
			}
			return next(c)
		}
	}
}
