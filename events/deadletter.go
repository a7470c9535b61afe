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
