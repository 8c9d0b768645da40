package delivery_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/webhook"
)

func TestASendThatCannotBeQueuedIsUndone(t *testing.T) {
	f := newFixture(t, settings(true, 3), ok200)
	m := message()
	f.keep(t, m)
	f.run(t, m, "sqs-1")
	mgr, q := f.manager()
	q.err = errors.New("sqs down")
	before := f.store.deliveries[m.DeliveryID]
	if _, _, err := mgr.Retry(context.Background(), owner, f.hook.ID, m.DeliveryID, ""); err == nil {
		t.Fatal("a retry whose message was not queued succeeded")
	}
	if after := f.store.deliveries[m.DeliveryID]; after != before {
		t.Fatalf("delivery after a failed retry: %+v, want it as before: %+v", after, before)
	}
}

func TestAnUndoneSendPostsNothing(t *testing.T) {
	f := newFixture(t, settings(true, 3), ok200)
	mgr, q := f.manager()
	if _, _, err := mgr.Test(context.Background(), owner, f.hook.ID, webhook.DocumentUploaded, ""); err != nil {
		t.Fatal(err)
	}
	m := q.sent[0]
	// The send is undone (its queueing was reported failed after the
	// message got through): the message finds no delivery of its claim.
	delete(f.store.deliveries, m.DeliveryID)
	if step, err := f.d.Deliver(context.Background(), m, "sqs-1"); err != nil || step.Outcome != delivery.OutcomeDuplicate || len(f.sender.requests) != 0 {
		t.Fatalf("message of an undone send: %+v, %v, %d requests", step, err, len(f.sender.requests))
	}
}

func TestASendNeitherQueuedNorUndoneLosesNoRetries(t *testing.T) {
	for _, series := range []string{"automatic", "manual"} {
		t.Run(series, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, settings(true, 3), fail500)
			f.d.Schedule = delivery.Schedule{5 * time.Minute}
			m := message()
			f.keep(t, m)
			mgr, q := f.manager()
			// The series of retries that owns the delivery: its attempt
			// failed, and its message comes back in 5 minutes.
			msg, messageID := m, "sqs-1"
			if _, err := f.d.Deliver(ctx, m, "sqs-1"); err != nil {
				t.Fatal(err)
			}
			if series == "manual" {
				// A retry took it over and its attempt failed too.
				if _, _, err := mgr.Retry(ctx, owner, f.hook.ID, m.DeliveryID, ""); err != nil {
					t.Fatal(err)
				}
				msg, messageID = q.sent[0], "sqs-2"
				if _, err := f.d.Deliver(ctx, msg, messageID); err != nil {
					t.Fatal(err)
				}
			}
			// A retry whose message cannot be queued, and whose undo fails
			// too: the delivery is left claimed by a message never sent.
			q.err, f.store.restoreErr = errors.New("sqs down"), errors.New("dynamodb down")
			if _, _, err := mgr.Retry(ctx, owner, f.hook.ID, m.DeliveryID, ""); err == nil {
				t.Fatal("a retry that could neither queue nor undo succeeded")
			}
			q.err, f.store.restoreErr = nil, nil
			// The series' message comes back: it keeps the delivery going.
			f.sender.script = []delivery.Response{ok200}
			posted := len(f.sender.requests)
			f.now = f.now.Add(5 * time.Minute)
			steps := f.run(t, msg, messageID)
			if last := steps[len(steps)-1]; last.Outcome != delivery.OutcomeDelivered || len(f.sender.requests) != posted+1 {
				t.Fatalf("the series' message: steps %+v, %d more requests; want it to deliver with one", steps, len(f.sender.requests)-posted)
			}
		})
	}
}

func TestASendThatFailsGivesItsRateBack(t *testing.T) {
	for _, send := range []string{"retry", "test", "recover"} {
		t.Run(send, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, settings(true, 3), ok200)
			m := message()
			f.keep(t, m)
			if send == "retry" {
				f.run(t, m, "sqs-1")
			}
			mgr, q := f.manager()
			do := func() error {
				var err error
				switch send {
				case "retry":
					_, _, err = mgr.Retry(ctx, owner, f.hook.ID, m.DeliveryID, "")
				case "test":
					_, _, err = mgr.Test(ctx, owner, f.hook.ID, webhook.DocumentUploaded, "")
				case "recover":
					_, _, err = mgr.Recover(ctx, owner, f.hook.ID, delivery.Window{Since: m.EventTime}, "")
				}
				return err
			}
			f.store.sendMax = 1 // one send left this minute
			q.err = errors.New("sqs down")
			if err := do(); err == nil {
				t.Fatal("a send whose message was not queued succeeded")
			}
			q.err = nil
			if err := do(); err != nil || len(q.sent) != 1 {
				t.Fatalf("the same send once the queue is back: %v, %d queued; want the failed send's rate given back", err, len(q.sent))
			}
		})
	}
}
