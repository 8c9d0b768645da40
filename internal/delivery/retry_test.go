package delivery_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/delivery"
)

func TestRetryOfADeliveredDeliveryPostsOnceMoreWithTheSameID(t *testing.T) {
	f := newFixture(t, settings(true, 3), ok200)
	m := message()
	f.keep(t, m)
	f.run(t, m, "sqs-1")
	mgr, q := f.manager()
	f.now = f.now.Add(time.Minute)
	sum, replayed, err := mgr.Retry(context.Background(), owner, f.hook.ID, m.DeliveryID, "key-1")
	if err != nil || replayed || sum.State != delivery.StatePending || sum.ID != m.DeliveryID {
		t.Fatalf("retry: %+v, replayed %v, %v", sum, replayed, err)
	}
	// The same key again replays, and queues nothing more.
	if _, replayed, err := mgr.Retry(context.Background(), owner, f.hook.ID, m.DeliveryID, "key-1"); err != nil || !replayed {
		t.Fatalf("replay: replayed %v, %v", replayed, err)
	}
	if len(q.sent) != 1 || q.sent[0].Claim == "" || !bytes.Equal(q.sent[0].Payload, m.Payload) {
		t.Fatalf("queued %+v, want one message with a claim and the event's payload", q.sent)
	}
	// The old message, delivered again, posts nothing; the new one posts once.
	if step, err := f.d.Deliver(context.Background(), m, "sqs-1"); err != nil || step.Outcome != delivery.OutcomeDuplicate {
		t.Fatalf("old message: %+v, %v", step, err)
	}
	steps := f.run(t, q.sent[0], "sqs-2")
	if len(f.sender.requests) != 2 || f.sender.requests[1].DeliveryID != m.DeliveryID || steps[len(steps)-1].Outcome != delivery.OutcomeDelivered {
		t.Fatalf("requests %d, second id %q, steps %+v", len(f.sender.requests), f.sender.requests[len(f.sender.requests)-1].DeliveryID, steps)
	}
	if st := f.store.deliveries[m.DeliveryID]; st.State != delivery.StateDelivered || st.Attempts != 2 {
		t.Fatalf("delivery after the retry: %+v", st)
	}
}

func TestRetryOfAFailedDeliveryIsOneAttemptWithoutANotice(t *testing.T) {
	f := newFixture(t, settings(true, 1), fail500)
	n := &notices{}
	f.d.Notifier = n
	m := message()
	f.keep(t, m)
	f.run(t, m, "sqs-1")
	mgr, q := f.manager()
	if _, _, err := mgr.Retry(context.Background(), owner, f.hook.ID, m.DeliveryID, ""); err != nil {
		t.Fatal(err)
	}
	steps := f.run(t, q.sent[0], "sqs-2")
	if len(f.sender.requests) != 3 || len(steps) != 1 || steps[0].Outcome != delivery.OutcomeFailed {
		t.Fatalf("requests %d, steps %+v: want 2 attempts, then exactly 1 more", len(f.sender.requests), steps)
	}
	// The automatic attempts' exhaustion is noticed; the manual attempt's
	// failure, which the customer asked for and sees, is not.
	if len(n.sent) != 1 || n.sent[0].Type != delivery.NoticeDeliveryExhausted || n.sent[0].Attempts != 2 {
		t.Fatalf("notices %+v, want one delivery.exhausted after 2 attempts", n.sent)
	}
}

func TestRetryRefusals(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, settings(true, 3), fail500)
	f.d.Schedule = delivery.Schedule{delivery.ResendMargin / 2}
	m := message()
	f.keep(t, m)
	if _, err := f.d.Deliver(ctx, m, "sqs-1"); err != nil { // attempt 1 fails; attempt 2 due within ResendMargin
		t.Fatal(err)
	}
	mgr, q := f.manager()
	_, _, err := mgr.Retry(ctx, owner, f.hook.ID, m.DeliveryID, "")
	if code(err) != apperr.CodeDeliveryInProgress {
		t.Fatalf("retry with an attempt due within ResendMargin: %v", err)
	}
	if _, _, err := mgr.Retry(ctx, owner, f.hook.ID, delivery.DeliveryID("evt_9", f.hook.ID, f.now), ""); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("unknown delivery: %v", err)
	}
	other := owner
	other.Account = "acct_2"
	if _, _, err := mgr.Retry(ctx, other, f.hook.ID, m.DeliveryID, ""); apperr.KindOf(err) != apperr.NotFound {
		t.Fatalf("another account's delivery: %v", err)
	}
	f.store.sendMax = 0
	f.store.sends[f.hook.ID] = delivery.SendsPerMinute
	f.d.Schedule = delivery.Schedule{time.Hour}
	w := f.store.hook(f.hook.ID)
	w.IsActive = false
	f.store.hooks[w.ID] = w
	if _, _, err := mgr.Retry(ctx, owner, f.hook.ID, m.DeliveryID, ""); code(err) != apperr.CodeWebhookDisabled {
		t.Fatalf("disabled webhook: %v", err)
	}
	w.IsActive = true
	f.store.hooks[w.ID] = w
	f.now = f.now.Add(2 * time.Minute)
	if _, err := f.d.Deliver(ctx, m, "sqs-1"); err != nil { // attempt 2 fails; attempt 3 due in an hour
		t.Fatal(err)
	}
	_, _, err = mgr.Retry(ctx, owner, f.hook.ID, m.DeliveryID, "")
	if e := apperr.As(err); e == nil || e.Code != apperr.CodeRateLimited || e.RetryAfter <= 0 {
		t.Fatalf("over the rate: %v", err)
	}
	if len(q.sent) != 0 {
		t.Fatalf("refused retries queued %d messages", len(q.sent))
	}
	delete(f.store.sends, f.hook.ID)
	if _, _, err := mgr.Retry(ctx, owner, f.hook.ID, m.DeliveryID, ""); err != nil || len(q.sent) != 1 {
		t.Fatalf("a sleeping pending delivery is brought forward: %v, %d queued", err, len(q.sent))
	}
	// The message it took over from waits, unattempted, while the send's
	// message may be on its way; once that one records its attempt, the
	// old one is a duplicate.
	if step, err := f.d.Deliver(ctx, m, "sqs-1"); err != nil || step.Outcome != delivery.OutcomeEarly || len(f.sender.requests) != 2 {
		t.Fatalf("the message it took over from, before the send's attempt: %+v, %v, %d requests", step, err, len(f.sender.requests))
	}
	if _, err := f.d.Deliver(ctx, q.sent[0], "sqs-2"); err != nil {
		t.Fatal(err)
	}
	if step, err := f.d.Deliver(ctx, m, "sqs-1"); err != nil || step.Outcome != delivery.OutcomeDuplicate {
		t.Fatalf("the message it took over from: %+v, %v", step, err)
	}
}

func TestARetryWaitsForAPendingNotice(t *testing.T) {
	f := newFixture(t, settings(true, 0), fail500)
	f.d.Notifier = &notices{fail: 1}
	m := message()
	f.keep(t, m)
	if _, err := f.d.Deliver(context.Background(), m, "sqs-1"); err == nil {
		t.Fatal("want the notice's failure")
	}
	mgr, _ := f.manager()
	if _, _, err := mgr.Retry(context.Background(), owner, f.hook.ID, m.DeliveryID, ""); code(err) != apperr.CodeDeliveryInProgress {
		t.Fatalf("retry while its notice is pending: %v", err)
	}
}
