// Package worker holds the Lambda handlers of the delivery pipeline. Two
// are fed by SQS with ReportBatchItemFailures: the fan-out
// (FanoutHandler), which turns each EventBridge event into one delivery
// message per endpoint, and the deliverer (DeliveryHandler), which makes
// each message's next attempt; a message that fails is listed in
// batchItemFailures, so the others of its batch are not handled again.
// The third, the sweeper (SweeperHandler), runs on a schedule and queues
// the parked deliveries that are due.
package worker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/metrics"
)

// Metric names the handlers write; template.yaml alarms on MetricAttempts
// and MetricFailures.
const (
	// MetricAttempts counts the attempts made.
	MetricAttempts = "DeliveryAttempts"
	// MetricFailures counts the attempts that failed.
	MetricFailures = "DeliveryFailures"
	// MetricEventsRejected counts the events set aside.
	MetricEventsRejected = "EventsRejected"
	// MetricDeliveriesQueued counts the delivery messages queued.
	MetricDeliveriesQueued = "DeliveriesQueued"
	// MetricDeliveriesHeld counts the deliveries an endpoint's gate held
	// back (its concurrency or the retries' share of it, its rate limit,
	// its breaker, or a lost race to enter it: delivery's Held* reasons),
	// parked unattempted.
	MetricDeliveriesHeld = "DeliveriesHeld"
	// MetricBreakerHolds counts those held by an open or probing breaker.
	MetricBreakerHolds = "BreakerHolds"
)

// Delayer holds a received message back after a failure.
type Delayer interface {
	// Delay makes the message with receipt visible again after d.
	Delay(ctx context.Context, receipt string, d time.Duration) error
}

// DefaultErrorDelay is how soon a message comes back after a dependency
// (DynamoDB, Secrets Manager, SQS or EventBridge) failed the first time:
// sooner than the queue's visibility timeout, and without counting as an
// attempt. It doubles with each receive of the message, up to
// MaxErrorDelay, so that an outage of hours does not use up the
// message's receives.
const DefaultErrorDelay = 30 * time.Second

// MaxErrorDelay caps the wait after a dependency failure.
const MaxErrorDelay = 15 * time.Minute

// ErrorDelay is the wait after a dependency failure on the receive-th
// receive of a message (1 for the first): base, doubling with each
// receive, up to MaxErrorDelay. The scale simulation (internal/dev/sim) backs
// a failed step off by it too.
func ErrorDelay(base time.Duration, receive int) time.Duration {
	d := base
	for i := 1; i < receive && d < MaxErrorDelay; i++ {
		d *= 2
	}
	return min(d, MaxErrorDelay)
}

// DeliveryHandler is the delivery function's handler.
type DeliveryHandler struct {
	// Deliverer makes the attempts.
	Deliverer *delivery.Deliverer
	// Queue holds a message back after a dependency failed.
	Queue Delayer
	// Log is where each attempt's outcome is logged.
	Log *slog.Logger
	// Metrics receives the counts.
	Metrics *metrics.Emitter
	// ErrorDelay is how soon a message comes back after a dependency
	// failed the first time; 0 means DefaultErrorDelay.
	ErrorDelay time.Duration
}

// Handle handles a batch of delivery messages, all at once.
func (h *DeliveryHandler) Handle(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	var (
		mu    sync.Mutex
		resp  events.SQSEventResponse
		total counts
		wg    sync.WaitGroup
	)
	for _, rec := range batch.Records {
		wg.Go(func() {
			c, ok := h.one(ctx, rec)
			mu.Lock()
			defer mu.Unlock()
			total.attempts += c.attempts
			total.failures += c.failures
			total.held += c.held
			total.heldByBreaker += c.heldByBreaker
			if !ok {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			}
		})
	}
	wg.Wait()
	h.Metrics.Counts(map[string]int{MetricAttempts: total.attempts, MetricFailures: total.failures,
		MetricDeliveriesHeld: total.held, MetricBreakerHolds: total.heldByBreaker})
	return resp, nil
}

// counts are what one message's handling adds to a batch's metrics.
type counts struct {
	attempts, failures, held, heldByBreaker int
}

// one handles one message. ok is false when the message must come back,
// because nothing could be decided; a next attempt is parked, not held.
func (h *DeliveryHandler) one(ctx context.Context, rec events.SQSMessage) (c counts, ok bool) {
	log := h.Log.With("message_id", rec.MessageId)
	var m delivery.Message
	if err := json.Unmarshal([]byte(rec.Body), &m); err != nil || m.DeliveryID == "" {
		// Not a message the fan-out wrote: it goes to the dead-letter
		// queue once its receives run out.
		log.Error("delivery message unreadable", "error", errors.Join(err, errors.New("no delivery_id")))
		return c, false
	}
	log = log.With("delivery_id", m.DeliveryID, "event_id", m.EventID, "event_type", m.EventType, "webhook_id", m.WebhookID,
		"account", m.Account, "mode", m.Mode)
	step, err := h.Deliverer.Deliver(ctx, m, rec.MessageId)
	if step.Attempt != nil {
		c.attempts = 1
		if delivery.Judge(step.Attempt.Response) != delivery.VerdictDelivered {
			c.failures = 1
		}
		a := step.Attempt
		log = log.With("attempt", a.Number, "status", a.Response.Status, "error_class", a.Response.Error,
			"duration_ms", a.Response.Duration.Milliseconds())
	}
	if step.Breaker != "" {
		log = log.With("breaker", step.Breaker)
	}
	if step.GateErr != nil {
		log.Warn("could not give the endpoint's slot back; it frees itself when its lease ends", "error", step.GateErr)
	}
	if step.Outcome == delivery.OutcomeHeld {
		c.held = 1
		if step.Reason == delivery.HeldBreaker || step.Reason == delivery.HeldProbe {
			c.heldByBreaker = 1
		}
	}
	if err != nil {
		receive, _ := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
		wait := ErrorDelay(cmp.Or(h.ErrorDelay, DefaultErrorDelay), receive)
		log.Error("delivery step failed; the message comes back", "error", err, "wait", wait.String())
		h.Metrics.Counts(map[string]int{MetricDeliveryStepErrors: 1})
		if derr := h.Queue.Delay(context.WithoutCancel(ctx), rec.ReceiptHandle, wait); derr != nil {
			log.Warn("could not set the message's visibility", "error", derr)
		}
		return c, false
	}
	if step.Retry {
		// The next attempt is parked (a delayed message, or the store's
		// resend): this message is done with either way.
		msg := "attempt failed; next attempt parked"
		switch step.Outcome {
		case delivery.OutcomeEarly:
			msg = "message came before its next attempt is due; parked again"
		case delivery.OutcomeHeld:
			msg = "held back by the endpoint's gate; parked"
		}
		log.Info(msg, "outcome", step.Outcome, "reason", step.Reason, "wait", step.Wait.String())
		return c, true
	}
	level := slog.LevelInfo
	if step.Outcome == delivery.OutcomeFailed {
		level = slog.LevelWarn
	}
	log.Log(ctx, level, "delivery "+step.Outcome, "outcome", step.Outcome, "reason", step.Reason)
	return c, true
}
