package httpapi

import (
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/reelay/reelay/events"
)

// pathID returns the path parameter name if it is a valid id
// ([A-Za-z0-9_-]{1,64}, the rule events apply to every id).
func pathID(c echo.Context, name string) (string, error) {
	id := c.Param(name)
	if err := events.CheckID(name, id, true); err != nil {
		return "", invalid(name, "%s must match [A-Za-z0-9_-]{1,%d}", name, events.MaxIDLength)
	}
	return id, nil
}

// limitParam reads ?limit=, 1 to 100, default 20.
func limitParam(c echo.Context) (int, error) {
	raw := c.QueryParam("limit")
	if raw == "" {
		return 20, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 100 {
		return 0, invalid("limit", "limit must be an integer from 1 to 100")
	}
	return n, nil
}
