package events

// DLQHeaderPrefix starts the name of every header below. Reelay writes them
// only on dead-letter records and drops them from every record it consumes:
// its own metadata never comes from the input.
const DLQHeaderPrefix = "dlq_"

// Headers a dead-lettered record carries besides its original headers. Its
// value is the original value, byte for byte, and its key the original key.
const (
	DLQOriginalTopic = "dlq_original_topic"
	DLQPartition     = "dlq_partition"
	DLQOffset        = "dlq_offset"
	DLQKey           = "dlq_key"
	DLQTimestamp     = "dlq_timestamp"
	DLQGroup         = "dlq_consumer_group"
	DLQHandler       = "dlq_handler"
	DLQError         = "dlq_error"
	DLQAttempts      = "dlq_attempts"
	DLQFirstFailure  = "dlq_first_failure"
	DLQLastFailure   = "dlq_last_failure"
)

// Headers of a dead-lettered record too large to copy whole: its value (and
// key, and original headers) are cut to fit, and these say so.
const (
	// DLQTruncated is "true" on a truncated copy.
	DLQTruncated = "dlq_truncated"
	// DLQOriginalSize is the original value's size in bytes.
	DLQOriginalSize = "dlq_original_size"
	// DLQOriginalSHA256 is the hex SHA-256 of the original value.
	DLQOriginalSHA256 = "dlq_original_sha256"
	// DLQHeadersDropped counts original headers left out of the copy.
	DLQHeadersDropped = "dlq_headers_dropped"
)

// DLQErrorClass says why a record was dead-lettered, for operators to group
// and filter dead letters: one of the ErrorClass values.
const DLQErrorClass = "dlq_error_class"

// Error classes of a dead letter.
const (
	// ErrorClassMalformed: the record is not an event Reelay can read (not a
	// CloudEvent, data that does not decode).
	ErrorClassMalformed = "malformed"
	// ErrorClassInvalid: the event's data breaks a rule (events.FieldError).
	ErrorClassInvalid = "invalid"
	// ErrorClassPermanent: the handler said retrying cannot help.
	ErrorClassPermanent = "permanent"
	// ErrorClassPanic: the handler panicked on every attempt.
	ErrorClassPanic = "panic"
	// ErrorClassTransient: a transient error outlasted the retries.
	ErrorClassTransient = "transient"
)

// ReplayHeaderPrefix starts the headers a replayed record carries on its
// group's replay topic (ReplayTopic). Reelay writes them only there and
// drops them from records of every other topic.
const ReplayHeaderPrefix = "reelay_replay_"

// Headers of a replayed record: which replay sent it, how many times the
// event has been replayed, and where it first failed, so that a record that
// fails again is dead-lettered with its original position and handler.
const (
	ReplayID          = "reelay_replay_id"
	ReplayCount       = "reelay_replay_count"
	ReplayOfTopic     = "reelay_replay_of_topic"
	ReplayOfPartition = "reelay_replay_of_partition"
	ReplayOfOffset    = "reelay_replay_of_offset"
	ReplayOfTimestamp = "reelay_replay_of_timestamp"
	ReplayOfHandler   = "reelay_replay_of_handler"
)
