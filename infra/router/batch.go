package router

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
)

// batcher applies the events of batch routes (events.OnBatch) that arrive
// together in one inbox transaction, as a group commit: while a batch of a
// type is being applied, the events that arrive meanwhile gather in the
// next batch, which its first event applies as soon as the running one is
// done. Under load batches grow; alone, an event waits for nobody. Every
// event of a batch returns that batch's outcome. An event whose batch fails
// goes on alone through the inbox and its route (a batch of one), so
// retries and dead-lettering stay per event.
//
// Order per key: once an event has joined a batch, the batcher tells the
// subscriber (kafka.Sequenced), which may then hand out the key's next
// event before this one is acked; that event joins the same batch or a
// later one, and batches of a type are applied one after the other, each in
// the order its events joined. So a batch holds runs of a key's events in
// offset order, and a hot key costs one batch, not one per event. After a
// failed batch its events run alone, concurrently: the events of a key in
// it may then be applied out of order, which is why batch routes are for
// effects that do not depend on order (events.OnBatch).
type batcher struct {
	consumer events.Consumer
	inbox    Inbox
	grace    time.Duration
	logger   *slog.Logger
	sizes    prometheus.Observer // events per applied batch (reelay_batch_events)
	// sequenced tells the subscriber an event has joined a batch
	// (kafka.Sequenced).
	sequenced func(context.Context)

	mu      sync.Mutex
	pending map[string]*batch // the gathering batch, by event type
	running map[string]bool   // a batch of the type is being applied
	last    map[string]int    // the size of the type's last batch: the next one's starting capacity
}

var errBatchPanicked = errors.New("batch panicked")

type batch struct {
	route events.Route
	ids   []string
	envs  []events.Envelope
	data  []any         // decoded by the route's Check
	turn  chan struct{} // closed when the batch may be applied
	done  chan struct{} // closed once applied
	fresh []bool        // by position: applied now (not before)
	err   error
}

func newBatcher(c events.Consumer, ib Inbox, grace time.Duration, logger *slog.Logger, sizes prometheus.Observer) *batcher {
	return &batcher{consumer: c, inbox: ib, grace: grace, logger: logger, sizes: sizes, sequenced: kafka.Sequenced,
		pending: map[string]*batch{}, running: map[string]bool{}, last: map[string]int{}}
}

// middleware sends events of batch routes through a batch and everything
// else (and any event whose batch failed) to the next handler: the inbox and
// the dispatcher. A consumer with side effects never batches: its inbox
// look-up comes before the route.
func (b *batcher) middleware(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		if b.consumer.SideEffects || isAlone(msg.Context()) {
			return h(msg)
		}
		d := decodedOf(b.consumer, msg)
		if d.err != nil || !d.batch || d.checkErr != nil {
			return h(msg)
		}
		fresh, err := b.submit(d.route, msg.Context(), joining{id: msg.UUID, env: d.env, data: d.data})
		if errors.Is(err, errShuttingDown) {
			return nil, err // redelivered after the restart
		}
		if err != nil {
			return h(msg) // alone, with the per-event guarantees
		}
		if !fresh[0] {
			msg.SetContext(context.WithValue(msg.Context(), duplicateKey{}, true))
		}
		return nil, nil
	}
}

// joining is an event that joins a batch: its inbox id, envelope and
// checked data.
type joining struct {
	id   string
	env  events.Envelope
	data any
}

// submit adds the events, all of route's type, to the gathering batch of
// their type, or opens one and leads it, tells the subscriber they are in
// line, and waits for the batch's outcome: fresh[i] is false for an event
// applied before. msgCtx is the context of their message, or of their run:
// kafka.Sequenced is told with it, and a batch led with it is left for
// redelivery when it has ended (the router closed).
func (b *batcher) submit(route events.Route, msgCtx context.Context, evs ...joining) (fresh []bool, err error) {
	typ := evs[0].env.Type
	b.mu.Lock()
	bt := b.pending[typ]
	if bt == nil {
		n := max(b.last[typ], len(evs)) // under load, batches of a type are about the same size
		bt = &batch{route: route, turn: make(chan struct{}), done: make(chan struct{}),
			ids: make([]string, 0, n), envs: make([]events.Envelope, 0, n), data: make([]any, 0, n)}
		b.pending[typ] = bt
	}
	pos := len(bt.ids)
	for _, e := range evs {
		bt.ids = append(bt.ids, e.id)
		bt.envs = append(bt.envs, e.env)
		bt.data = append(bt.data, e.data)
	}
	if pos == 0 && !b.running[typ] {
		b.running[typ] = true
		delete(b.pending, typ)
		close(bt.turn)
	}
	b.mu.Unlock()
	b.sequenced(msgCtx)

	if pos == 0 {
		<-bt.turn
		b.lead(msgCtx, typ, bt)
	}
	<-bt.done
	if bt.err != nil {
		return nil, bt.err
	}
	return bt.fresh[pos : pos+len(evs)], nil
}

// lead applies the batch, then hands the turn to the batch that gathered
// meanwhile, if any. Its context is detached from the router's, like the
// inbox's: a batch in flight commits or rolls back whole.
func (b *batcher) lead(routerCtx context.Context, eventType string, bt *batch) {
	defer func() {
		b.mu.Lock()
		b.last[eventType] = len(bt.ids)
		if next := b.pending[eventType]; next != nil {
			delete(b.pending, eventType)
			close(next.turn)
		} else {
			b.running[eventType] = false
		}
		b.mu.Unlock()
		close(bt.done)
	}()
	if routerCtx.Err() != nil {
		// The router closed while the batch waited for its turn: leave
		// it for redelivery rather than start it with a fresh grace.
		bt.err = errShuttingDown
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(routerCtx), b.grace)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			b.logger.Error("batch panicked; its events run alone", "group", b.consumer.Group, "events", len(bt.ids), "panic", r)
			bt.err = errBatchPanicked // each event runs alone, where the recoverer reports it
		}
	}()
	fresh, err := b.inbox.ApplyBatch(ctx, b.consumer.Group, bt.ids, func(ctx context.Context, fresh []int) error {
		if len(fresh) == len(bt.ids) { // none applied before: the usual case
			return bt.route.HandleBatch(ctx, bt.envs, bt.data)
		}
		envs, data := make([]events.Envelope, len(fresh)), make([]any, len(fresh))
		for i, p := range fresh {
			envs[i], data[i] = bt.envs[p], bt.data[p]
		}
		return bt.route.HandleBatch(ctx, envs, data)
	})
	bt.err = err
	if err == nil {
		b.sizes.Observe(float64(len(bt.ids)))
	}
	bt.fresh = make([]bool, len(bt.ids))
	for _, p := range fresh {
		bt.fresh[p] = true
	}
}
