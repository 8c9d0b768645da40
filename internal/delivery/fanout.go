package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/docproc/webhooks/internal/webhook"
)

// sendChunk is how many messages the fan-out hands the Queue in one call:
// as many as one SQS SendMessageBatch takes, so that a call is one request
// unless its messages pass SQS's 256 KiB.
const sendChunk = 10

// maxConcurrentSends bounds the Queue calls one event makes at once: the
// messages of an event for up to 100 endpoints go out in one round.
const maxConcurrentSends = 10

// Fanout turns an event into one delivery message per endpoint that takes
// it.
type Fanout struct {
	// Subscribers finds the account's webhooks.
	Subscribers Subscribers
	// Events keeps events, to recognise a second publish.
	Events EventLog
	// Queue takes the messages.
	Queue Queue
	// Retention is how long events are kept; DefaultRetention when 0.
	Retention time.Duration
	// Now returns the time; time.Now when nil.
	Now func() time.Time
}

// Fanned is what a fan-out did with an event.
type Fanned struct {
	// Duplicate says the event's id was published before: nothing was
	// queued.
	Duplicate bool
	// Queued counts the messages queued, one per endpoint.
	Queued int
}

// Publish queues ev for every active webhook of its owner that subscribes
// to its type. Running it again for the same publish (a redelivery of the
// fan-out message) queues the messages again, which the deliverer drops
// as duplicates once an attempt was recorded; a second publish of the
// same event id queues nothing.
//
// The owner's webhooks are read while the event is kept, and the messages
// go out in calls of sendChunk, up to maxConcurrentSends at once, so that
// an event for many endpoints takes little longer than one for a single
// endpoint.
func (f *Fanout) Publish(ctx context.Context, ev Event) (Fanned, error) {
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // a failed Keep stops the read of webhooks
	type found struct {
		hooks []webhook.Webhook
		err   error
	}
	subscribers := make(chan found, 1)
	go func() {
		hooks, err := f.Subscribers.Webhooks(ctx, ev.Owner)
		subscribers <- found{hooks, err}
	}()
	first, err := f.Events.Keep(ctx, ev, now().Add(cmp.Or(f.Retention, DefaultRetention)))
	if err != nil {
		return Fanned{}, fmt.Errorf("save event %s: %w", ev.ID, err)
	}
	if first != ev.SourceID {
		return Fanned{Duplicate: true}, nil
	}
	got := <-subscribers
	if got.err != nil {
		return Fanned{}, fmt.Errorf("find webhooks of %s: %w", ev.Owner, got.err)
	}
	var msgs []Message
	for _, w := range got.hooks {
		if !w.IsActive || !slices.Contains(w.Events, ev.Type) {
			continue
		}
		msgs = append(msgs, Message{DeliveryID: DeliveryID(ev.ID, w.ID, ev.Time), EventID: ev.ID, EventType: ev.Type,
			EventTime: ev.Time, Account: ev.Owner.Account, Mode: ev.Owner.Mode, WebhookID: w.ID, Payload: ev.Payload})
	}
	if len(msgs) == 0 {
		return Fanned{}, nil
	}
	if err := f.send(ctx, msgs); err != nil {
		return Fanned{}, fmt.Errorf("queue %d deliveries of %s: %w", len(msgs), ev.ID, err)
	}
	return Fanned{Queued: len(msgs)}, nil
}

// send queues msgs in chunks of sendChunk, up to maxConcurrentSends at
// once. It returns every chunk's error; a chunk that failed after others
// were queued is safe to send again with them (the deliverer drops a
// duplicate).
func (f *Fanout) send(ctx context.Context, msgs []Message) error {
	if len(msgs) <= sendChunk {
		return f.Queue.Send(ctx, msgs)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []error
		slots = make(chan struct{}, maxConcurrentSends)
	)
	for chunk := range slices.Chunk(msgs, sendChunk) {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := f.Queue.Send(ctx, chunk); err != nil {
				mu.Lock()
				defer mu.Unlock()
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
