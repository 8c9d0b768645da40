package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/tenant"
	"github.com/docproc/webhooks/internal/webhook"
)

// storedHistory stores seven deliveries of webhook w, of events a minute
// apart from base: every third (0, 3, 6) failed, the others delivered;
// the odd ones of type completed, the even ones uploaded. It returns
// their ids, oldest first.
func storedHistory(t *testing.T, s *dynamo.Store, w webhook.Webhook, base time.Time) []string {
	t.Helper()
	var ids []string
	for i := range 7 {
		at := base.Add(time.Duration(i) * time.Minute)
		ev := fmt.Sprintf("evt_%d", i)
		m := delivery.Message{DeliveryID: delivery.DeliveryID(ev, w.ID, at), EventID: ev, EventType: webhook.DocumentUploaded,
			EventTime: at, Account: w.Owner.Account, Mode: w.Owner.Mode, WebhookID: w.ID}
		if i%2 == 1 {
			m.EventType = webhook.DocumentProcessingCompleted
		}
		state := delivery.StateDelivered
		if i%3 == 0 {
			state = delivery.StateFailed
		}
		if _, err := save(context.Background(), s, attemptRecord(m, "msg", 1, state, delivery.NoChange)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.DeliveryID)
	}
	return ids
}

// pageIDs are the ids of a page's deliveries.
func pageIDs(p delivery.Page) []string {
	var ids []string
	for _, d := range p.Deliveries {
		ids = append(ids, d.ID)
	}
	return ids
}

// pick returns ids[i] for each i.
func pick(ids []string, is ...int) []string {
	var out []string
	for _, i := range is {
		out = append(out, ids[i])
	}
	return out
}

func TestDeliveriesListNewestFirst(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		w, _ := deliveryFixture(t, s)
		base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
		ids := storedHistory(t, s, w, base)
		other, _ := deliveryFixture(t, s)
		storedHistory(t, s, other, base) // another webhook's

		list := func(f delivery.Filter, limit int, after string) delivery.Page {
			t.Helper()
			p, err := s.Deliveries(ctx, w.ID, f, limit, after)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		for _, c := range []struct {
			name   string
			f      delivery.Filter
			limit  int
			after  string
			want   []string
			more   bool
			nextOf int
		}{
			{name: "first page", limit: 3, want: pick(ids, 6, 5, 4), more: true, nextOf: 4},
			{name: "second page", limit: 3, after: ids[4], want: pick(ids, 3, 2, 1), more: true, nextOf: 1},
			{name: "last page", limit: 3, after: ids[1], want: pick(ids, 0)},
			{name: "exactly all", limit: 7, want: pick(ids, 6, 5, 4, 3, 2, 1, 0)},
			{name: "after the oldest", limit: 3, after: ids[0]},
			{name: "failed", f: delivery.Filter{State: delivery.StateFailed}, limit: 2, want: pick(ids, 6, 3), more: true, nextOf: 3},
			{name: "failed, next", f: delivery.Filter{State: delivery.StateFailed}, limit: 2, after: ids[3], want: pick(ids, 0)},
			{name: "completed", f: delivery.Filter{Type: webhook.DocumentProcessingCompleted}, limit: 10, want: pick(ids, 5, 3, 1)},
			{name: "failed uploads", f: delivery.Filter{State: delivery.StateFailed, Type: webhook.DocumentUploaded}, limit: 10, want: pick(ids, 6, 0)},
			{name: "since included, until not", f: delivery.Filter{Since: base.Add(2 * time.Minute), Until: base.Add(5 * time.Minute)},
				limit: 10, want: pick(ids, 4, 3, 2)},
			{name: "window after a cursor past it", f: delivery.Filter{Since: base.Add(2 * time.Minute), Until: base.Add(5 * time.Minute)},
				limit: 10, after: ids[6], want: pick(ids, 4, 3, 2)},
			{name: "window after a cursor in it", f: delivery.Filter{Since: base.Add(2 * time.Minute), Until: base.Add(5 * time.Minute)},
				limit: 10, after: ids[3], want: pick(ids, 2)},
			{name: "empty window", f: delivery.Filter{Since: base.Add(5 * time.Minute), Until: base.Add(2 * time.Minute)}, limit: 10},
		} {
			p := list(c.f, c.limit, c.after)
			next := ""
			if c.more {
				next = ids[c.nextOf]
			}
			if !slices.Equal(pageIDs(p), c.want) || p.HasMore != c.more || p.Next != next {
				t.Errorf("%s: got %v more=%v next=%s; want %v more=%v next=%s", c.name, pageIDs(p), p.HasMore, p.Next, c.want, c.more, next)
			}
		}
		got := list(delivery.Filter{}, 1, "").Deliveries[0]
		if got.EventID != "evt_6" || got.EventType != webhook.DocumentUploaded || !got.EventTime.Equal(base.Add(6*time.Minute)) ||
			got.State != delivery.StateFailed || got.Attempts != 1 || got.LastStatus != 500 || got.LastAttemptAt.IsZero() ||
			got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() || got.Test || !got.Exists {
			t.Errorf("newest summary: %+v", got)
		}
	})
}

func TestDeliveriesLookAtABoundedNumber(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		s.SetMaxExamined(4)
		w, _ := deliveryFixture(t, s)
		ids := storedHistory(t, s, w, time.Now().UTC().Add(-time.Hour))
		failed := delivery.Filter{State: delivery.StateFailed}
		// Four looked at (6 to 3): a short page, to go on after the fourth.
		p, err := s.Deliveries(ctx, w.ID, failed, 10, "")
		if err != nil || !slices.Equal(pageIDs(p), pick(ids, 6, 3)) || !p.HasMore || p.Next != ids[3] {
			t.Fatalf("bounded page: %v more=%v next=%s, %v; want %v, more after %s", pageIDs(p), p.HasMore, p.Next, err, pick(ids, 6, 3), ids[3])
		}
		// Four looked at, none a match: an empty page that goes on.
		p, err = s.Deliveries(ctx, w.ID, delivery.Filter{State: delivery.StateFailed, Type: webhook.DocumentProcessingFailed}, 10, "")
		if err != nil || len(p.Deliveries) != 0 || !p.HasMore || p.Next != ids[3] {
			t.Fatalf("bounded empty page: %v more=%v next=%s, %v", pageIDs(p), p.HasMore, p.Next, err)
		}
		p, err = s.Deliveries(ctx, w.ID, failed, 10, ids[3])
		if err != nil || !slices.Equal(pageIDs(p), pick(ids, 0)) || p.HasMore {
			t.Fatalf("rest: %v more=%v next=%s, %v", pageIDs(p), p.HasMore, p.Next, err)
		}
		// Unfiltered, the bound is above any page.
		p, err = s.Deliveries(ctx, w.ID, delivery.Filter{}, 3, "")
		if err != nil || !slices.Equal(pageIDs(p), pick(ids, 6, 5, 4)) || !p.HasMore || p.Next != ids[4] {
			t.Fatalf("unfiltered: %v more=%v next=%s, %v", pageIDs(p), p.HasMore, p.Next, err)
		}
	})
}

// TestExpiredDeliveriesAreGone checks that a delivery whose TTL passed,
// which DynamoDB may not have removed yet, is neither listed nor read.
func TestExpiredDeliveriesAreGone(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		w, _ := deliveryFixture(t, s)
		ids := storedHistory(t, s, w, time.Now().UTC().Add(-time.Hour))
		// evt_7, newest, and evt_5 expired a minute ago.
		var gone []string
		for _, i := range []int{5, 7} {
			at := time.Now().UTC().Add(-time.Hour + time.Duration(i)*time.Minute)
			ev := fmt.Sprintf("evt_%d", i)
			m := delivery.Message{DeliveryID: delivery.DeliveryID(ev+"x", w.ID, at), EventID: ev + "x", EventType: webhook.DocumentUploaded,
				EventTime: at, Account: w.Owner.Account, Mode: w.Owner.Mode, WebhookID: w.ID}
			r := attemptRecord(m, "msg", 1, delivery.StateDelivered, delivery.NoChange)
			r.Expires = time.Now().Add(-time.Minute)
			if _, err := save(ctx, s, r); err != nil {
				t.Fatal(err)
			}
			gone = append(gone, m.DeliveryID)
		}
		p, err := s.Deliveries(ctx, w.ID, delivery.Filter{}, 3, "")
		if err != nil || !slices.Equal(pageIDs(p), pick(ids, 6, 5, 4)) || !p.HasMore || p.Next != ids[4] {
			t.Fatalf("first page: %v more=%v next=%s, %v; want %v", pageIDs(p), p.HasMore, p.Next, err, pick(ids, 6, 5, 4))
		}
		p, err = s.Deliveries(ctx, w.ID, delivery.Filter{State: delivery.StateDelivered}, 10, "")
		if err != nil || !slices.Equal(pageIDs(p), pick(ids, 5, 4, 2, 1)) || p.HasMore {
			t.Fatalf("delivered: %v more=%v, %v; want %v", pageIDs(p), p.HasMore, err, pick(ids, 5, 4, 2, 1))
		}
		for _, id := range gone {
			if _, err := s.Delivery(ctx, w.ID, id); !errors.Is(err, delivery.ErrNotFound) {
				t.Errorf("expired delivery %s: %v, want ErrNotFound", id, err)
			}
		}
	})
}

// The Store's clock, not the machine's, tells which items have expired.
func TestTheClockTellsExpiredItems(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		w, m := deliveryFixture(t, s)
		r := attemptRecord(m, "msg", 1, delivery.StateDelivered, delivery.NoChange)
		if _, err := save(ctx, s, r); err != nil {
			t.Fatal(err)
		}
		ev := delivery.Event{ID: m.EventID, Type: m.EventType, Owner: w.Owner, Time: m.EventTime, SourceID: "eb-1", Payload: []byte(`{}`)}
		if _, err := s.Keep(ctx, ev, r.Expires); err != nil {
			t.Fatal(err)
		}
		s.SetClock(func() time.Time { return r.Expires.Add(-time.Second) })
		if p, err := s.Deliveries(ctx, w.ID, delivery.Filter{}, 10, ""); err != nil || len(p.Deliveries) != 1 {
			t.Fatalf("deliveries before expiry: %v, %v", pageIDs(p), err)
		}
		if _, err := s.Event(ctx, w.Owner, ev.ID); err != nil {
			t.Fatalf("event before expiry: %v", err)
		}
		s.SetClock(func() time.Time { return r.Expires.Add(time.Second) })
		if p, err := s.Deliveries(ctx, w.ID, delivery.Filter{}, 10, ""); err != nil || len(p.Deliveries) != 0 {
			t.Errorf("deliveries after expiry: %v, %v; want none", pageIDs(p), err)
		}
		if _, err := s.Delivery(ctx, w.ID, m.DeliveryID); !errors.Is(err, delivery.ErrNotFound) {
			t.Errorf("delivery after expiry: %v, want ErrNotFound", err)
		}
		if _, err := s.Event(ctx, w.Owner, ev.ID); !errors.Is(err, delivery.ErrNotFound) {
			t.Errorf("event after expiry: %v, want ErrNotFound", err)
		}
		if p, err := s.Payloads(ctx, w.Owner, []string{ev.ID}); err != nil || len(p) != 0 {
			t.Errorf("payloads after expiry: %v, %v; want none", p, err)
		}
	})
}

func TestDeliveryWithItsAttempts(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		w, m := deliveryFixture(t, s)
		m.Test = true
		first := attemptRecord(m, "msg-a", 1, delivery.StatePending, delivery.NoChange)
		first.Attempt.Response = delivery.Response{Error: delivery.ClassTimeout, Duration: 15 * time.Second}
		if _, err := save(ctx, s, first); err != nil {
			t.Fatal(err)
		}
		if _, err := save(ctx, s, attemptRecord(m, "msg-a", 2, delivery.StateDelivered, delivery.NoChange)); err != nil {
			t.Fatal(err)
		}
		sum, err := s.Delivery(ctx, w.ID, m.DeliveryID)
		if err != nil || sum.ID != m.DeliveryID || sum.State != delivery.StateDelivered || sum.Attempts != 2 || !sum.Test ||
			sum.LastStatus != 204 || sum.LastError != "" {
			t.Fatalf("delivery: %+v, %v", sum, err)
		}
		attempts, err := s.Attempts(ctx, w.ID, m.DeliveryID)
		if err != nil || len(attempts) != 2 {
			t.Fatalf("attempts: %+v, %v", attempts, err)
		}
		if a := attempts[0]; a.Number != 1 || a.Response.Error != delivery.ClassTimeout || a.Response.Status != 0 ||
			a.Response.Duration != 15*time.Second || a.URL != "https://e.example.com" || a.At.IsZero() || a.WebhookID != w.ID {
			t.Errorf("first attempt: %+v", a)
		}
		if a := attempts[1]; a.Number != 2 || a.Response.Status != 204 || string(a.Response.Body) != "oops" ||
			a.Response.Duration != 12*time.Millisecond || a.Owner != w.Owner || a.EventID != m.EventID {
			t.Errorf("second attempt: %+v", a)
		}
		if _, err := s.Delivery(ctx, w.ID, delivery.DeliveryID("evt_none", w.ID, time.Now())); !errors.Is(err, delivery.ErrNotFound) {
			t.Fatalf("missing delivery: %v, want ErrNotFound", err)
		}
	})
}

func TestStatusesOfManyDeliveries(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStore(t, b)
		w, _ := deliveryFixture(t, s)
		base := time.Now().UTC().Add(-time.Hour)
		ids := storedHistory(t, s, w, base)
		asked := slices.Clone(ids)
		for i := range 150 { // never recorded: more than one batch
			asked = append(asked, delivery.DeliveryID(fmt.Sprintf("evt_x%d", i), w.ID, base))
		}
		asked = append(asked, ids[0]) // twice
		got, err := s.Statuses(context.Background(), w.ID, asked)
		if err != nil || len(got) != len(ids) {
			t.Fatalf("statuses: %d, %v; want %d", len(got), err, len(ids))
		}
		for i, id := range ids {
			want := delivery.StateDelivered
			if i%3 == 0 {
				want = delivery.StateFailed
			}
			if st := got[id]; !st.Exists || st.State != want || st.Attempts != 1 {
				t.Errorf("status of %d: %+v, want %s", i, st, want)
			}
		}
	})
}

// TestEventsIndexAsTheTemplateDeclares checks that the tests' tables, made
// from template.yaml, have the events-by-time index with its projection.
func TestEventsIndexAsTheTemplateDeclares(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		s := newStore(t, b)
		out, err := dynamo.NewClient(b.Config(t)).DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(s.Table())})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range out.Table.GlobalSecondaryIndexes {
			if aws.ToString(g.IndexName) != "events-by-time" {
				continue
			}
			if p := g.Projection; p.ProjectionType != types.ProjectionTypeInclude ||
				!slices.Equal(p.NonKeyAttributes, []string{"event_id", "event_type", "time", "expires_at"}) {
				t.Errorf("events-by-time projects %s %v", p.ProjectionType, p.NonKeyAttributes)
			}
			return
		}
		t.Errorf("no events-by-time index in %+v", out.Table.GlobalSecondaryIndexes)
	})
}

func TestEventsByTime(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		owner := tenant.Tenant{Account: testenv.Unique("acct_"), Mode: tenant.Live}
		const day = 24 * time.Hour
		// Events around two UTC midnights, so that windows cross the
		// index's day partitions.
		mid := time.Now().UTC().Truncate(day).Add(-2 * day)
		keep := func(id string, at time.Time, o tenant.Tenant, test bool, expires time.Time) delivery.Event {
			t.Helper()
			ev := delivery.Event{ID: id, Type: webhook.DocumentUploaded, Owner: o, Time: at, SourceID: "eb-" + id,
				Payload: []byte(`{"id":"` + id + `"}`), Test: test}
			if _, err := s.Keep(ctx, ev, expires); err != nil {
				t.Fatal(err)
			}
			return ev
		}
		later := time.Now().Add(time.Hour)
		keep("evt_0", mid.Add(-2*time.Minute), owner, false, later)
		keep("evt_1", mid.Add(-time.Minute+time.Nanosecond), owner, false, later)
		keep("evt_2a", mid, owner, false, later)
		keep("evt_2b", mid, owner, false, later)
		keep("evt_3", mid.Add(time.Minute), owner, false, later)
		keep("evt_4", mid.Add(day+time.Minute), owner, false, later)
		keep("evt_old", mid.Add(time.Minute), owner, false, time.Now().Add(-time.Minute)) // expired, not yet removed
		tev := keep("evt_test", mid, owner, true, later)
		keep("evt_other", mid, tenant.Tenant{Account: owner.Account, Mode: tenant.Test}, false, later)

		events := func(since, until time.Time, after string, limit int) ([]string, bool) {
			t.Helper()
			evs, more, err := s.Events(ctx, owner, since, until, after, limit)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, ev := range evs {
				if ev.Owner != owner || ev.Payload != nil || ev.Test || ev.Type != webhook.DocumentUploaded || ev.Time.IsZero() {
					t.Errorf("event %+v", ev)
				}
				ids = append(ids, ev.ID)
			}
			return ids, more
		}
		for _, c := range []struct {
			name         string
			since, until time.Time
			after        string
			limit        int
			want         []string
			more         bool
		}{
			{"window across midnight", mid.Add(-time.Minute), mid.Add(day + time.Minute), "", 10, []string{"evt_1", "evt_2a", "evt_2b", "evt_3"}, false},
			{"three days", mid.Add(-2 * time.Minute), mid.Add(2 * day), "", 10, []string{"evt_0", "evt_1", "evt_2a", "evt_2b", "evt_3", "evt_4"}, false},
			{"limited", mid.Add(-time.Minute), mid.Add(day), "", 2, []string{"evt_1", "evt_2a"}, true},
			{"limited, more in the next day", mid.Add(-2 * time.Minute), mid.Add(day), "", 2, []string{"evt_0", "evt_1"}, true},
			{"after a cursor", mid, mid.Add(2 * day), "evt_2a", 10, []string{"evt_2b", "evt_3", "evt_4"}, false},
			{"after a cursor before midnight", mid.Add(-time.Minute + time.Nanosecond), mid.Add(day), "evt_1", 10, []string{"evt_2a", "evt_2b", "evt_3"}, false},
			{"limit reached at the end", mid, mid.Add(day), "evt_2a", 2, []string{"evt_2b", "evt_3"}, false},
			{"empty", mid.Add(day + 2*time.Minute), mid.Add(day + 3*time.Minute), "", 10, nil, false},
			{"until far ahead", mid.Add(day), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), "", 10, []string{"evt_4"}, false},
			{"since long ago", time.Time{}, mid, "", 10, []string{"evt_0", "evt_1"}, false},
		} {
			if got, more := events(c.since, c.until, c.after, c.limit); !slices.Equal(got, c.want) || more != c.more {
				t.Errorf("%s: %v more=%v; want %v more=%v", c.name, got, more, c.want, c.more)
			}
		}

		ev, err := s.Event(ctx, owner, "evt_test")
		if err != nil || !ev.Test || ev.ID != tev.ID || !ev.Time.Equal(tev.Time) || string(ev.Payload) != string(tev.Payload) ||
			ev.SourceID != tev.SourceID || ev.Type != tev.Type || ev.Owner != owner {
			t.Fatalf("test event: %+v, %v", ev, err)
		}
		for _, id := range []string{"evt_old", "evt_none", "evt_other"} {
			if _, err := s.Event(ctx, owner, id); !errors.Is(err, delivery.ErrNotFound) {
				t.Errorf("event %s: %v, want ErrNotFound", id, err)
			}
		}
	})
}
