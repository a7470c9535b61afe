package httpapi

import (
	"regexp"
	"strconv"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// pathID returns the path parameter name if it is a valid id.
func pathID(c echo.Context, name string) (string, error) {
	id := c.Param(name)
	if !idPattern.MatchString(id) {
		return "", invalid(name, "%s must match [A-Za-z0-9_-]{1,64}", name)
	}
	return id, nil
}

func checkID(field, id string, required bool) error {
	if id == "" && !required {
		return nil
	}
	if !idPattern.MatchString(id) {
		if id == "" {
			return invalid(field, "%s is required", field)
		}
		return invalid(field, "%s must match [A-Za-z0-9_-]{1,64}", field)
	}
	return nil
}

func checkText(field, s string, lo, hi int) error {
	n := utf8.RuneCountInString(s)
	if n < lo || n > hi {
		if n == 0 {
			return invalid(field, "%s is required", field)
		}
		return invalid(field, "%s must be %d to %d characters", field, lo, hi)
	}
	return nil
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

func checkGenres(genres []string) error {
	if len(genres) > 20 {
		return invalid("genres", "at most 20 genres")
	}
	for _, g := range genres {
		if err := checkText("genres", g, 1, 50); err != nil {
			return invalid("genres", "each genre must be 1 to 50 characters")
		}
	}
	return nil
}

func checkYear(year *int) error {
	if year != nil && (*year < 1870 || *year > 2100) {
		return invalid("year", "year must be from 1870 to 2100")
	}
	return nil
}
