package events

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
