package events

// TypeNotificationRequested is the event type on every notification topic.
const TypeNotificationRequested = "notification.requested"

// NotificationRequested is the data of notification.requested.
type NotificationRequested struct {
	NotificationID string `json:"notificationId,omitempty"`
	UserID         string `json:"userId"`
	Channel        string `json:"channel"`
	Subject        string `json:"subject,omitempty"`
	Body           string `json:"body"`
}

// Validate reports a missing required field.
func (e NotificationRequested) Validate() error {
	switch {
	case e.UserID == "":
		return Malformed("userId is required")
	case e.Channel == "":
		return Malformed("channel is required")
	case e.Body == "":
		return Malformed("body is required")
	}
	return nil
}
