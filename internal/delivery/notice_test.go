package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
)

func TestNoticesArePublishedUntilTheyGoOut(t *testing.T) {
	f := newFixture(t, settings(true, 3), status(410))
	n := &notices{fail: 1}
	f.d.Notifier = n
	m := message()
	step, err := f.d.Deliver(context.Background(), m, "sqs-1")
	if err == nil || step.Attempt == nil {
		t.Fatalf("a notice that could not be published: %+v, %v; want the attempt and an error, so the message comes back", step, err)
	}
	if st := f.store.deliveries[m.DeliveryID]; st.State != delivery.StateFailed || !st.NoticePending {
		t.Fatalf("delivery %+v, want failed with its notice pending", st)
	}
	step, err = f.d.Deliver(context.Background(), m, "sqs-1")
	if err != nil || step.Outcome != delivery.OutcomeDuplicate || len(n.sent) != 1 {
		t.Fatalf("redelivery: %+v, %v, notices %+v", step, err, n.sent)
	}
	got := n.sent[0]
	if got.Type != delivery.NoticeWebhookDisabled || got.Reason != delivery.ReasonGone || got.WebhookID != f.hook.ID || got.Account != owner.Account {
		t.Fatalf("notice %+v", got)
	}
	if st := f.store.deliveries[m.DeliveryID]; st.NoticePending || len(f.sender.requests) != 1 {
		t.Fatalf("delivery %+v after the notice, %d requests", st, len(f.sender.requests))
	}
}

func TestAStaleDisableAnnouncesNothing(t *testing.T) {
	f := newFixture(t, settings(true, 3), status(410))
	n := &notices{}
	f.d.Notifier = n
	// The webhook changes while the attempt is made (a PATCH): the 410
	// answered the webhook as it was, so it is not disabled.
	f.sender.onSend = func() {
		w := f.store.hook(f.hook.ID)
		w.Version++
		f.store.mu.Lock()
		f.store.hooks[w.ID] = w
		f.store.mu.Unlock()
	}
	if _, err := f.d.Deliver(context.Background(), message(), "sqs-1"); err != nil {
		t.Fatal(err)
	}
	if w := f.store.hook(f.hook.ID); !w.IsActive || len(n.sent) != 0 {
		t.Fatalf("webhook active %v, notices %+v; want it active and no notice", w.IsActive, n.sent)
	}
}

func TestARepublishedNoticeCarriesTheTimeOfTheOutcome(t *testing.T) {
	f := newFixture(t, settings(true, 3), status(410))
	n := &notices{fail: 1}
	f.d.Notifier = n
	m := message()
	decided := f.now
	if _, err := f.d.Deliver(context.Background(), m, "sqs-1"); err == nil {
		t.Fatal("want the notice's failure")
	}
	// The message comes back later and publishes the notice.
	f.now = f.now.Add(30 * time.Second)
	if _, err := f.d.Deliver(context.Background(), m, "sqs-1"); err != nil || len(n.sent) != 1 {
		t.Fatalf("redelivery: %v, notices %+v", err, n.sent)
	}
	if got := n.sent[0].At; !got.Equal(decided) {
		t.Fatalf("notice at %s, want the outcome's time %s", got, decided)
	}
}
