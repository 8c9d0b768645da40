package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/dynamo"
)

// gateOf reads webhook w's gate through Target, as the deliverer does.
func gateOf(t *testing.T, s *dynamo.Store, ctx context.Context, w string, m delivery.Message) delivery.Gate {
	t.Helper()
	target, err := s.Target(ctx, m.Owner(), w, m.DeliveryID)
	if err != nil {
		t.Fatal(err)
	}
	return target.Gate
}

// Concurrent entries never hold more slots than the limit: 20 callers
// race for 3 slots, and exactly 3 win; an exit gives a slot back, and an
// expired holder is taken over.
func TestGateSlotsAreBounded(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		w, m := deliveryFixture(t, s)
		now := time.Now().UTC()
		lim := delivery.Limits{Concurrency: 3}
		var mu sync.Mutex
		won := 0
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				err := s.Enter(ctx, delivery.Entry{WebhookID: w.ID, DeliveryID: fmt.Sprint("d", i), At: now, Limits: lim,
					Holder: delivery.Holder{Until: now.Add(time.Minute)}})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case !errors.Is(err, delivery.ErrChanged):
					t.Error(err)
				}
			})
		}
		wg.Wait()
		g := gateOf(t, s, ctx, w.ID, m)
		if won != 3 || len(g.Holders) != 3 {
			t.Fatalf("%d entries won, %d holders; want 3 of 20 for 3 slots", won, len(g.Holders))
		}
		var holder string
		for id := range g.Holders {
			holder = id
		}
		// A fourth waits; an exit frees a slot, counted for the breaker.
		fourth := delivery.Entry{WebhookID: w.ID, DeliveryID: "d-late", At: now, Limits: lim, Holder: delivery.Holder{Until: now.Add(time.Minute)}}
		if err := s.Enter(ctx, fourth); !errors.Is(err, delivery.ErrChanged) {
			t.Fatalf("a fourth entry: %v; want ErrChanged", err)
		}
		if err := s.Exit(ctx, delivery.Exit{WebhookID: w.ID, DeliveryID: holder, Holder: g.Holders[holder], At: now,
			Attempted: true, Failed: true}); err != nil {
			t.Fatal(err)
		}
		if err := s.Enter(ctx, fourth); err != nil {
			t.Fatalf("an entry after an exit: %v", err)
		}
		g = gateOf(t, s, ctx, w.ID, m)
		if tally := g.Tallies[now.Unix()/60]; tally.Attempts != 1 || tally.Failures != 1 || g.Begun[now.Unix()] != 4 {
			t.Fatalf("tally %+v, begun %v; want 1 failed attempt counted, 4 begun this second", tally, g.Begun)
		}
		// Expired holders are taken over by naming them; naming one that
		// is gone is a conflict.
		later := now.Add(2 * time.Minute)
		expired := map[string]delivery.Holder{}
		for id, h := range g.Holders {
			expired[id] = h
		}
		takeover := delivery.Entry{WebhookID: w.ID, DeliveryID: "d-next", At: later, Limits: lim, Expired: expired,
			Holder: delivery.Holder{Until: later.Add(time.Minute), Retry: true}, StaleSeconds: []int64{now.Unix()}}
		if err := s.Enter(ctx, takeover); err != nil {
			t.Fatalf("an entry taking over expired holders: %v", err)
		}
		if err := s.Enter(ctx, takeover); !errors.Is(err, delivery.ErrChanged) {
			t.Fatalf("naming holders already removed: %v; want ErrChanged", err)
		}
		g = gateOf(t, s, ctx, w.ID, m)
		if len(g.Holders) != 1 || !g.Holders["d-next"].Retry || len(g.Begun) != 1 {
			t.Fatalf("holders %+v, begun %v; want only d-next, a retry, and this second's count", g.Holders, g.Begun)
		}
	})
}

// The rate limit bounds a second's entries; the breaker's trip, probe and
// close are written as the exits say, and a closed breaker admits no
// probe while an open one admits nothing else.
func TestGateRateAndBreaker(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		w, m := deliveryFixture(t, s)
		now := time.Now().UTC().Truncate(time.Second)
		lim := delivery.Limits{Concurrency: 10, Rate: 2}
		entry := func(id string, at time.Time, probe bool) delivery.Entry {
			return delivery.Entry{WebhookID: w.ID, DeliveryID: id, At: at, Limits: lim, Probe: probe,
				Holder: delivery.Holder{Until: at.Add(time.Minute)}}
		}
		for i, want := range []bool{true, true, false} {
			if err := s.Enter(ctx, entry(fmt.Sprint("r", i), now, false)); (err == nil) != want {
				t.Fatalf("entry %d in one second: %v; want admitted %v", i, err, want)
			}
		}
		// A trip opens the breaker: no entry then, but a probe once it is
		// due; a failed probe opens it again, a successful one closes it.
		open := now.Add(30 * time.Second)
		if err := s.Exit(ctx, delivery.Exit{WebhookID: w.ID, DeliveryID: "r0", Holder: delivery.Holder{Until: now.Add(time.Minute)},
			At: now, Attempted: true, Failed: true, Trip: true, OpenUntil: open, Trips: 1}); err != nil {
			t.Fatal(err)
		}
		g := gateOf(t, s, ctx, w.ID, m)
		if !g.OpenUntil.Equal(open) || g.Trips != 1 || g.Breaker(now) != delivery.BreakerOpenState {
			t.Fatalf("after a trip: %+v; want open until %v", g, open)
		}
		if err := s.Enter(ctx, entry("x", now.Add(time.Second), false)); !errors.Is(err, delivery.ErrChanged) {
			t.Fatalf("an entry with the breaker open: %v; want ErrChanged", err)
		}
		if err := s.Enter(ctx, entry("p1", now.Add(time.Second), true)); !errors.Is(err, delivery.ErrChanged) {
			t.Fatalf("a probe before it is due: %v; want ErrChanged", err)
		}
		due := open.Add(time.Second)
		if err := s.Enter(ctx, entry("p1", due, true)); err != nil {
			t.Fatalf("a probe when due: %v", err)
		}
		if err := s.Enter(ctx, entry("p2", due, true)); !errors.Is(err, delivery.ErrChanged) {
			t.Fatalf("a second probe: %v; want ErrChanged", err)
		}
		reopen := due.Add(time.Minute)
		if err := s.Exit(ctx, delivery.Exit{WebhookID: w.ID, DeliveryID: "p1", Holder: delivery.Holder{Until: due.Add(time.Minute)},
			At: due, Attempted: true, Failed: true, Probe: true, OpenUntil: reopen, Trips: 2}); err != nil {
			t.Fatal(err)
		}
		if g := gateOf(t, s, ctx, w.ID, m); !g.OpenUntil.Equal(reopen) || g.Trips != 2 || g.Probe != "" {
			t.Fatalf("after a failed probe: %+v; want open until %v, 2 trips, no probe", g, reopen)
		}
		if err := s.Enter(ctx, entry("p3", reopen, true)); err != nil {
			t.Fatalf("the next probe: %v", err)
		}
		if err := s.Exit(ctx, delivery.Exit{WebhookID: w.ID, DeliveryID: "p3", Holder: delivery.Holder{Until: reopen.Add(time.Minute)},
			At: reopen, Attempted: true, Probe: true}); err != nil {
			t.Fatal(err)
		}
		if g := gateOf(t, s, ctx, w.ID, m); g.Breaker(reopen) != delivery.BreakerClosed || g.Trips != 0 {
			t.Fatalf("after a probe that succeeded: %+v; want closed", g)
		}
		if err := s.Enter(ctx, entry("after", reopen.Add(time.Second), false)); err != nil {
			t.Fatalf("an entry after the breaker closed: %v", err)
		}
	})
}
