package httpapi

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/reelay/reelay/infra/router"
)

// defaultRecentEvents is how many events /admin/v1/events/recent lists
// without a limit.
const defaultRecentEvents = 50

// flow answers this instance's flow: totals and rates per second.
func (h adminHandlers) flow(c echo.Context) error {
	return c.JSON(http.StatusOK, h.Flow.Flow())
}

// recentEvents answers the last events this instance's handlers finished
// with, newest first.
func (h adminHandlers) recentEvents(c echo.Context) error {
	limit := defaultRecentEvents
	if raw := c.QueryParam("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > router.RecentCapacity {
			return invalid("limit", "limit must be 1 to %d", router.RecentCapacity)
		}
		limit = n
	}
	return c.JSON(http.StatusOK, map[string]any{"capacity": router.RecentCapacity, "events": h.Recent.Recent(limit)})
}
