package delivery

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// Fanout turns an event into one delivery message per endpoint that takes
// it.
type Fanout struct {
	// Subscribers finds the account's webhooks.
	Subscribers Subscribers
	// Events keeps events, to recognise a second publish.
	Events EventLog
	// Queue takes the messages.
	Queue Queue
	// Retention is how long events are kept.
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
func (f *Fanout) Publish(ctx context.Context, ev Event) (Fanned, error) {
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	first, err := f.Events.Keep(ctx, ev, now().Add(cmp.Or(f.Retention, DefaultRetention)))
	if err != nil {
		return Fanned{}, fmt.Errorf("save event %s: %w", ev.ID, err)
	}
	if first != ev.SourceID {
		return Fanned{Duplicate: true}, nil
	}
	hooks, err := f.Subscribers.Webhooks(ctx, ev.Owner)
	if err != nil {
		return Fanned{}, fmt.Errorf("find webhooks of %s: %w", ev.Owner, err)
	}
	var msgs []Message
	for _, w := range hooks {
		if !w.IsActive || !slices.Contains(w.Events, ev.Type) {
			continue
		}
		msgs = append(msgs, Message{DeliveryID: DeliveryID(ev.ID, w.ID, ev.Time), EventID: ev.ID, EventType: ev.Type,
			EventTime: ev.Time, Account: ev.Owner.Account, Mode: ev.Owner.Mode, WebhookID: w.ID, Payload: ev.Payload})
	}
	if len(msgs) == 0 {
		return Fanned{}, nil
	}
	if err := f.Queue.Send(ctx, msgs); err != nil {
		return Fanned{}, fmt.Errorf("queue %d deliveries of %s: %w", len(msgs), ev.ID, err)
	}
	return Fanned{Queued: len(msgs)}, nil
}
