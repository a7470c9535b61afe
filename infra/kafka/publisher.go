package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill/message"
)

// ErrPublishTimeout is returned when Kafka has not acknowledged a record
// within the deadline, or when too many records already wait for the
// brokers. The record may still be written later; a retry of an event with
// the same event id is deduplicated.
var ErrPublishTimeout = errors.New("kafka did not acknowledge the event in time")

// ErrPublisherClosed is returned by a send after Close began.
var ErrPublisherClosed = errors.New("kafka publisher closed")

// maxPending bounds the records sent and not yet answered by the brokers,
// those whose sender stopped waiting included: past it a send fails at
// once with ErrPublishTimeout, so that a cluster that stopped answering
// cannot make the process hold records without bound.
const maxPending = 4096

// Publisher is the process's one Kafka producer: Sarama's asynchronous
// producer, idempotent, with acks=all, connected with WithSecurity's TLS
// and SASL, if given. It is a Watermill publisher (dead letters and
// replays), and Events sends the API's envelopes through it as records
// (Send), without a Watermill message in between. Either way a nil error
// means every in-sync replica has the record.
//
// Sends do not wait for each other: Sarama batches the records that are
// sent together into one request per broker. Records of one partition are
// written in the order they were sent.
type Publisher struct {
	producer   sarama.AsyncProducer
	pending    atomic.Int64
	maxPending int64

	closing   chan struct{} // closed when Close begins
	closeOnce sync.Once
	sending   sync.RWMutex  // held by a send while it hands its record over
	answered  chan struct{} // closed when every answer has been delivered
}

// NewPublisher connects the producer to brokers.
func NewPublisher(brokers []string, opts ...Option) (*Publisher, error) {
	sec := applyOptions(opts).security
	ap, err := sarama.NewAsyncProducer(brokers, producerConfig("reelay-producer", sec))
	if err != nil {
		return nil, connectError("kafka publisher", brokers, sec, err)
	}
	p := &Publisher{producer: ap, maxPending: maxPending, closing: make(chan struct{}), answered: make(chan struct{})}
	var answering sync.WaitGroup
	answering.Go(func() {
		for pm := range ap.Successes() {
			p.answer(pm, nil)
		}
	})
	answering.Go(func() {
		for perr := range ap.Errors() {
			p.answer(perr.Msg, perr.Err)
		}
	})
	go func() {
		answering.Wait()
		close(p.answered)
	}()
	return p, nil
}

// answer gives a record's outcome to its sender, unless the sender's
// deadline got there first.
func (p *Publisher) answer(pm *sarama.ProducerMessage, err error) {
	p.pending.Add(-1)
	if done, ok := pm.Metadata.(chan error); ok {
		deliver(done, err)
	}
}

// deliver puts the first outcome of a send (the brokers' answer or the
// deadline) in its channel, which has room for one, and drops the other.
func deliver(done chan error, err error) {
	select {
	case done <- err:
	default:
	}
}

// Send writes pm and waits for the brokers' answer: at most timeout (0: no
// limit), and no longer than ctx. It returns ErrPublishTimeout when the
// deadline passes first or too many records already wait for the brokers,
// ctx's error when ctx ends first, and ErrPublisherClosed after Close. On
// any error the record may or may not be written. Send owns pm.Metadata.
func (p *Publisher) Send(ctx context.Context, pm *sarama.ProducerMessage, timeout time.Duration) error {
	done := make(chan error, 1)
	pm.Metadata = done
	if timeout > 0 {
		// A timer that delivers the deadline like an answer: the waits
		// below watch one channel for both.
		t := time.AfterFunc(timeout, func() { deliver(done, fmt.Errorf("%w (%s)", ErrPublishTimeout, timeout)) })
		defer t.Stop()
	}
	if err := p.handOver(ctx, pm, done); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handOver gives pm to the producer, counting it as pending. It waits while
// the producer's input is full (the brokers are slow or gone), until done
// has the deadline or ctx ends.
func (p *Publisher) handOver(ctx context.Context, pm *sarama.ProducerMessage, done chan error) error {
	p.sending.RLock()
	defer p.sending.RUnlock()
	select {
	case <-p.closing:
		return ErrPublisherClosed
	default:
	}
	if p.pending.Add(1) > p.maxPending {
		p.pending.Add(-1)
		return fmt.Errorf("%w: %d records still waiting for the brokers", ErrPublishTimeout, p.maxPending)
	}
	select {
	case p.producer.Input() <- pm:
		return nil
	default: // the input is full: wait, within the bounds
	}
	var err error
	select {
	case p.producer.Input() <- pm:
		return nil
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	case <-p.closing:
		err = ErrPublisherClosed
	}
	p.pending.Add(-1) // never handed over
	return err
}

// Publish writes msgs to topic one after the other with Marshaler, each
// after the one before was acknowledged; it stops at the first error.
// It waits for Sarama's own retries and timeouts, as a synchronous producer
// does: the messages' contexts do not end it.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		pm, err := Marshaler{}.Marshal(topic, msg)
		if err != nil {
			return fmt.Errorf("marshal message %s: %w", msg.UUID, err)
		}
		if err := p.Send(context.Background(), pm, 0); err != nil {
			return fmt.Errorf("publish message %s: %w", msg.UUID, err)
		}
	}
	return nil
}

// Close stops new sends, waits for the records handed over to be answered
// (Sarama flushes them; each answer goes to its sender) and closes the
// connections.
func (p *Publisher) Close() error {
	p.closeOnce.Do(func() {
		close(p.closing)
		p.sending.Lock() // no send is between its check of closing and the input
		p.producer.AsyncClose()
		p.sending.Unlock()
		<-p.answered
	})
	return nil
}
