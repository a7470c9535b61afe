package router

import (
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
)

// maxErrorText bounds the error text a dead-letter record carries: a
// database error may quote the input.
const maxErrorText = 2048

// failureRecord writes, when the handler finally fails, where the record came
// from and why it failed (its error and error class) into the metadata the
// dead-letter record carries. A replayed record (see events.ReplayTopic)
// keeps the position and handler of its first failure.
// A failure while the router closes is marked errShuttingDown instead: the
// record must be redelivered, not dead-lettered.
func failureRecord(group, handler string) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if err == nil {
				return out, nil
			}
			ctx := msg.Context()
			if ctx.Err() != nil {
				return nil, errors.Join(errShuttingDown, err)
			}
			md := msg.Metadata
			md.Set(events.DLQGroup, group)
			md.Set(events.DLQHandler, handler)
			md.Set(events.DLQError, cut(err.Error(), maxErrorText))
			md.Set(events.DLQErrorClass, errorClass(err))
			md.Set(events.DLQOriginalTopic, message.SubscribeTopicFromCtx(ctx)) // a pattern, unless the record says
			if rec, ok := kafka.RecordFromContext(ctx); ok {
				md.Set(events.DLQOriginalTopic, rec.Topic)
				md.Set(events.DLQPartition, strconv.Itoa(int(rec.Partition)))
				md.Set(events.DLQOffset, strconv.FormatInt(rec.Offset, 10))
				md.Set(events.DLQTimestamp, rec.Timestamp.UTC().Format(time.RFC3339Nano))
				if rec.Key != nil {
					md.Set(events.DLQKey, string(rec.Key))
					md.Set(kafka.MetadataKey, string(rec.Key))
				}
			}
			if of := md.Get(events.ReplayOfTopic); of != "" { // a replay failed again: where it first failed
				md.Set(events.DLQOriginalTopic, of)
				md.Set(events.DLQPartition, md.Get(events.ReplayOfPartition))
				md.Set(events.DLQOffset, md.Get(events.ReplayOfOffset))
				md.Set(events.DLQTimestamp, md.Get(events.ReplayOfTimestamp))
				if h := md.Get(events.ReplayOfHandler); h != "" {
					md.Set(events.DLQHandler, h)
				}
			}
			return out, err
		}
	}
}

// errorClass sorts a final failure into one of the events.ErrorClass values.
func errorClass(err error) string {
	var (
		panicked middleware.RecoveredPanicError
		field    *events.FieldError
	)
	switch {
	case errors.As(err, &panicked):
		return events.ErrorClassPanic
	case errors.As(err, &field):
		return events.ErrorClassInvalid
	case errors.Is(err, events.ErrMalformed):
		return events.ErrorClassMalformed
	case events.IsPermanent(err):
		return events.ErrorClassPermanent
	}
	return events.ErrorClassTransient
}

// cut returns s, or at most its first n bytes, ending on a character
// boundary, followed by "…" when it is longer.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
