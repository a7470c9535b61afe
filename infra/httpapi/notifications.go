package httpapi

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/handlers/notification"
)

// DeliveryQueries reads notification deliveries.
type DeliveryQueries interface {
	// UserDeliveries lists a user's latest deliveries, newest first, at most limit.
	UserDeliveries(ctx context.Context, userID string, limit int) ([]notification.Delivery, error)
}

type notificationRequest struct {
	UserID  string `json:"userId"`
	Channel string `json:"channel"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

type deliveryResponse struct {
	NotificationID string    `json:"notificationId"`
	Channel        string    `json:"channel"`
	Subject        string    `json:"subject"`
	Status         string    `json:"status"`
	Attempts       int       `json:"attempts"`
	Error          string    `json:"error,omitempty"`
	RequestedAt    time.Time `json:"requestedAt"`
	FirstAttemptAt time.Time `json:"firstAttemptAt"`
	LastAttemptAt  time.Time `json:"lastAttemptAt"`
}

// requestNotification: POST /notifications → notification.requested on notification-<channel>.
func (s *Server) requestNotification(c echo.Context) error {
	var req notificationRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if !slices.Contains([]string{events.ChannelEmail, events.ChannelPush, events.ChannelSMS}, req.Channel) {
		return invalid("channel", "channel must be email, push or sms")
	}
	data := events.NotificationRequested{UserID: req.UserID, Channel: req.Channel, Subject: req.Subject, Body: req.Body}
	if err := data.Validate(); err != nil {
		return err
	}
	id, err := derivedID(c, "notification")
	if err != nil {
		return err
	}
	data.NotificationID = id
	eventID, err := s.publish(c, events.NotificationTopic(req.Channel), events.TypeNotificationRequested, req.UserID, data)
	if err != nil {
		return err
	}
	// The notification id is what GET /users/{id}/notifications lists it under.
	return c.JSON(http.StatusAccepted, acceptedBody{EventID: eventID, NotificationID: id})
}

// userNotifications: GET /users/{id}/notifications?limit=N, newest first.
func (s *Server) userNotifications(c echo.Context) error {
	userID, err := pathID(c, "id")
	if err != nil {
		return err
	}
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	ds, err := s.deliveries.UserDeliveries(c.Request().Context(), userID, limit)
	if err != nil {
		return err
	}
	out := make([]deliveryResponse, len(ds))
	for i, d := range ds {
		out[i] = deliveryResponse{NotificationID: d.ID, Channel: d.Channel, Subject: d.Subject, Status: d.Status,
			Attempts: d.Attempts, Error: d.Error, RequestedAt: d.RequestedAt, FirstAttemptAt: d.FirstAttemptAt, LastAttemptAt: d.LastAttemptAt}
	}
	return c.JSON(http.StatusOK, out)
}
