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

// Validate applies the bounds of rules.go.
func (e NotificationRequested) Validate() error {
	return firstError(CheckID("notificationId", e.NotificationID, false), CheckID("userId", e.UserID, true),
		CheckChannel(e.Channel), CheckText("subject", e.Subject, 0, MaxSubjectLength, false),
		CheckText("body", e.Body, 1, MaxBodyLength, true))
}
