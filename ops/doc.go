// Package ops is what an operator does with a running Reelay: inspect dead
// letters, replay them to the consumer group whose handler failed, discard
// them with a reason, and watch each group's lag and stuck partitions.
//
// Dead letters are indexed from the groups' dead-letter topics into the
// database (Index): the topic stays the record of what failed, the index
// is what the admin API lists, filters and pages, and where each record's
// status (pending, replaying, replayed, discarded) is kept.
//
// A replay (Replays) publishes the selected dead letters, with their
// original key, headers and value, to the group's replay topic
// (events.ReplayTopic), which only that group consumes: no other group that
// reads the original topic sees them again. The group's inbox applies each
// event once, so a replay that is repeated, or resumed after a restart,
// applies nothing twice. A replayed record that fails again is
// dead-lettered anew with its replay count raised; a record replayed
// MaxReplays times is not replayed again.
package ops
