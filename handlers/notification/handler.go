// Package notification delivers requested notifications through a notifier
// chosen by channel and records each delivery (consumer group notif-group,
// every notification-* topic).
package notification

import (
	"context"
	"time"

	"github.com/reelay/reelay/events"
)

// Message is what a notifier delivers.
type Message struct {
	// ID is the notification id: the producer's notificationId, else the
	// event's dedup id (unique across sources, unlike the event id).
	// Notifiers pass it on so that receivers can drop a repeated delivery.
	ID      string
	UserID  string
	Channel string
	Subject string
	Body    string
}

// Notifier delivers a message. It retries on its own and reports how many
// attempts it made; a non-nil error means every attempt failed.
type Notifier interface {
	Notify(ctx context.Context, m Message) (attempts int, err error)
}

// Notifiers selects a notifier by channel; a channel without a route uses Default.
type Notifiers struct {
	Default   Notifier
	ByChannel map[string]Notifier
}

// For returns the notifier of channel, or Default when the channel has no route.
func (n Notifiers) For(channel string) Notifier {
	if r, ok := n.ByChannel[channel]; ok {
		return r
	}
	return n.Default
}

// Status of a delivery.
const (
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// Delivery is the record of one notification's delivery.
type Delivery struct {
	Message
	Status         string
	Attempts       int
	Error          string
	RequestedAt    time.Time
	FirstAttemptAt time.Time
	LastAttemptAt  time.Time
}

// Store records deliveries. A handler calls it inside the event's inbox
// transaction.
type Store interface {
	RecordDelivery(ctx context.Context, d Delivery) error
}

// Handler delivers notifications and records the outcome.
type Handler struct {
	store     Store
	notifiers Notifiers
	now       func() time.Time
}

// New returns the notif-group consumer. It names the topics of the HTTP
// API's channels, so that they are always consumed, and follows every other
// notification-* topic by pattern (up to the pattern cap).
func New(store Store, notifiers Notifiers) events.Consumer {
	h := Handler{store: store, notifiers: notifiers, now: time.Now}
	return events.Consumer{
		Name:  "notification",
		Group: events.GroupNotification,
		Topics: []string{events.NotificationTopic(events.ChannelEmail), events.NotificationTopic(events.ChannelPush),
			events.NotificationTopic(events.ChannelSMS)},
		TopicPrefix: events.NotificationTopicPrefix,
		SideEffects: true, // the notifier is called before the delivery is recorded
		Routes: []events.Route{
			events.On(events.TypeNotificationRequested, h.requested),
		},
	}
}
