// Package router runs events.Consumers on one Watermill router. Every
// handler gets the same middleware, once, outermost first:
//
//	settle → runs → decode → correlation → consume span → outcome → recent events → dead letter → failure record → retry → attempt record → attempt events → recoverer → batcher → inbox → dispatch
//
// (one file each, the two tracing ones in tracing.go and absent when
// tracing is off; settle reports each message's outcome to the
// KeyedSubscriber, which then needs no goroutine per message to watch Ack
// and Nack; runs applies a run of records the subscriber handed out
// together in one batch when they are all events of one batch route, and
// otherwise sends each record down the chain as a message of its own, a
// key's in order; decode reads the envelope once, for the others; the batcher
// applies the events of batch routes together and sends the rest, and any
// event of a failed batch, on to the inbox)
// so a handler sees each event at least once, in key order per partition; a
// transient error is retried with exponential backoff and jitter; a permanent
// one (malformed input) is not; what still fails goes to the group's
// dead-letter topic with its metadata (truncated when too large to copy
// whole) and the partition moves on; a record that cannot even be
// dead-lettered is redelivered with a backoff and its partition reported
// stuck; and the inbox applies each event (CloudEvents source and id) once
// per group.
package router
