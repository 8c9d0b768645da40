package delivery_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/tenant"
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

// Each refusal is its own delivery: a webhook with one delivery whose
// first attempt failed and whose next waits an hour, changed as the case
// says. A refused retry queues nothing, changes nothing and takes no send.
func TestRetryRefusals(t *testing.T) {
	other := owner
	other.Account = "acct_2"
	for _, tc := range []struct {
		name string
		// change sets the case up, and returns the retry's owner and
		// delivery id.
		change func(f *fixture, m delivery.Message) (tenant.Tenant, string)
		// refused reports whether err is the refusal wanted.
		refused func(err error) bool
	}{
		{
			name: "an attempt due within ResendMargin",
			change: func(f *fixture, m delivery.Message) (tenant.Tenant, string) {
				f.now = f.store.deliveries[m.DeliveryID].NextAttemptAt.Add(-delivery.ResendMargin / 2)
				return owner, m.DeliveryID
			},
			refused: func(err error) bool { return code(err) == apperr.CodeDeliveryInProgress },
		},
		{
			name: "an unknown delivery",
			change: func(f *fixture, m delivery.Message) (tenant.Tenant, string) {
				return owner, delivery.DeliveryID("evt_9", f.hook.ID, f.now)
			},
			refused: func(err error) bool { return apperr.KindOf(err) == apperr.NotFound },
		},
		{
			name: "another account's delivery",
			change: func(f *fixture, m delivery.Message) (tenant.Tenant, string) {
				return other, m.DeliveryID
			},
			refused: func(err error) bool { return apperr.KindOf(err) == apperr.NotFound },
		},
		{
			name: "a disabled webhook",
			change: func(f *fixture, m delivery.Message) (tenant.Tenant, string) {
				w := f.store.hook(f.hook.ID)
				w.IsActive = false
				f.store.hooks[w.ID] = w
				return owner, m.DeliveryID
			},
			refused: func(err error) bool { return code(err) == apperr.CodeWebhookDisabled },
		},
		{
			name: "over the rate",
			change: func(f *fixture, m delivery.Message) (tenant.Tenant, string) {
				f.store.sends[f.hook.ID] = delivery.SendsPerMinute
				return owner, m.DeliveryID
			},
			refused: func(err error) bool {
				e := apperr.As(err)
				return e != nil && e.Code == apperr.CodeRateLimited && e.RetryAfter > 0
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, settings(true, 3), fail500)
			m := message()
			f.wait(t, m)
			mgr, q := f.manager()
			who, id := tc.change(f, m)
			before, sends := f.store.deliveries[m.DeliveryID], f.store.sends[f.hook.ID]
			_, _, err := mgr.Retry(context.Background(), who, f.hook.ID, id, "")
			if !tc.refused(err) {
				t.Fatalf("retry: %v", err)
			}
			if after := f.store.deliveries[m.DeliveryID]; len(q.sent) != 0 || after != before || f.store.sends[f.hook.ID] != sends {
				t.Fatalf("a refused retry queued %d messages, left the delivery %+v (was %+v) and %d sends taken (was %d)",
					len(q.sent), after, before, f.store.sends[f.hook.ID], sends)
			}
		})
	}
}

// A retry of a delivery whose next attempt is more than ResendMargin away
// brings it forward. The message it took over from waits, unattempted,
// while the send's message may be on its way; once that one records its
// attempt, the old one is a duplicate.
func TestRetryBringsASleepingDeliveryForward(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, settings(true, 3), fail500)
	m := message()
	f.wait(t, m)
	mgr, q := f.manager()
	sum, _, err := mgr.Retry(ctx, owner, f.hook.ID, m.DeliveryID, "")
	if err != nil || len(q.sent) != 1 || !sum.NextAttemptAt.Equal(f.now) {
		t.Fatalf("retry: %+v, %v, %d queued; want its next attempt due now", sum, err, len(q.sent))
	}
	if step, err := f.d.Deliver(ctx, m, "sqs-1"); err != nil || step.Outcome != delivery.OutcomeEarly || len(f.sender.requests) != 1 {
		t.Fatalf("the message it took over from, before the send's attempt: %+v, %v, %d requests", step, err, len(f.sender.requests))
	}
	if step, err := f.d.Deliver(ctx, q.sent[0], "sqs-2"); err != nil || step.Attempt == nil || step.Attempt.Number != 2 {
		t.Fatalf("the retry's message: %+v, %v; want attempt 2", step, err)
	}
	if step, err := f.d.Deliver(ctx, m, "sqs-1"); err != nil || step.Outcome != delivery.OutcomeDuplicate || len(f.sender.requests) != 2 {
		t.Fatalf("the message it took over from: %+v, %v, %d requests", step, err, len(f.sender.requests))
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
