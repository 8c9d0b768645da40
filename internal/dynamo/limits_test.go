package dynamo_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/docproc/webhooks/internal/delivery"
	"github.com/docproc/webhooks/internal/dev/testenv"
	"github.com/docproc/webhooks/internal/dynamo"
	"github.com/docproc/webhooks/internal/tenant"
)

func TestManualSendsPerMinute(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		owner := tenant.Tenant{Account: "acct_1", Mode: tenant.Test}
		minuteStart := time.Now().UTC().Truncate(time.Minute)
		now, minuteEnd := minuteStart.Add(20*time.Second), minuteStart.Add(time.Minute)
		take := func(s *dynamo.Store, o tenant.Tenant, webhookID string, n int, at time.Time, want int, wantReset time.Time) {
			t.Helper()
			got, reset, err := s.Take(ctx, o, webhookID, n, at)
			if err != nil || got != want || !reset.Equal(wantReset) {
				t.Fatalf("take %d of %s at %s: %d (reset %s), %v; want %d (reset %s)", n, webhookID, at, got, reset, err, want, wantReset)
			}
		}
		// The first try commits and its answer is lost: the SDK's retry
		// counts it again, so the webhook's count runs high by 100.
		in := testenv.NewInjector(testenv.Fault{Operation: "UpdateItem", Times: 1, AfterSend: true, Err: testenv.ConnectionReset{}})
		lossy := dynamo.New(dynamo.NewClient(b.Config(t, in.Middleware)), s.Table())
		take(lossy, owner, "wh_a", 100, now, 100, minuteEnd)
		if n := in.Calls("UpdateItem"); n != 3 {
			t.Fatalf("%d UpdateItem calls of the lossy take, want 3 (two tries, then the account's count)", n)
		}
		take(s, owner, "wh_a", 150, now.Add(30*time.Second), 100, minuteEnd) // what is left: 300 - 200
		take(s, owner, "wh_a", 1, now, 0, minuteEnd)
		// The account's count: 200 taken so far, 400 left for its other
		// webhooks.
		take(s, owner, "wh_b", 300, now, 300, minuteEnd)
		take(s, owner, "wh_c", 300, now, 100, minuteEnd)
		take(s, owner, "wh_c", 1, now, 0, minuteEnd)
		// wh_c's count got back what the account refused: 200 are left
		// of it (webhook ids are unique; another owner shows the count).
		other := tenant.Tenant{Account: "acct_2", Mode: tenant.Test}
		take(s, other, "wh_c", 300, now, 200, minuteEnd)
		// The other mode is another count.
		take(s, tenant.Tenant{Account: "acct_1", Mode: tenant.Live}, "wh_d", 5, now, 5, minuteEnd)
		take(s, owner, "wh_a", 5, now.Add(40*time.Second), 5, minuteEnd.Add(time.Minute)) // the next minute
		take(s, owner, "wh_a", 0, now, 0, minuteEnd)
	})
}

// TestManualSendsLimitsHoldUnderConcurrency takes one send at a time from
// many goroutines at once: every call answers, and exactly the limits
// are granted, the webhook's first, then the account's.
func TestManualSendsLimitsHoldUnderConcurrency(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		owner := tenant.Tenant{Account: testenv.Unique("acct_"), Mode: tenant.Live}
		now := time.Now()
		// takeAll has 40 goroutines take one send each, of webhooks ids in
		// turn, and returns how many each webhook was granted.
		takeAll := func(ids ...string) map[string]int {
			t.Helper()
			var mu sync.Mutex
			var wg sync.WaitGroup
			granted := map[string]int{}
			for i := range 40 {
				id := ids[i%len(ids)]
				wg.Go(func() {
					n, _, err := s.Take(ctx, owner, id, 1, now)
					if err != nil {
						t.Errorf("take of %s: %v", id, err)
					}
					mu.Lock()
					granted[id] += n
					mu.Unlock()
				})
			}
			wg.Wait()
			return granted
		}
		// The webhook's limit: 280 taken, 20 left of 300.
		if n, _, err := s.Take(ctx, owner, "wh_a", 280, now); err != nil || n != 280 {
			t.Fatalf("take 280: %d, %v", n, err)
		}
		if got := takeAll("wh_a"); got["wh_a"] != delivery.SendsPerMinute-280 {
			t.Errorf("granted %v under the webhook's limit, want %d", got, delivery.SendsPerMinute-280)
		}
		// The account's limit: 300 of wh_a, 290 of wh_b, 10 left of 600
		// for wh_b and wh_c together.
		if n, _, err := s.Take(ctx, owner, "wh_b", 290, now); err != nil || n != 290 {
			t.Fatalf("take 290: %d, %v", n, err)
		}
		if got := takeAll("wh_b", "wh_c"); got["wh_b"]+got["wh_c"] != delivery.AccountSendsPerMinute-590 {
			t.Errorf("granted %v under the account's limit, want %d in all", got, delivery.AccountSendsPerMinute-590)
		}
	})
}

// TestSendsGivenBackCanBeTakenAgain gives back sends that were not made:
// the webhook's count and the account's take them again, and a give-back
// whose answer is lost (the SDK tries it again) gives back once.
func TestSendsGivenBackCanBeTakenAgain(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, b testenv.Backend) {
		ctx := context.Background()
		s := newStore(t, b)
		owner := tenant.Tenant{Account: testenv.Unique("acct_"), Mode: tenant.Test}
		now := time.Now()
		take := func(webhookID string, n, want int) {
			t.Helper()
			if got, _, err := s.Take(ctx, owner, webhookID, n, now); err != nil || got != want {
				t.Fatalf("take %d of %s: %d, %v; want %d", n, webhookID, got, err, want)
			}
		}
		take("wh_a", delivery.SendsPerMinute, delivery.SendsPerMinute)
		in := testenv.NewInjector(testenv.Fault{Operation: "UpdateItem", Times: 1, AfterSend: true, Err: testenv.ConnectionReset{}})
		lossy := dynamo.New(dynamo.NewClient(b.Config(t, in.Middleware)), s.Table())
		if err := lossy.GiveBack(ctx, owner, "wh_a", 2, now); err != nil || in.Calls("UpdateItem") != 3 {
			t.Fatalf("give back after a lost answer: %v (%d UpdateItem calls, want 3: two tries, then the account's count)", err, in.Calls("UpdateItem"))
		}
		take("wh_a", 5, 2)
		// The account's count got them back too: 600 are taken now.
		take("wh_b", delivery.SendsPerMinute, delivery.SendsPerMinute)
		take("wh_c", 1, 0)
	})
}
