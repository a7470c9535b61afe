// Package router runs events.Consumers on one Watermill router. Every
// handler gets the same middleware, once, outermost first:
//
//	correlation → dead letter → failure record → retry → attempt record → recoverer → inbox → dispatch
//
// so a handler sees each event at least once, in key order per partition; a
// transient error is retried with exponential backoff and jitter; a permanent
// one (malformed input) is not; what still fails goes to the group's
// dead-letter topic with its metadata and the partition moves on; and the
// inbox applies each event id once per group.
package router
