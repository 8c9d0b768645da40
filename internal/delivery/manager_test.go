package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/delivery"
)

// manager is a Manager over the fixture's store and a queue.
func (f *fixture) manager() (*delivery.Manager, *queueFake) {
	q := &queueFake{}
	return &delivery.Manager{Endpoints: endpoints{f.store}, History: f.store, Resends: f.store, Events: f.store, Queue: q,
		Limiter: f.store, Idempotency: onceKeys{}, Retention: 24 * time.Hour, Now: func() time.Time { return f.now }}, q
}

// keep stores m's event, as the fan-out does.
func (f *fixture) keep(t *testing.T, m delivery.Message) {
	t.Helper()
	ev := delivery.Event{ID: m.EventID, Type: m.EventType, Owner: m.Owner(), Time: m.EventTime, SourceID: "src-" + m.EventID, Payload: m.Payload}
	if _, err := f.store.Keep(context.Background(), ev, f.now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
}

// code is the apperr code of err, "" if it has none.
func code(err error) string {
	if e := apperr.As(err); e != nil {
		return e.Code
	}
	return ""
}

// wait keeps m's event and makes its first attempt, which must fail (the
// fixture's script), as sqs-1: its delivery then waits an hour for the
// next.
func (f *fixture) wait(t *testing.T, m delivery.Message) {
	t.Helper()
	f.d.Schedule = delivery.Schedule{time.Hour}
	f.keep(t, m)
	if _, err := f.d.Deliver(context.Background(), m, "sqs-1"); err != nil {
		t.Fatal(err)
	}
}
