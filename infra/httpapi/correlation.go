package httpapi

import (
	"context"
	"regexp"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

const headerCorrelationID = "X-Correlation-ID"

var correlationPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

type correlationKey struct{}

// correlationMiddleware takes X-Correlation-ID from the request, or makes one
// when it is missing or malformed, returns it in the response and puts it in
// the request context, from where published events carry it.
func correlationMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(headerCorrelationID)
		if !correlationPattern.MatchString(id) {
			id = uuid.NewString()
		}
		c.Response().Header().Set(headerCorrelationID, id)
		c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), correlationKey{}, id)))
		return next(c)
	}
}

func correlationID(c echo.Context) string {
	id, _ := c.Request().Context().Value(correlationKey{}).(string)
	return id
}
