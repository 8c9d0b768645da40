package worker

import (
	"cmp"
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/metrics"
)

// maxConcurrentEvents bounds the events of a batch the fan-out handles at
// once: the template's BatchSize, 10, which is also the largest batch SQS
// hands over without a batching window.
const maxConcurrentEvents = 10

// Rejects takes the events the fan-out cannot deliver.
type Rejects interface {
	// SetAside keeps body with reason where an operator finds it.
	SetAside(ctx context.Context, body, reason string) error
}

// FanoutHandler is the fan-out function's handler.
type FanoutHandler struct {
	// Fanout queues the deliveries of an event.
	Fanout *delivery.Fanout
	// Rejects takes the events that cannot be delivered.
	Rejects Rejects
	// Queue holds a failed event back (on the fan-out queue) before it
	// comes back.
	Queue Delayer
	// ErrorDelay is how soon an event comes back after its fan-out failed
	// the first time; 0 means DefaultErrorDelay. It doubles with each
	// receive, as a delivery's does.
	ErrorDelay time.Duration
	// Log is where each event's outcome is logged.
	Log *slog.Logger
	// Metrics receives the counts.
	Metrics *metrics.Emitter
}

// fanned is what the fan-out did with one event of a batch.
type fanned struct {
	// queued counts the delivery messages queued.
	queued int
	// rejected says the event was set aside.
	rejected bool
	// failed says the event must come back.
	failed bool
}

// Handle handles a batch of EventBridge events from the fan-out queue, up
// to maxConcurrentEvents at once. The events that must come back are
// listed in batchItemFailures, in the batch's order.
func (h *FanoutHandler) Handle(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	results := make([]fanned, len(batch.Records))
	slots := make(chan struct{}, maxConcurrentEvents)
	var wg sync.WaitGroup
	for i, rec := range batch.Records {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			results[i] = h.one(ctx, rec)
		})
	}
	wg.Wait()
	var resp events.SQSEventResponse
	queued, rejected := 0, 0
	for i, r := range results {
		queued += r.queued
		if r.rejected {
			rejected++
		}
		if r.failed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: batch.Records[i].MessageId})
		}
	}
	h.Metrics.Counts(map[string]int{MetricDeliveriesQueued: queued, MetricEventsRejected: rejected,
		MetricFanoutErrors: len(resp.BatchItemFailures)})
	return resp, nil
}

// one fans out the event of one message.
func (h *FanoutHandler) one(ctx context.Context, rec events.SQSMessage) fanned {
	log := h.Log.With("message_id", rec.MessageId)
	ev, err := delivery.ParseEventBridge([]byte(rec.Body))
	if err != nil {
		// Never delivered, however often it is tried: set it aside at
		// once so that it blocks nothing.
		if err := h.Rejects.SetAside(ctx, rec.Body, err.Error()); err != nil {
			return h.comeBack(ctx, rec, log, "could not set an event aside", err)
		}
		log.Warn("event set aside", "reason", err.Error())
		return fanned{rejected: true}
	}
	log = log.With("event_id", ev.ID, "event_type", ev.Type, "account", ev.Owner.Account, "mode", ev.Owner.Mode)
	out, err := h.Fanout.Publish(ctx, ev)
	if err != nil {
		return h.comeBack(ctx, rec, log, "fan-out failed; the event comes back", err)
	}
	log.Info("event fanned out", "deliveries", out.Queued, "duplicate", out.Duplicate)
	return fanned{queued: out.Queued}
}

// comeBack logs msg and err and holds rec back after a failure: it comes
// back after ErrorDelay for its receive count, so that an outage of hours
// does not use up its receives. If its visibility cannot be set, it comes
// back after the queue's visibility timeout instead.
func (h *FanoutHandler) comeBack(ctx context.Context, rec events.SQSMessage, log *slog.Logger, msg string, err error) fanned {
	receive, _ := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
	wait := ErrorDelay(cmp.Or(h.ErrorDelay, DefaultErrorDelay), receive)
	log.Error(msg, "error", err, "wait", wait.String())
	if derr := h.Queue.Delay(context.WithoutCancel(ctx), rec.ReceiptHandle, wait); derr != nil {
		log.Warn("could not set the message's visibility", "error", derr)
	}
	return fanned{failed: true}
}
