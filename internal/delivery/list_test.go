package delivery_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/delivery"
)

func TestListAndGetShowADeliveryWithItsAttempts(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, settings(true, 3), fail500, ok200)
	m := message()
	f.keep(t, m)
	f.run(t, m, "sqs-1")
	mgr, _ := f.manager()

	page, err := mgr.List(ctx, owner, f.hook.ID, delivery.Filter{}, 10, "")
	if err != nil || len(page.Deliveries) != 1 || page.Deliveries[0].ID != m.DeliveryID || page.Deliveries[0].State != delivery.StateDelivered {
		t.Fatalf("list: %+v, %v", page, err)
	}
	for _, tc := range []struct {
		name   string
		filter delivery.Filter
		want   int
	}{
		{"its event", delivery.Filter{EventID: m.EventID}, 1},
		{"its event and state", delivery.Filter{EventID: m.EventID, State: delivery.StateDelivered}, 1},
		{"its event in another state", delivery.Filter{EventID: m.EventID, State: delivery.StateFailed}, 0},
		{"its event before its time", delivery.Filter{EventID: m.EventID, Until: m.EventTime}, 0},
		{"an event never published", delivery.Filter{EventID: "evt_never"}, 0},
	} {
		page, err := mgr.List(ctx, owner, f.hook.ID, tc.filter, 10, "")
		if err != nil || len(page.Deliveries) != tc.want {
			t.Errorf("%s: %+v, %v; want %d deliveries", tc.name, page, err, tc.want)
		}
	}

	d, err := mgr.Get(ctx, owner, f.hook.ID, m.DeliveryID)
	if err != nil || d.ID != m.DeliveryID || len(d.Attempts) != 2 || !bytes.Equal(d.Payload, m.Payload) {
		t.Fatalf("get: %+v, %v; want both attempts and the payload", d, err)
	}
	if d.Attempts[0].Response.Status != fail500.Status || d.Attempts[1].Response.Status != ok200.Status {
		t.Fatalf("attempts %+v, want the failure, then the success", d.Attempts)
	}
	if latest, err := mgr.Latest(ctx, f.hook); err != nil || latest == nil || latest.ID != m.DeliveryID {
		t.Fatalf("latest: %+v, %v", latest, err)
	}
}

func TestGetIsNotFoundOutsideItsWebhook(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, settings(true, 3), ok200)
	m := message()
	f.keep(t, m)
	f.run(t, m, "sqs-1")
	mgr, _ := f.manager()
	other := owner
	other.Account = "acct_2"
	for name, get := range map[string]func() error{
		"an unknown delivery": func() error {
			_, err := mgr.Get(ctx, owner, f.hook.ID, delivery.DeliveryID("evt_9", f.hook.ID, m.EventTime))
			return err
		},
		"a malformed id": func() error { _, err := mgr.Get(ctx, owner, f.hook.ID, "msg_nope"); return err },
		"another account's": func() error {
			_, err := mgr.Get(ctx, other, f.hook.ID, m.DeliveryID)
			return err
		},
		"an unknown webhook": func() error { _, err := mgr.Get(ctx, owner, "wh_02", m.DeliveryID); return err },
	} {
		if err := get(); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("%s: %v, want not found", name, err)
		}
	}
}

func TestBreakerShowsWhenAnOpenBreakerLetsAProbeGo(t *testing.T) {
	f := newFixture(t, settings(true, 3), ok200)
	mgr, _ := f.manager()
	if st, until, err := mgr.Breaker(context.Background(), f.hook, f.now); err != nil || st != delivery.BreakerClosed || !until.IsZero() {
		t.Fatalf("an endpoint never attempted: %s until %s, %v; want closed", st, until, err)
	}
	open := f.now.Add(30 * time.Second)
	f.store.gates[f.hook.ID] = delivery.Gate{OpenUntil: open, Trips: 1}
	if st, until, err := mgr.Breaker(context.Background(), f.hook, f.now); err != nil || st != delivery.BreakerOpenState || !until.Equal(open) {
		t.Fatalf("an open breaker: %s until %s, %v; want open until %s", st, until, err, open)
	}
	if st, until, err := mgr.Breaker(context.Background(), f.hook, open); err != nil || st != delivery.BreakerHalfOpen || !until.IsZero() {
		t.Fatalf("once its open time ended: %s until %s, %v; want half_open", st, until, err)
	}
}
