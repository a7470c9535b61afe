package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/reelay/reelay/events"
)

func (h adminHandlers) lag(c echo.Context) error {
	groups, err := h.Lag.Lag(c.Request().Context())
	if err != nil {
		return &apiError{Status: http.StatusServiceUnavailable, Code: "broker_unavailable", Message: "consumer group offsets could not be read"}
	}
	return c.JSON(http.StatusOK, map[string]any{"groups": groups})
}

type topicResponse struct {
	Name              string `json:"name"`
	Partitions        int    `json:"partitions"`
	ReplicationFactor int    `json:"replicationFactor"`
	Kind              string `json:"kind"`
}

func (h adminHandlers) topics(c echo.Context) error {
	ts, err := h.Topics.Topics(c.Request().Context())
	if err != nil {
		return &apiError{Status: http.StatusServiceUnavailable, Code: "broker_unavailable", Message: "topics could not be listed"}
	}
	out := make([]topicResponse, len(ts))
	for i, t := range ts {
		kind := "events"
		switch {
		case events.IsDeadLetterTopic(t.Name):
			kind = "deadletters"
		case events.IsReplayTopic(t.Name):
			kind = "replay"
		}
		out[i] = topicResponse{Name: t.Name, Partitions: t.Partitions, ReplicationFactor: t.ReplicationFactor, Kind: kind}
	}
	return c.JSON(http.StatusOK, map[string]any{"topics": out})
}
