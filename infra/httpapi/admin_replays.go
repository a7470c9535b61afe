package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/reelay/reelay/ops"
)

type replayRequest struct {
	Filter ops.Filter `json:"filter"`
	DryRun bool       `json:"dryRun"`
}

// replay starts a replay (202 with its progress) or, with dryRun, lists
// what it would send (200).
func (h adminHandlers) replay(c echo.Context) error {
	var req replayRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	r, dry, err := h.Replays.Start(c.Request().Context(), c.Param("group"), req.Filter, req.DryRun)
	if err != nil {
		return err
	}
	if dry != nil {
		return c.JSON(http.StatusOK, dry)
	}
	return c.JSON(http.StatusAccepted, map[string]ops.Replay{"replay": r})
}

func (h adminHandlers) replayProgress(c echo.Context) error {
	r, err := h.Replays.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}
