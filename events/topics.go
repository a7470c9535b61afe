package events

import "strings"

// Topics. A topic name is part of the contract with every producer: never
// rename one casually.
const (
	// TopicMovieEvents carries movie.created, movie.updated and movie.deleted,
	// keyed by movie id.
	TopicMovieEvents = "movie-events"
	// TopicMovieViews carries movie.viewed, keyed by movie id.
	TopicMovieViews = "movie-views"
	// TopicUserActions carries user.action, keyed by user id.
	TopicUserActions = "user-actions"
	// NotificationTopicPrefix starts every notification topic:
	// notification-<channel>, keyed by user id.
	NotificationTopicPrefix = "notification-"
)

// Notification channels the HTTP API accepts. Other producers may use any
// channel; its topic is NotificationTopic(channel).
const (
	ChannelEmail = "email"
	ChannelPush  = "push"
	ChannelSMS   = "sms"
)

// Consumer groups. Renaming a group makes Kafka treat it as new: it would
// re-consume every topic from the oldest offset.
const (
	GroupMovie        = "movie-group"
	GroupAnalytics    = "analytics-group"
	GroupNotification = "notif-group"
)

// NotificationTopic is the topic of a notification channel.
func NotificationTopic(channel string) string { return NotificationTopicPrefix + channel }

// ChannelOf returns the channel of a notification topic, or false when the
// topic is not one.
func ChannelOf(topic string) (string, bool) {
	ch, ok := strings.CutPrefix(topic, NotificationTopicPrefix)
	if !ok || ch == "" || IsDeadLetterTopic(topic) || IsReplayTopic(topic) {
		return "", false
	}
	return ch, true
}

// DeadLetterTopic is the dead-letter topic of a consumer group.
func DeadLetterTopic(group string) string { return group + deadLetterSuffix }

const deadLetterSuffix = ".dlq"

// GroupOfDeadLetterTopic is the consumer group whose dead-letter topic
// topic is.
func GroupOfDeadLetterTopic(topic string) string { return strings.TrimSuffix(topic, deadLetterSuffix) }

// IsDeadLetterTopic reports whether topic is a dead-letter topic.
func IsDeadLetterTopic(topic string) bool { return strings.HasSuffix(topic, deadLetterSuffix) }

// PublishedTopics lists the topics the HTTP API publishes to: the fixed
// ones and one per notification channel. Reelay creates them at start,
// with each registered consumer group's dead-letter topic.
func PublishedTopics() []string {
	ts := []string{TopicMovieEvents, TopicMovieViews, TopicUserActions}
	for _, ch := range []string{ChannelEmail, ChannelPush, ChannelSMS} {
		ts = append(ts, NotificationTopic(ch))
	}
	return ts
}

// ReplayTopic is the topic dead letters of a consumer group are replayed
// to. Only that group subscribes to it, so a replay reaches the group whose
// handler failed and no other group that reads the original topic.
func ReplayTopic(group string) string { return group + replaySuffix }

const replaySuffix = ".replay"

// IsReplayTopic reports whether topic is a replay topic.
func IsReplayTopic(topic string) bool { return strings.HasSuffix(topic, replaySuffix) }
