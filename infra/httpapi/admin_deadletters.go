package httpapi

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/reelay/reelay/ops"
)

func (h adminHandlers) deadLetterSummaries(c echo.Context) error {
	groups, err := h.DeadLetters.Summaries(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"groups": groups})
}

func (h adminHandlers) deadLetters(c echo.Context) error {
	q := ops.Query{Status: c.QueryParam("status"), Handler: c.QueryParam("handler"), Key: c.QueryParam("key"), Error: c.QueryParam("error")}
	if raw := c.QueryParam("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > ops.MaxPage {
			return invalid("limit", "limit must be 1 to %d", ops.MaxPage)
		}
		q.Limit = n
	}
	if raw := c.QueryParam("cursor"); raw != "" {
		cur, err := ops.DecodeCursor(raw)
		if err != nil {
			return invalid("cursor", "cursor is not one this API gave")
		}
		q.After = cur
	}
	page, next, err := h.DeadLetters.List(c.Request().Context(), c.Param("group"), q)
	if err != nil {
		return err
	}
	body := map[string]any{"records": page}
	if next != "" {
		body["next"] = next
	}
	return c.JSON(http.StatusOK, body)
}

func (h adminHandlers) deadLetter(c echo.Context) error {
	partition, err := strconv.ParseInt(c.Param("partition"), 10, 32)
	if err != nil || partition < 0 {
		return invalid("partition", "partition must be a partition number")
	}
	offset, err := strconv.ParseInt(c.Param("offset"), 10, 64)
	if err != nil || offset < 0 {
		return invalid("offset", "offset must be an offset")
	}
	d, err := h.DeadLetters.Get(c.Request().Context(), c.Param("group"), ops.RecordRef{Partition: int32(partition), Offset: offset})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d.Full())
}

type discardRequest struct {
	Filter ops.Filter `json:"filter"`
	Reason string     `json:"reason"`
	By     string     `json:"by"`
}

func (h adminHandlers) discard(c echo.Context) error {
	var req discardRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	n, err := h.DeadLetters.Discard(c.Request().Context(), c.Param("group"), req.Filter, req.By, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int{"discarded": n})
}
