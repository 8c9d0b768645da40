package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/webhook"
)

func TestRecoverSendsWhatWasNotDeliveredOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, settings(true, 0), ok200)
	at := f.now.Add(-time.Hour)
	event := func(id string, typ webhook.EventType, i int) delivery.Message {
		m := message()
		m.EventID, m.EventType, m.EventTime = id, typ, at.Add(time.Duration(i)*time.Second)
		m.DeliveryID = delivery.DeliveryID(id, f.hook.ID, m.EventTime)
		f.keep(t, m)
		return m
	}
	delivered := event("evt_a", webhook.DocumentUploaded, 0)
	f.run(t, delivered, "sqs-a")
	missed := event("evt_b", webhook.DocumentUploaded, 1) // published while the endpoint was disabled
	event("evt_c", webhook.DocumentProcessingFailed, 2)   // a type the webhook does not take
	failed := event("evt_d", webhook.DocumentUploaded, 3)
	f.sender.script = []delivery.Response{fail500}
	f.run(t, failed, "sqs-d")
	missed2 := event("evt_e", webhook.DocumentUploaded, 3)
	f.sender.script = []delivery.Response{ok200}
	mgr, q := f.manager()
	f.store.sendMax = 2 // two now, the third on the next request
	r, _, err := mgr.Recover(ctx, owner, f.hook.ID, delivery.Window{Since: at, Until: f.now}, "")
	if err != nil || len(r.Deliveries) != 2 || !r.HasMore || r.Deliveries[0] != missed.DeliveryID || r.Deliveries[1] != failed.DeliveryID {
		t.Fatalf("first recovery: %+v, %v", r, err)
	}
	if _, _, err := mgr.Recover(ctx, owner, f.hook.ID, r.Next, ""); code(err) != apperr.CodeRateLimited {
		t.Fatalf("recovery over the rate: %v", err)
	}
	f.store.sendMax = 10
	r2, _, err := mgr.Recover(ctx, owner, f.hook.ID, r.Next, "")
	if err != nil || len(r2.Deliveries) != 1 || r2.Deliveries[0] != missed2.DeliveryID || r2.HasMore {
		t.Fatalf("second recovery from %+v: %+v, %v", r.Next, r2, err)
	}
	for i, msg := range q.sent {
		f.run(t, msg, "sqs-r"+string(rune('0'+i)))
	}
	posts := map[string]int{}
	for _, req := range f.sender.requests {
		posts[req.DeliveryID]++
	}
	want := map[string]int{delivered.DeliveryID: 1, missed.DeliveryID: 1, failed.DeliveryID: 2, missed2.DeliveryID: 1}
	if len(posts) != len(want) {
		t.Fatalf("posts %v, want %v", posts, want)
	}
	for id, n := range want {
		if posts[id] != n {
			t.Fatalf("posts %v, want %v", posts, want)
		}
	}
	// Everything is delivered now: a third recovery sends nothing.
	r3, _, err := mgr.Recover(ctx, owner, f.hook.ID, delivery.Window{Since: at, Until: f.now}, "")
	if err != nil || len(r3.Deliveries) != 0 || r3.HasMore {
		t.Fatalf("recovery after everything was delivered: %+v, %v", r3, err)
	}
	if _, _, err := mgr.Recover(ctx, owner, f.hook.ID, delivery.Window{Since: f.now.Add(-delivery.RecoverWindow - time.Hour), Until: f.now}, ""); code(err) != apperr.CodeSinceInvalid {
		t.Fatalf("a window past the limit: %v", err)
	}
}

func TestRecoverBringsForwardWaitingDeliveriesAndRestoresTheRetries(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, settings(true, 2), fail500)
	waiting := message()
	f.wait(t, waiting)
	failed := message()
	failed.EventID, failed.EventTime = "evt_2", waiting.EventTime.Add(time.Second)
	failed.DeliveryID = delivery.DeliveryID(failed.EventID, f.hook.ID, failed.EventTime)
	f.keep(t, failed)
	f.d.Schedule = delivery.Schedule{0}
	f.run(t, failed, "sqs-2") // 3 attempts, failed
	mgr, q := f.manager()
	r, _, err := mgr.Recover(ctx, owner, f.hook.ID, delivery.Window{Since: waiting.EventTime.Add(-time.Minute), Until: f.now}, "")
	if err != nil || len(r.Deliveries) != 2 {
		t.Fatalf("recover: %+v, %v; want both the waiting and the failed delivery", r, err)
	}
	if st := f.store.deliveries[failed.DeliveryID]; st.AttemptLimit != 3+3 {
		t.Fatalf("recovered failed delivery: %+v, want the webhook's 3 attempts more", st)
	}
	if len(q.sent) != 2 || q.sent[0].DeliveryID != waiting.DeliveryID {
		t.Fatalf("queued %+v", q.sent)
	}
	if step, err := f.d.Deliver(ctx, waiting, "sqs-1"); err != nil || step.Outcome != delivery.OutcomeEarly {
		t.Fatalf("the message the recovery took over from, before the recovery's attempt: %+v, %v", step, err)
	}
	if _, err := f.d.Deliver(ctx, q.sent[0], "sqs-r"); err != nil {
		t.Fatal(err)
	}
	if step, err := f.d.Deliver(ctx, waiting, "sqs-1"); err != nil || step.Outcome != delivery.OutcomeDuplicate {
		t.Fatalf("the message the recovery took over from: %+v, %v", step, err)
	}
}

func TestRecoverLeavesAFreshFanoutToItsMessage(t *testing.T) {
	f := newFixture(t, settings(true, 3), ok200)
	w := f.store.hook(f.hook.ID)
	w.UpdatedAt = f.now.Add(-time.Hour)
	f.store.hooks[w.ID] = w
	fresh := message() // queued by the fan-out a minute ago; its first attempt not yet recorded
	fresh.EventID, fresh.EventTime = "evt_fresh", f.now.Add(-time.Minute)
	fresh.DeliveryID = delivery.DeliveryID(fresh.EventID, w.ID, fresh.EventTime)
	f.keep(t, fresh)
	lost := message() // queued 20 minutes ago, never attempted: its message was lost
	lost.EventID, lost.EventTime = "evt_lost", f.now.Add(-20*time.Minute)
	lost.DeliveryID = delivery.DeliveryID(lost.EventID, w.ID, lost.EventTime)
	f.keep(t, lost)
	mgr, _ := f.manager()
	r, _, err := mgr.Recover(context.Background(), owner, w.ID, delivery.Window{Since: f.now.Add(-30 * time.Minute)}, "")
	if err != nil || len(r.Deliveries) != 1 || r.Deliveries[0] != lost.DeliveryID {
		t.Fatalf("recover: %+v, %v; want only the lost delivery", r, err)
	}
}

func TestRecoverSendsAnEventOfTheSecondOfTheReEnable(t *testing.T) {
	f := newFixture(t, settings(true, 3), ok200)
	// The webhook was re-enabled two minutes ago, 700 ms into a second;
	// webhook.Service keeps updated_at to the second, and EventBridge
	// stamps events to the second too.
	w := f.store.hook(f.hook.ID)
	reEnabled := f.now.Add(-2 * time.Minute).Add(700 * time.Millisecond)
	w.UpdatedAt = reEnabled.Truncate(time.Second)
	f.store.hooks[w.ID] = w
	event := func(id string, at time.Time) delivery.Message {
		m := message()
		m.EventID, m.EventTime = id, at
		m.DeliveryID = delivery.DeliveryID(id, w.ID, at)
		f.keep(t, m)
		return m
	}
	// Published 300 ms into that second, while the webhook was still
	// disabled: the fan-out never queued it, and it is stamped with the
	// re-enable's second.
	missed := event("evt_same_second", reEnabled.Truncate(time.Second))
	// Stamped a second later, so published after the re-enable: the
	// fan-out queued it, and its message is on its way.
	event("evt_next_second", reEnabled.Truncate(time.Second).Add(time.Second))
	mgr, _ := f.manager()
	r, _, err := mgr.Recover(context.Background(), owner, w.ID, delivery.Window{Since: reEnabled.Add(-time.Minute)}, "")
	if err != nil || len(r.Deliveries) != 1 || r.Deliveries[0] != missed.DeliveryID {
		t.Fatalf("recover: %+v, %v; want only the event of the re-enable's second", r, err)
	}
}
