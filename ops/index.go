package ops

import (
	"context"
	"log/slog"

	"github.com/reelay/reelay/events"
)

// Index writes records read from the groups' dead-letter topics into the
// store's index: in one transaction, or, when the store refuses that for
// good (a value no column holds), each alone, skipping with an ERROR line
// the one it refuses, so that one odd record cannot stop the index of every
// group (it stays in its topic). A transient error is returned: the caller
// reads the same records again. Indexing a record twice changes nothing.
func Index(ctx context.Context, store Store, recs []Record, logger *slog.Logger) error {
	ds := make([]DeadLetter, len(recs))
	for i, rec := range recs {
		ds[i] = ParseDeadLetter(events.GroupOfDeadLetterTopic(rec.Topic), rec)
	}
	err := store.AddDeadLetters(ctx, ds)
	if err == nil || !events.IsPermanent(err) {
		return err
	}
	for _, d := range ds {
		if err := store.AddDeadLetters(ctx, []DeadLetter{d}); err != nil {
			if !events.IsPermanent(err) {
				return err
			}
			logger.Error("dead letter cannot be indexed; it stays in its topic", "topic", events.DeadLetterTopic(d.Group),
				"partition", d.Partition, "offset", d.Offset, "err", err)
		}
	}
	return nil
}
