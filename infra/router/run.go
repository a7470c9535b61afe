package router

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
)

// runs handles the message of a run: several records of one partition that
// the subscriber handed out together (kafka.RunOf), each key's records side
// by side in offset order. Any other message goes on down the chain.
//
// A run of events of one batch route (events.OnBatch) of a consumer without
// side effects joins a batch whole, when tracing is off: its events are
// applied with their inbox rows in one transaction, counted and listed as
// the outcome and recent-events middlewares do, and settled. That skips the
// rest of the chain, whose cost per message was most of Reelay's CPU in a
// drain; none of it acts on an event that applies cleanly.
//
// Any other run (a record that does not decode or is of another route, a
// consumer with side effects, tracing on) and a run whose batch failed goes
// through the chain a record at a time, as if each had come alone: a key's
// records one after the other, in run order, different keys concurrently,
// each settled as settle would. When a record is not acked, the records of
// its key after it in the run are not either, so that they come again
// behind it, in order. After a failed batch each event goes on alone (not
// into a batch again), so the one that failed the batch fails alone.
type runs struct {
	consumer events.Consumer
	batcher  *batcher
	whole    bool // runs may join a batch whole: tracing is off
	// observe records a wholly applied run's event as outcome and
	// recentEvents do.
	observe func(msg *message.Message, err error, took time.Duration)
}

type aloneKey struct{}

// isAlone says the event's batch failed: it goes on alone.
func isAlone(ctx context.Context) bool { v, _ := ctx.Value(aloneKey{}).(bool); return v }

func (r *runs) middleware(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		msgs, ok := kafka.RunOf(msg.Context())
		if !ok {
			return h(msg)
		}
		growStack()
		alone := false
		if r.whole && !r.consumer.SideEffects {
			applied, failed, err := r.apply(msg, msgs)
			if err != nil {
				return nil, err // the router is closing: the run comes again
			}
			if applied {
				return nil, nil
			}
			alone = failed
		}
		eachOnItsOwn(h, msgs, alone)
		return nil, nil
	}
}

// apply joins the run to a batch when its records are events of one batch
// route. applied says it was applied and settled; failed, that its batch
// failed; err is errShuttingDown when it is to come again.
func (r *runs) apply(run *message.Message, msgs []*message.Message) (applied, failed bool, err error) {
	start := time.Now()
	evs := make([]joining, len(msgs))
	var route events.Route
	for i, m := range msgs {
		d := decodeMessage(r.consumer, m)
		m.SetContext(context.WithValue(m.Context(), decodedKey{}, d)) // the chain reuses it
		if d.err != nil || !d.batch || d.checkErr != nil || i > 0 && d.env.Type != evs[0].env.Type {
			return false, false, nil
		}
		evs[i] = joining{id: m.UUID, env: d.env, data: d.data}
		route = d.route
	}
	fresh, err := r.batcher.submit(route, run.Context(), evs...)
	if errors.Is(err, errShuttingDown) {
		for _, m := range msgs {
			r.observe(m, err, time.Since(start))
		}
		return false, false, err
	}
	if err != nil {
		return false, true, nil
	}
	took := time.Since(start)
	for i, m := range msgs {
		if !fresh[i] {
			m.SetContext(context.WithValue(m.Context(), duplicateKey{}, true))
		}
		m.Metadata.Set(events.DLQAttempts, "1") // as attemptRecord counts
		r.observe(m, nil, took)
	}
	kafka.Settle(run.Context(), true) // each record, under one lock
	return true, false, nil
}

// eachOnItsOwn runs every message of a run through h, a key's one after
// the other, different keys concurrently, and settles each.
func eachOnItsOwn(h message.HandlerFunc, msgs []*message.Message, alone bool) {
	type laneKey struct {
		key  string
		null bool
	}
	var (
		order []laneKey
		lanes = map[laneKey][]*message.Message{}
	)
	for _, m := range msgs {
		if alone {
			m.SetContext(context.WithValue(m.Context(), aloneKey{}, true))
		}
		rec, _ := kafka.RecordFromContext(m.Context())
		k := laneKey{key: string(rec.Key), null: rec.Key == nil}
		if _, ok := lanes[k]; !ok {
			order = append(order, k)
		}
		lanes[k] = append(lanes[k], m)
	}
	lane := func(ms []*message.Message) {
		for i, m := range ms {
			if !handleOne(h, m) {
				for _, behind := range ms[i+1:] {
					kafka.Settle(behind.Context(), false)
				}
				return
			}
		}
	}
	if len(order) == 1 {
		lane(lanes[order[0]])
		return
	}
	var wg sync.WaitGroup
	for _, k := range order {
		wg.Go(func() {
			growStack()
			lane(lanes[k])
		})
	}
	wg.Wait()
}

// handleOne runs msg through h and settles it as settled does; it reports
// whether msg was acked.
func handleOne(h message.HandlerFunc, msg *message.Message) (acked bool) {
	defer func() { kafka.Settle(msg.Context(), acked) }()
	out, err := h(msg)
	return err == nil && len(out) == 0
}
