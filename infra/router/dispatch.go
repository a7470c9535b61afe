package router

import (
	"log/slog"
	"sync"

	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reelay/reelay/events"
	"github.com/reelay/reelay/infra/telemetry"
)

// dispatcher decodes the envelope and calls the consumer's route for its type.
// An event type without a route is acknowledged, counted and logged once per
// type: producers may ship new types before consumers know them.
type dispatcher struct {
	consumer events.Consumer
	metrics  *telemetry.Metrics
	logger   *slog.Logger
	unknown  sync.Map // event type → struct{}
}

func (d *dispatcher) handle(msg *message.Message) error {
	ctx := msg.Context()
	key, _ := wmkafka.MessageKeyFromCtx(ctx)
	env, err := events.Decode(msg.Metadata, string(key), msg.Payload)
	if err != nil {
		return err
	}
	route, ok := d.consumer.Route(env.Type)
	if !ok {
		d.metrics.UnknownTypes.WithLabelValues(d.consumer.Group, env.Type).Inc()
		if _, seen := d.unknown.LoadOrStore(env.Type, struct{}{}); !seen {
			loggerFrom(ctx, d.logger).Warn("acknowledging events of an unknown type", "type", env.Type, "group", d.consumer.Group)
		}
		return nil
	}
	return route(ctx, env)
}
