package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/kafka"
	"github.com/reelay/reelay/infra/tracing"
)

// Replay states.
const (
	ReplayRunning = "running"
	ReplayDone    = "done"
)

// Replay is one replay of a group's dead letters and its progress.
// Published counts the dead letters sent to the replay topic, Skipped those
// the filter selected that may not be replayed (truncated copies, and
// events replayed MaxReplays times), FailedAgain the dead letters the
// replayed events became.
type Replay struct {
	ID          string     `json:"id"`
	Group       string     `json:"group"`
	Status      string     `json:"status"`
	Filter      Filter     `json:"filter"`
	Total       int        `json:"total"`
	Published   int        `json:"published"`
	Skipped     int        `json:"skipped"`
	FailedAgain int        `json:"failedAgain"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	FinishedAt  *time.Time `json:"finishedAt,omitempty"`
	// LeaseUntil is how long the instance sending it holds it.
	LeaseUntil time.Time `json:"-"`
}

// DryRun is what a replay would send.
type DryRun struct {
	DryRun  bool         `json:"dryRun"`
	Matched int          `json:"matched"`
	Skipped int          `json:"skipped"`
	Records []DeadLetter `json:"records"`
}

// dryRunRecords bounds the records a dry run lists.
const dryRunRecords = 100

// ReplaySettings tune replays. Zero values take the defaults.
type ReplaySettings struct {
	// MaxReplays is how often one event may be replayed (default 3): a
	// dead letter replayed that often is skipped, so a record that always
	// fails cannot loop.
	MaxReplays int
	// Rate bounds the records per second one replay sends (default 500),
	// so that a large replay does not swamp the group.
	Rate int
	// Lease is how long an instance holds a replay without progress before
	// another may resume it (default 15 s); ClaimEvery is how often an
	// instance looks for replays to resume (default 2 s).
	Lease      time.Duration
	ClaimEvery time.Duration
}

func (s *ReplaySettings) setDefaults() {
	if s.MaxReplays == 0 {
		s.MaxReplays = 3
	}
	if s.Rate == 0 {
		s.Rate = 500
	}
	if s.Lease == 0 {
		s.Lease = 15 * time.Second
	}
	if s.ClaimEvery == 0 {
		s.ClaimEvery = 2 * time.Second
	}
}

// Validate refuses settings out of range.
func (s ReplaySettings) Validate() error {
	var errs []error
	if s.MaxReplays < 1 || s.MaxReplays > 100 {
		errs = append(errs, fmt.Errorf("MaxReplays is %d; want 1 to 100", s.MaxReplays))
	}
	if s.Rate < 1 {
		errs = append(errs, fmt.Errorf("Rate is %d; want at least 1", s.Rate))
	}
	if s.Lease < time.Second || s.ClaimEvery <= 0 {
		errs = append(errs, errors.New("Lease must be at least 1s and ClaimEvery positive"))
	}
	return errors.Join(errs...)
}

// Replays starts replays and sends them. Every instance runs the sender
// (Run): a replay is sent by the instance that holds its lease, and resumed
// by any instance once the lease expires — after a crash — or at once after
// a clean stop, which releases it. A record sent twice (sent, then the
// instance died before marking it) is applied once: its group's inbox
// drops the second copy.
type Replays struct {
	store    Store
	pub      message.Publisher
	groups   []string
	settings ReplaySettings
	logger   *slog.Logger
	tracer   trace.Tracer // nil: tracing off
	owner    string
	now      func() time.Time
	wake     chan struct{}
}

// NewReplays sends replays of groups' dead letters through pub. With
// tracing on (tp not a no-op), each replayed record gets a span of its own
// linked to its original trace, and carries that span's context.
func NewReplays(store Store, pub message.Publisher, groups []string, settings ReplaySettings, tp trace.TracerProvider, logger *slog.Logger) (*Replays, error) {
	settings.setDefaults()
	if err := settings.Validate(); err != nil {
		return nil, fmt.Errorf("replays: %w", err)
	}
	host, _ := os.Hostname()
	return &Replays{store: store, pub: pub, groups: groups, settings: settings, logger: logger, tracer: tracing.Tracer(tp, "reelay/ops"),
		owner: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), uuid.NewString()[:8]), now: time.Now, wake: make(chan struct{}, 1)}, nil
}

// Start replays the dead letters of group that f selects, or, with dryRun,
// says what it would replay. Only pending dead letters are selected: a
// dead letter is replayed once (a replayed event that fails again is a new
// dead letter), so repeating a request replays nothing twice.
func (r *Replays) Start(ctx context.Context, group string, f Filter, dryRun bool) (Replay, *DryRun, error) {
	if !slices.Contains(r.groups, group) {
		return Replay{}, nil, fmt.Errorf("consumer group %q: %w", group, ErrNotFound)
	}
	if err := f.Validate(); err != nil {
		return Replay{}, nil, err
	}
	if dryRun {
		ds, matched, skipped, err := r.store.MatchDeadLetters(ctx, group, f, r.settings.MaxReplays, dryRunRecords)
		if err != nil {
			return Replay{}, nil, err
		}
		return Replay{}, &DryRun{DryRun: true, Matched: matched, Skipped: skipped, Records: ds}, nil
	}
	now := r.now().UTC()
	rp, err := r.store.CreateReplay(ctx, Replay{ID: uuid.NewString(), Group: group, Status: ReplayRunning, Filter: f,
		CreatedAt: now, UpdatedAt: now, LeaseUntil: now.Add(r.settings.Lease)}, f, r.settings.MaxReplays, r.owner)
	if err != nil {
		return Replay{}, nil, err
	}
	r.logger.Info("replay started", "replay_id", rp.ID, "group", group, "total", rp.Total, "skipped", rp.Skipped)
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return rp, nil, nil
}

// Get returns a replay and its progress.
func (r *Replays) Get(ctx context.Context, id string) (Replay, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Replay{}, fmt.Errorf("replay %q: %w", id, ErrNotFound)
	}
	return r.store.Replay(ctx, id)
}

// Run sends replays until ctx ends: those this instance started, and those
// whose sender stopped. It releases the replay it is sending when ctx ends.
func (r *Replays) Run(ctx context.Context) {
	for ctx.Err() == nil {
		now := r.now()
		id, ok, err := r.store.ClaimReplay(ctx, r.owner, now, now.Add(r.settings.Lease))
		if err != nil && ctx.Err() == nil {
			r.logger.Warn("claiming a replay", "err", err)
		}
		if ok && r.send(ctx, id) {
			continue
		}
		t := time.NewTimer(r.settings.ClaimEvery)
		select {
		case <-ctx.Done():
		case <-r.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// sendBatch is how many dead letters are read, sent and marked at a time.
const sendBatch = 50

// storeTimeout bounds the writes a sender makes after its context ended
// (marking what it sent, releasing its lease), so that a stop never waits
// on a database that does not answer.
const storeTimeout = 3 * time.Second

// send sends replay id's dead letters, a batch at a time, each batch marked
// replayed once Kafka acknowledged it. It returns when the replay is done,
// when this instance lost its lease (another sends the rest), or when ctx
// ends (it releases the lease). done is false when it should not be
// claimed again at once.
func (r *Replays) send(ctx context.Context, id string) (done bool) {
	limiter := rate.NewLimiter(rate.Limit(r.settings.Rate), min(r.settings.Rate, sendBatch))
	defer func() {
		if ctx.Err() != nil {
			release, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
			defer cancel()
			if err := r.store.ReleaseReplay(release, id, r.owner); err != nil {
				r.logger.Warn("releasing a replay", "replay_id", id, "err", err)
			}
		}
	}()
	for ctx.Err() == nil {
		batch, err := r.store.ReplayBatch(ctx, id, min(sendBatch, r.settings.Rate)) // progress at least every second
		if err != nil {
			r.logger.Warn("reading a replay's dead letters; retrying", "replay_id", id, "err", err)
			sleep(ctx, time.Second)
			continue
		}
		if len(batch) == 0 {
			held, err := r.store.FinishReplay(ctx, id, r.owner, r.now().UTC())
			if err != nil {
				r.logger.Warn("finishing a replay", "replay_id", id, "err", err)
				return false
			}
			if held {
				r.logger.Info("replay sent", "replay_id", id)
			}
			return true
		}
		refs := make([]RecordRef, 0, len(batch))
		for _, d := range batch {
			if limiter.Wait(ctx) != nil {
				break
			}
			if err := r.publish(ctx, events.ReplayTopic(d.Group), r.traced(ctx, ReplayMessage(d, id))); err != nil {
				if ctx.Err() == nil {
					r.logger.Warn("sending a replayed record; retrying", "replay_id", id, "err", err)
					sleep(ctx, time.Second)
				}
				break
			}
			refs = append(refs, RecordRef{Partition: d.Partition, Offset: d.Offset})
		}
		if len(refs) > 0 {
			now := r.now()
			mark, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
			held, err := r.store.MarkReplayed(mark, id, r.owner, refs, now.UTC(), now.Add(r.settings.Lease))
			cancel()
			switch {
			case err != nil:
				r.logger.Warn("marking replayed records", "replay_id", id, "err", err)
			case !held: // too slow: another instance took the replay over
				r.logger.Warn("replay taken over by another instance; this one stops sending it", "replay_id", id)
				return true
			}
		}
	}
	return true
}

// publish sends msg, waiting no longer than ctx: a record still in flight
// when ctx ends may arrive, and is sent again by whoever resumes the
// replay; the group's inbox applies it once.
func (r *Replays) publish(ctx context.Context, topic string, msg *message.Message) error {
	done := make(chan error, 1)
	go func() { done <- r.pub.Publish(topic, msg) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// traced gives msg a replay span linked to the trace its original record
// carried (its ce_traceparent), so that the replayed event's consume span
// is a child of the replay, which links to the original.
func (r *Replays) traced(ctx context.Context, msg *message.Message) *message.Message {
	if r.tracer == nil {
		return msg
	}
	ctx, span := tracing.StartLinked(ctx, r.tracer, "replay "+msg.Metadata.Get(events.ReplayOfTopic), msg.Metadata,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("reelay.replay_id", msg.Metadata.Get(events.ReplayID))))
	tracing.Inject(ctx, msg.Metadata)
	span.End()
	return msg
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// replayUUID is the message UUID of d's replayed record: the same for
// every send of d, so that a record without a CloudEvents identity (whose
// inbox key is this UUID) is applied once however often it is sent. It is
// a version 3 UUID: a dedup id is version 5 or 8, so the two never meet.
func replayUUID(d DeadLetter) string {
	return uuid.NewMD5(replayNamespace, fmt.Appendf(nil, "%s/%d/%d", d.Group, d.Partition, d.Offset)).String()
}

var replayNamespace = uuid.MustParse("7b6c2f52-3c1e-4b8e-9d0a-5f4e2a1c9b7d")

// ReplayMessage is the record a replay sends for d: its original key,
// value and headers (without Reelay's dead-letter and replay headers), and
// the replay headers (events.Replay*): the replay's id, the event's replay
// count, and where and in which handler it first failed.
func ReplayMessage(d DeadLetter, replayID string) *message.Message {
	msg := message.NewMessage(replayUUID(d), d.Payload)
	for k, v := range d.RawHeaders {
		if !strings.HasPrefix(k, events.DLQHeaderPrefix) && !strings.HasPrefix(k, events.ReplayHeaderPrefix) {
			msg.Metadata.Set(k, string(v))
		}
	}
	if len(d.RawKey) > 0 {
		msg.Metadata.Set(kafka.MetadataKey, string(d.RawKey))
	}
	msg.Metadata.Set(events.ReplayID, replayID)
	msg.Metadata.Set(events.ReplayCount, strconv.Itoa(d.ReplayCount+1))
	msg.Metadata.Set(events.ReplayOfTopic, d.Original.Topic)
	msg.Metadata.Set(events.ReplayOfPartition, strconv.Itoa(int(d.Original.Partition)))
	msg.Metadata.Set(events.ReplayOfOffset, strconv.FormatInt(d.Original.Offset, 10))
	if d.Original.Timestamp != nil {
		msg.Metadata.Set(events.ReplayOfTimestamp, d.Original.Timestamp.Format(time.RFC3339Nano))
	}
	msg.Metadata.Set(events.ReplayOfHandler, d.Handler)
	return msg
}
